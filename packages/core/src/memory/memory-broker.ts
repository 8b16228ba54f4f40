import { decodeOrMalformed } from '../adapter/decode-or-malformed.js';
import { createDelivery, type Settler } from '../adapter/settle-once.js';
import type {
  Broker,
  BrokerCapabilities,
  ConsumeOptions,
  Consumer,
  DeadLetter,
  OutgoingMessage,
} from '../broker.js';
import { ClosedError } from '../errors.js';
import { decodeJson, encodeJson } from '../json-codec.js';
import type { TaskMessage } from '../message.js';
import { decodeTaskMessage } from '../wire.js';
import {
  type DeadLetterLimits,
  DeadLetterList,
  type MemoryBrokerOptions,
  resolveDeadLetterLimits,
} from './dead-letter-list.js';

/** Capabilities of the in-memory broker: everything, within one process. */
export const memoryBrokerCapabilities: BrokerCapabilities = Object.freeze({
  delay: true,
  priority: true,
  priorityLevels: 10,
  deadLetter: true,
  redrive: true,
  redeliveryOnConsumerDeath: true,
  ordering: 'fifo',
  depth: true,
  purge: true,
  maxMessageBytes: 512 * 1024 * 1024,
});

interface Entry {
  raw: string;
  priority: number;
  deliveryCount: number;
}

interface Delayed {
  entry: Entry;
  queue: string;
  due: number;
}

interface QueueState {
  /** One FIFO per priority level; index 9 is served first. */
  readonly levels: Entry[][];
  readonly dead: DeadLetterList;
}

interface Held {
  readonly entry: Entry;
  readonly queue: string;
  readonly consumer: MemoryConsumer;
  /** Settled, or returned to the queue by its closing consumer: nothing more to do. */
  done: boolean;
}

/** Serialises a message the way a transport would, so nothing is shared by reference. */
function encodeEntry(item: OutgoingMessage): Entry {
  const raw = encodeJson({
    headers: item.message.headers,
    properties: item.message.properties,
    body: item.message.body,
  });
  // No priority set: RabbitMQ's default, the lowest level.
  return { raw, priority: item.message.properties.priority ?? 0, deliveryCount: 0 };
}

/** Decodes an entry's JSON envelope, as a transport adapter decodes its own. */
function decodeEntry(raw: string): TaskMessage {
  const parsed = decodeJson(raw) as {
    headers?: unknown;
    properties?: Record<string, unknown>;
    body?: unknown;
  };
  return decodeTaskMessage({
    headers: parsed.headers,
    properties: parsed.properties ?? {},
    body: parsed.body,
  });
}

const rawText = (raw: string): string => raw;

class MemoryConsumer implements Consumer {
  prefetch: number;
  paused = false;
  closed = false;
  readonly held = new Set<Held>();

  constructor(
    private readonly broker: MemoryBroker,
    readonly options: ConsumeOptions,
  ) {
    this.prefetch = Math.max(1, options.prefetch);
  }

  get free(): number {
    return this.paused || this.closed ? 0 : this.prefetch - this.held.size;
  }

  setPrefetch(prefetch: number): void {
    this.prefetch = Math.max(1, prefetch);
    this.broker.schedulePump();
  }

  async pause(): Promise<void> {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.broker.schedulePump();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Unsettled deliveries go back to the head of their queue: nothing is lost.
    for (const held of this.held) {
      if (!held.done) {
        held.done = true;
        this.broker.returnToQueue(held.queue, held.entry, true);
      }
    }
    this.held.clear();
    this.broker.removeConsumer(this);
  }
}

/**
 * An in-memory broker: real delays, priorities (10 levels), FIFO per level, redelivery on requeue
 * and on consumer close, dead letters. State lives in this process only — use it embedded and in
 * tests; use a network broker to share work between processes.
 */
export class MemoryBroker implements Broker {
  readonly name = 'memory';
  readonly capabilities = memoryBrokerCapabilities;
  private readonly queues = new Map<string, QueueState>();
  private delayed: Delayed[] = [];
  private delayTimer: NodeJS.Timeout | undefined;
  private consumers: MemoryConsumer[] = [];
  private rr = 0;
  private pumpScheduled = false;
  private closed = false;

  private readonly deadLetterLimits: DeadLetterLimits;

  /** Dead letters are bounded per queue (see {@link MemoryBrokerOptions}). */
  constructor(options: MemoryBrokerOptions = {}) {
    this.deadLetterLimits = resolveDeadLetterLimits(options);
  }

  /** Settles synchronously: an in-memory settlement cannot fail. */
  private readonly settler: Settler<Held> = {
    ack: (held) => this.settle(held, () => {}),
    requeue: (held, delayMs) =>
      this.settle(held, () => this.returnToQueue(held.queue, held.entry, false, delayMs)),
    deadLetter: (held, reason) =>
      this.settle(held, () =>
        this.queue(held.queue).dead.push({ queue: held.queue, reason, raw: held.entry.raw, at: new Date() }),
      ),
  };

  private queue(name: string): QueueState {
    let q = this.queues.get(name);
    if (!q) {
      q = { levels: Array.from({ length: 10 }, () => []), dead: new DeadLetterList(this.deadLetterLimits) };
      this.queues.set(name, q);
    }
    return q;
  }

  private assertOpen(): void {
    if (this.closed) throw new ClosedError('memory broker');
  }

  async publish(item: OutgoingMessage): Promise<void> {
    this.publishSync(item);
  }

