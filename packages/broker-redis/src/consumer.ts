import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { BrokerError, type CeleriacError, type DeadLetterReason } from '@celeriac/core';
import type { CarriedStore, ConsumeOptions, Consumer, Settler } from '@celeriac/core/adapter';
import { AckBatcher } from './ack-batcher.js';
import { buildDelivery, type HeldDelivery } from './delivery.js';
import { deliveryLimit } from './delivery-limit.js';
import { toCeleriacError } from './errors.js';
import { type ConsumerHost, type FetchedMessage, FetchLoop, type LoopOwner } from './fetch-loop.js';
import { HeartbeatThread } from './heartbeat-thread.js';
import { keyspaceFor } from './keys.js';
import { runScript } from './scripts.js';
import { SlotHandoff } from './slot-handoff.js';

type State = 'running' | 'closing' | 'closed' | 'crashed';

/**
 * A consumer: fetch loops (one per keyspace), a heartbeat that keeps its deliveries its own, a
 * sweep that recovers what dead consumers held, and settlement of the deliveries it hands out.
 */
export class RedisConsumer implements Consumer, LoopOwner, Settler<HeldDelivery> {
  /** Unique consumer id, also the name of its held set. */
  readonly id = `${hostname()}:${process.pid}:${randomUUID()}`;
  readonly deliveryLimit: number;
  private prefetch: number;
  private paused = false;
  private state: State = 'running';
  private readonly held = new Set<HeldDelivery>();
  /** Held deliveries whose handler is done: they no longer take a slot. */
  private handledCount = 0;
  private reserved = 0;
  private sequence = 1;
  private waiters: (() => void)[] = [];
  private readonly loops: FetchLoop[];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly acks: AckBatcher;
  private closing: Promise<void> | undefined;
  private beating = false;
  private sweeping = false;
  /** Renews the heartbeat while the event loop is busy (see `loopStallLimitMs`). */
  private heartbeatThread: HeartbeatThread | undefined;
  /** Handled deliveries whose slot goes to the fetch loop unless their ack comes first. */
  private readonly handingOff = new SlotHandoff<HeldDelivery>((held) => this.giveSlot(held));

  constructor(
    readonly host: ConsumerHost,
    private readonly options: ConsumeOptions,
    private readonly onGone: (consumer: RedisConsumer) => void,
  ) {
    this.prefetch = Math.max(1, Math.floor(options.prefetch));
    this.deliveryLimit = deliveryLimit(host.settings.maxDeliveries, options.maxDeliveries);
    const queues = [...new Set(options.queues)];
    // Cluster: every queue is its own slot, so its own loop; a single server fetches all at once.
    const limits = host.settings.deadLetters;
    this.loops = host.cluster
      ? queues.map((q) => new FetchLoop(this, keyspaceFor(true, q, limits), [q]))
      : [new FetchLoop(this, keyspaceFor(false, '', limits), queues)];
    this.acks = new AckBatcher(host.client);
  }

  get fetching(): boolean {
    return this.state === 'running' && !this.paused;
  }

  /** Registers the heartbeat, recovers what dead consumers left, then starts fetching. */
  async start(): Promise<void> {
    await Promise.all(this.loops.map((loop) => this.beat(loop)));
    await this.sweep();
    const { heartbeatIntervalMs, sweepIntervalMs } = this.host.settings;
    this.timers.push(setInterval(() => void this.heartbeat(), heartbeatIntervalMs).unref());
    this.timers.push(setInterval(() => void this.sweep(), sweepIntervalMs).unref());
    if (this.host.settings.loopStallLimitMs > 0) await this.startHeartbeatThread();
    for (const loop of this.loops) loop.start();
  }

  setPrefetch(prefetch: number): void {
    this.prefetch = Math.max(1, Math.floor(prefetch));
    this.notify();
  }

