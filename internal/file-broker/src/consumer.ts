import { type FSWatcher, watch } from 'node:fs';
import { type ConsumeOptions, type Consumer, createDelivery, type Settler } from '@celeriac/core/adapter';
import { fileSettler, type HeldMessage } from './delivery.js';
import { decodeMessage } from './envelope.js';
import { toCeleriacError } from './errors.js';
import type { OwnerLease } from './owner-lease.js';
import type { Store } from './store.js';

/**
 * A consumer of one or more queues of a directory. It claims ready messages by renaming them into
 * held/ under its lease, never more than `prefetch` unhandled at once, and looks again whenever a
 * slot frees, the directory changes, a delayed message falls due, or `pollMs` has passed.
 */
export class FileConsumer implements Consumer {
  private prefetch: number;
  private paused = false;
  private stopped = false;
  private closing: Promise<void> | undefined;
  /** Every delivery not yet settled. */
  private readonly unsettled = new Set<HeldMessage>();
  /** Deliveries taking a fetch slot (neither handled nor settled). */
  private active = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly watchers: FSWatcher[] = [];
  private nextDue = Number.POSITIVE_INFINITY;
  private nextSweep = 0;
  private readonly settler: Settler<HeldMessage>;

  constructor(
    private readonly store: Store,
    private readonly lease: OwnerLease,
    private readonly options: ConsumeOptions,
    private readonly pollMs: number,
    private readonly onClosed: (consumer: FileConsumer) => void,
  ) {
    this.prefetch = options.prefetch;
    this.settler = fileSettler(store, {
      settled: (held) => {
        this.unsettled.delete(held);
        this.release(held);
      },
      handled: (held) => this.release(held),
    });
  }

  /** Creates the queues' directories, takes the lease and starts fetching. */
  async start(): Promise<void> {
    const paths = await Promise.all(this.options.queues.map((q) => this.store.ensure(q)));
    await this.lease.start();
    for (const { ready } of paths) {
      try {
        // A hint only: polling finds everything too, so a watcher that fails is just dropped.
        const watcher = watch(ready, () => this.kick());
        watcher.on('error', () => watcher.close());
        this.watchers.push(watcher);
      } catch {}
    }
    this.kick();
  }

  setPrefetch(prefetch: number): void {
    this.prefetch = prefetch;
    this.kick();
  }

  async pause(): Promise<void> {
    this.paused = true;
    clearTimeout(this.timer);
    await this.running;
  }

  resume(): void {
    if (this.stopped) return;
    this.paused = false;
    this.kick();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Stops without returning anything: the lease runs out and others take the messages back. */
  destroy(): void {
    this.halt();
    this.lease.stop();
    for (const held of this.unsettled) held.returned = true;
    this.unsettled.clear();
    this.onClosed(this);
  }

  private halt(): void {
    this.stopped = true;
    this.paused = true;
    clearTimeout(this.timer);
    for (const watcher of this.watchers.splice(0)) watcher.close();
  }

  private async shutdown(): Promise<void> {
    this.halt();
    await this.running;
    const held = [...this.unsettled];
    for (const h of held) h.returned = true;
    // A settlement in flight decides first; whatever is still unsettled after it goes back.
    await Promise.all(held.map((h) => h.settling));
    const left = held.filter((h) => this.unsettled.has(h));
    this.unsettled.clear();
    const results = await Promise.allSettled(left.map((h) => this.store.giveBack(h)));
    for (const r of results) {
      if (r.status === 'rejected') this.report('returning a message on close', r.reason);
    }
    // Released after the give-back: anything not given back is taken back by others at once.
    await this.lease.release();
    this.onClosed(this);
  }

  private release(held: HeldMessage): void {
    if (!held.counted) return;
    held.counted = false;
    this.active -= 1;
    this.kick();
  }

  private free(): number {
    return this.stopped || this.paused ? 0 : this.prefetch - this.active;
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.fetch();
      } while (this.again && !this.stopped);
    } catch (error) {
      this.report('fetching messages', error);
    } finally {
      this.running = undefined;
      this.schedule();
    }
  }

  /** The next look: at the next due delayed message or sweep, at most `pollMs` away. */
  private schedule(): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    const now = Date.now();
    const wait = Math.min(this.pollMs, this.nextSweep - now, this.paused ? Infinity : this.nextDue - now);
    this.timer = setTimeout(() => this.kick(), Math.max(0, wait));
  }

  private async fetch(): Promise<void> {
    if (Date.now() >= this.nextSweep) await this.sweep();
    if (this.free() <= 0) return;
    let nextDue = Number.POSITIVE_INFINITY;
    for (const queue of this.options.queues) {
      nextDue = Math.min(nextDue, await this.store.promoteDue(queue));
    }
    this.nextDue = nextDue;
    for (const queue of this.options.queues) {
      if (this.free() <= 0) return;
      for (const name of await this.store.listReady(queue)) {
        if (this.free() <= 0) return;
        const claimed = await this.store.claim(queue, name, this.lease.id);
        if (claimed !== undefined)
          await this.deliver({ ...claimed, returned: false, counted: true, settling: undefined });
      }
    }
  }

  private async deliver(held: HeldMessage): Promise<void> {
    this.unsettled.add(held);
    this.active += 1;
    let raw: string;
    try {
      raw = await this.store.readHeld(held);
    } catch (error) {
      this.unsettled.delete(held);
      this.release(held);
      await this.store.giveBack(held);
      throw error;
    }
    if (held.returned) return; // crashed meanwhile
    this.options.onDelivery(createDelivery(decodeMessage(raw), held.queue, held.count, held, this.settler));
  }

  /** Takes back the messages held by consumers whose lease ran out, twice per lease. */
  private async sweep(): Promise<void> {
    this.nextSweep = Date.now() + this.lease.leaseMs / 2;
    const known = new Map<string, Promise<boolean>>();
    const isAlive = (owner: string): Promise<boolean> => {
      let alive = known.get(owner);
      if (alive === undefined) {
        alive = this.lease.isAlive(owner);
        known.set(owner, alive);
      }
      return alive;
    };
    for (const queue of this.options.queues) await this.store.recover(queue, isAlive);
    await this.lease.reapExpired();
  }

  private report(what: string, error: unknown): void {
    this.options.onError?.(toCeleriacError(error, `${what} failed`));
  }
}