  async publishMany(items: readonly OutgoingMessage[]): Promise<void> {
    for (const item of items) this.publishSync(item);
  }

  private publishSync(item: OutgoingMessage): void {
    this.assertOpen();
    this.enqueue(item.queue, encodeEntry(item), item.delayMs ?? 0);
  }

  /**
   * Test hook: puts raw bytes on a queue as a foreign producer might, so the malformed-message
   * path can be exercised.
   */
  injectRaw(queue: string, raw: string): void {
    this.enqueue(queue, { raw, priority: 0, deliveryCount: 0 }, 0);
  }

  private enqueue(queue: string, entry: Entry, delayMs: number): void {
    if (delayMs > 0) {
      this.delayed.push({ entry, queue, due: Date.now() + delayMs });
      this.delayed.sort((a, b) => a.due - b.due);
      this.armDelayTimer();
      return;
    }
    this.queue(queue).levels[entry.priority]?.push(entry);
    this.schedulePump();
  }

  private armDelayTimer(): void {
    if (this.delayTimer) clearTimeout(this.delayTimer);
    const next = this.delayed[0];
    if (!next || this.closed) return;
    this.delayTimer = setTimeout(() => this.promoteDue(), Math.max(0, next.due - Date.now()));
    this.delayTimer.unref();
  }

  private promoteDue(): void {
    const now = Date.now();
    while (this.delayed[0] && this.delayed[0].due <= now) {
      const d = this.delayed.shift() as Delayed;
      this.queue(d.queue).levels[d.entry.priority]?.push(d.entry);
    }
    this.armDelayTimer();
    this.schedulePump();
  }

  /** @internal */
  returnToQueue(queue: string, entry: Entry, head: boolean, delayMs = 0): void {
    if (this.closed) return;
    if (delayMs > 0) {
      this.enqueue(queue, entry, delayMs);
      return;
    }
    const level = this.queue(queue).levels[entry.priority];
    if (head) level?.unshift(entry);
    else level?.push(entry);
    this.schedulePump();
  }

  /** @internal */
  removeConsumer(consumer: MemoryConsumer): void {
    this.consumers = this.consumers.filter((c) => c !== consumer);
    this.schedulePump();
  }

  /** @internal */
  schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private take(queues: readonly string[]): { queue: string; entry: Entry } | undefined {
    for (let p = 9; p >= 0; p--) {
      for (const name of queues) {
        const entry = this.queues.get(name)?.levels[p]?.shift();
        if (entry) return { queue: name, entry };
      }
    }
    return undefined;
  }

  /** Hands ready messages to consumers with free slots, round-robin for fair distribution. */
  private pump(): void {
    let progressed = true;
    while (progressed) {
      progressed = false;
      const n = this.consumers.length;
      for (let i = 0; i < n; i++) {
        const consumer = this.consumers[(this.rr + i) % n];
        if (!consumer || consumer.free <= 0) continue;
        const next = this.take(consumer.options.queues);
        if (!next) continue;
        progressed = true;
        this.deliver(consumer, next.queue, next.entry);
      }
      this.rr = n ? (this.rr + 1) % n : 0;
    }
  }

  private deliver(consumer: MemoryConsumer, queue: string, entry: Entry): void {
    entry.deliveryCount += 1;
    const held: Held = { entry, queue, consumer, done: false };
    consumer.held.add(held);
    const decoded = decodeOrMalformed(entry.raw, decodeEntry, rawText, 'message is not a JSON envelope');
    consumer.options.onDelivery(createDelivery(decoded, queue, entry.deliveryCount, held, this.settler));
  }

  /** Settles a held message at once; one its consumer returned already is left alone. */
  private settle(held: Held, apply: () => void): undefined {
    if (held.done) return undefined;
    held.done = true;
    held.consumer.held.delete(held);
    apply();
    this.schedulePump();
    return undefined;
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    this.assertOpen();
    const consumer = new MemoryConsumer(this, options);
    this.consumers.push(consumer);
    this.schedulePump();
    return consumer;
  }

  async depth(queue: string): Promise<number> {
    return this.queues.get(queue)?.levels.reduce((n, l) => n + l.length, 0) ?? 0;
  }

  async purge(queue: string): Promise<number> {
    const q = this.queues.get(queue);
    let removed = 0;
    if (q) {
      for (const level of q.levels) {
        removed += level.length;
        level.length = 0;
      }
    }
    const before = this.delayed.length;
    this.delayed = this.delayed.filter((d) => d.queue !== queue);
    return removed + before - this.delayed.length;
  }

  async readDeadLetters(queue: string, limit = 100): Promise<DeadLetter[]> {
    return this.queues.get(queue)?.dead.read(limit) ?? [];
  }

  /** How many dead letters of `queue` were dropped, oldest first, to stay within the cap. */
  deadLettersDropped(queue: string): number {
    return this.queues.get(queue)?.dead.dropped ?? 0;
  }

  async redriveDeadLetters(queue: string): Promise<number> {
    const q = this.queues.get(queue);
    if (!q) return 0;
    const dead = q.dead.takeWhole();
    for (const d of dead) this.enqueue(queue, { raw: d.raw, priority: 0, deliveryCount: 0 }, 0);
    return dead.length;
  }

  /** Whether `close()` was called: a closed broker is never handed out again by the URL loaders. */
  get isClosed(): boolean {
    return this.closed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const c of [...this.consumers]) await c.close();
    this.closed = true;
    if (this.delayTimer) clearTimeout(this.delayTimer);
  }
}