  async pause(): Promise<void> {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.notify();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Stops at once without returning anything: what it held comes back through recovery. */
  crash(): void {
    if (this.state === 'closed' || this.state === 'crashed') return;
    this.state = 'crashed';
    this.stopTimers();
    for (const loop of this.loops) loop.kill();
    this.notify();
    this.onGone(this);
  }

  private async shutdown(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'closing';
    this.stopTimers();
    this.notify();
    await Promise.all(this.loops.map((loop) => loop.stop()));
    await this.acks.flush();
    for (const loop of this.loops) {
      try {
        await runScript(
          this.host.client,
          'celeriacRelease',
          loop.keyspace,
          [loop.heldKey],
          [this.id, 'close'],
        );
      } catch (error) {
        // Still held under our id: the sweep gives them back once our heartbeat has lapsed.
        this.report(error, 'returning unsettled deliveries on close');
      }
    }
    for (const held of this.held) held.released = true;
    this.held.clear();
    this.handledCount = 0;
    this.state = 'closed';
    this.onGone(this);
  }

  private stopTimers(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
    this.heartbeatThread?.stop();
    this.handingOff.clear();
  }

  // ---- LoopOwner ----

  reserve(max: number, freeing = 0): number {
    const free = this.prefetch - (this.held.size - this.handledCount - freeing) - this.reserved;
    // Several loops (Cluster: one per queue) share the slots: none may take them all at once.
    const share = Math.ceil(free / this.loops.length);
    const n = Math.max(0, Math.min(max, share));
    this.reserved += n;
    return n;
  }

  unreserve(count: number): void {
    this.reserved -= count;
    if (count > 0) this.notify();
  }

  nextSequence(count: number): number {
    const first = this.sequence;
    this.sequence += count;
    return first;
  }

  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  accept(loop: FetchLoop, messages: readonly FetchedMessage[]): void {
    for (const m of messages) {
      const held: HeldDelivery = {
        loop,
        tag: m.tag,
        queue: m.queue,
        step: m.step,
        released: false,
        handled: false,
      };
      this.held.add(held);
      // While closing, fetched messages stay server-side in our held set; close() returns them.
      if (this.state !== 'running') continue;
      try {
        this.options.onDelivery(buildDelivery(held, m.deliveryCount, m.raw, this));
      } catch (error) {
        this.report(error, 'onDelivery callback');
      }
    }
  }

  knownTags(loop: FetchLoop): string[] {
    return [...this.held].filter((h) => h.loop === loop).map((h) => h.tag);
  }

  report(error: unknown, what: string): void {
    const onError = this.options.onError;
    if (!onError || this.state === 'crashed') return;
    const e: CeleriacError = toCeleriacError(error, what);
    try {
      onError(e);
    } catch {
      // A failing error callback must not stop the consumer.
    }
  }

  // ---- Settler ----

  ack(held: HeldDelivery, store?: CarriedStore): Promise<void> | undefined {
    return this.settle(held, 'ack', () => this.acks.ack(held, store));
  }

  /** On a single server, the writes of a backend on the same server and database. */
  carries(_held: HeldDelivery, store: CarriedStore): boolean {
    return this.host.carryTarget !== undefined && store.target === this.host.carryTarget;
  }

  handled(held: HeldDelivery): void {
    if (held.released || held.handled || !this.held.has(held) || this.handingOff.has(held)) return;
    if (this.state !== 'running') {
      this.giveSlot(held);
      return;
    }
    this.handingOff.add(held);
  }

  private giveSlot(held: HeldDelivery): void {
    if (held.released || held.handled || !this.held.has(held)) return;
    held.handled = true;
    this.handledCount++;
    this.notify();
  }

  requeue(held: HeldDelivery, delayMs: number): Promise<void> | undefined {
    const delay = Math.max(0, Math.round(delayMs));
    return this.settle(held, 'requeue', () =>
      this.settleScript(held, ['requeue', held.tag, held.queue, held.step, delay, randomUUID()]),
    );
  }

  deadLetter(held: HeldDelivery, reason: DeadLetterReason): Promise<void> | undefined {
    const args = [
      'dead',
      held.tag,
      held.queue,
      held.step,
      reason.code,
      reason.message,
      new Date().toISOString(),
    ];
    return this.settle(held, 'dead-letter', () =>
      this.settleScript(held, args, (reply) => {
        // The list was at its cap: the oldest dead letter was dropped (and counted) for this one.
        if (reply === 3) {
          const { maxEntries } = this.host.settings.deadLetters;
          this.report(
            new BrokerError(
              'redis',
              `dead-letter list of ${held.queue} is at its cap of ${maxEntries}: the oldest entry was dropped (deadLettersDropped counts them)`,
              false,
            ),
            'dead-letter',
          );
        }
      }),
    );
  }

  private async settleScript(
    held: HeldDelivery,
    args: readonly (string | number)[],
    onReply?: (reply: unknown) => void,
  ): Promise<boolean> {
    const reply = await runScript(
      this.host.client,
      'celeriacSettle',
      held.loop.keyspace,
      [held.loop.heldKey],
      args,
    );
    onReply?.(reply);
    return reply !== 0;
  }

  /**
   * Runs one settlement (the delivery's `SettleOnce` makes sure of that); the slot frees when Redis
   * has the outcome. A failed one leaves the delivery held, so it can be settled again. Plain
   * promise callbacks rather than async wrappers: this runs for every message.
   */
  private settle(held: HeldDelivery, what: string, run: () => Promise<boolean>): Promise<void> | undefined {
    // Returned to the queue on close: it is no longer ours to settle.
    if (held.released) return undefined;
    let running: Promise<boolean>;
    try {
      running = run();
    } catch (error) {
      running = Promise.reject(error);
    }
    return running.then(
      (stillHeld) => {
        if (!stillHeld) {
          this.report(
            new BrokerError(
              'redis',
              `${what} ignored: the delivery from ${held.queue} had already been recovered after this consumer was presumed dead; it may run again`,
              false,
            ),
            what,
          );
        }
        this.release(held);
      },
      (error: unknown) => {
        // Still ours and still counted: the caller may settle it again. Whatever a lost reply
        // left held server-side without our knowledge goes back to the queue.
        held.loop.needsReconcile = true;
        throw toCeleriacError(error, what);
      },
    );
  }

  private release(held: HeldDelivery): void {
    this.handingOff.delete(held);
    if (this.held.delete(held) && held.handled) this.handledCount--;
    this.notify();
  }

  // ---- heartbeat and sweep ----

  private async startHeartbeatThread(): Promise<void> {
    const { settings, client, cluster } = this.host;
    this.heartbeatThread = await HeartbeatThread.start({
      client,
      cluster,
      consumerId: this.id,
      consumerTimeoutMs: settings.consumerTimeoutMs,
      intervalMs: settings.heartbeatIntervalMs,
      stallLimitMs: settings.loopStallLimitMs,
      beats: this.loops.map((loop) => ({ keyspace: loop.keyspace, heldKey: loop.heldKey })),
      onError: (error) => this.report(error, 'heartbeat thread'),
    });
    // Closed or crashed meanwhile: the timers are stopped already.
    if (this.state !== 'running') this.heartbeatThread?.stop();
  }

  private async heartbeat(): Promise<void> {
    if (this.beating) return;
    this.beating = true;
    try {
      await Promise.all(this.loops.map((loop) => this.beat(loop)));
    } catch (error) {
      this.report(error, 'heartbeat');
    } finally {
      this.beating = false;
    }
  }

  private async beat(loop: FetchLoop): Promise<void> {
    const serverHeld = Number(
      await runScript(
        this.host.client,
        'celeriacHeartbeat',
        loop.keyspace,
        [loop.heldKey],
        [this.id, this.host.settings.consumerTimeoutMs],
      ),
    );
    // More held server-side than we know of: a fetch reply was lost (or is in flight; harmless).
    if (serverHeld > this.knownTags(loop).length) loop.needsReconcile = true;
  }

  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    const { sweepIntervalMs, visibilityTimeoutSeconds } = this.host.settings;
    try {
      for (const loop of this.loops) {
        const ks = loop.keyspace;
        await runScript(
          this.host.client,
          'celeriacSweep',
          ks,
          [ks.unackedMutex, ks.sweepLock],
          [Math.min(sweepIntervalMs, 1000), visibilityTimeoutSeconds, 1000],
        );
      }
    } catch (error) {
      this.report(error, 'sweep');
    } finally {
      this.sweeping = false;
    }
  }
}
