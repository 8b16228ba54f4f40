import type { Broker, ConsumeOptions, Consumer, Delivery } from '../broker.js';
import type { FlowStore } from './flow-store.js';

/** One consumer over a set of queues, and its deliveries not yet settled. */
interface Generation {
  readonly queues: readonly string[];
  consumer: Consumer | undefined;
  outstanding: number;
}

/** Options of {@link QueueSwitch.open}. */
export interface QueueSwitchOptions {
  readonly broker: Broker;
  /** Everything but the queues and the callback, as the worker would pass to `consume`. */
  readonly consume: Omit<ConsumeOptions, 'queues' | 'onDelivery'>;
  readonly queues: readonly string[];
  readonly onDelivery: (delivery: Delivery) => void;
  /** Where fleet-wide pauses are kept and announced; without one only `pause()` applies. */
  readonly store: FlowStore | undefined;
  readonly onError: (error: unknown) => void;
}

/**
 * A worker's consumer with pausing per queue, fleet-wide (queues paused in the flow store) and
 * local (`pause()`). A worker of one queue pauses and resumes its one consumer. A worker of several
 * moves to a new consumer over the queues still open: the old one stops fetching at once and is
 * closed when the deliveries it handed out are settled, so running tasks finish where they are.
 */
export class QueueSwitch implements Consumer {
  private current: Generation | undefined;
  /** Consumers that stopped fetching and close once their deliveries are settled. */
  private readonly retired = new Set<Generation>();
  private readonly fleetPaused = new Set<string>();
  private readonly owners = new WeakMap<Delivery, Generation>();
  private localPaused = false;
  private prefetch: number;
  private closed = false;
  private applying: Promise<void> = Promise.resolve();
  private stopListening: (() => Promise<void>) | undefined;
  /** The queues asked for, paused or not; remote control changes them. */
  private names: readonly string[];

  private constructor(private readonly options: QueueSwitchOptions) {
    this.prefetch = options.consume.prefetch;
    this.names = [...options.queues];
  }

  /**
   * Consumes `queues` from now on (remote control's `add_consumer`/`cancel_consumer`): a new
   * consumer over them, the old one closed once its deliveries are settled.
   */
  async setQueues(queues: readonly string[]): Promise<void> {
    this.names = [...queues];
    if (this.options.store) await this.reload();
    else this.schedule();
    await this.applying;
  }

  /** Learns the paused queues (and follows them), then starts consuming the open ones. */
  static async open(options: QueueSwitchOptions): Promise<QueueSwitch> {
    const s = new QueueSwitch(options);
    const store = options.store;
    if (store) {
      s.stopListening = await store.onQueuePause(
        (queue, paused) => {
          if (!s.names.includes(queue) || s.fleetPaused.has(queue) === paused) return;
          if (paused) s.fleetPaused.add(queue);
          else s.fleetPaused.delete(queue);
          s.schedule();
        },
        () => void s.reload().catch(options.onError),
      );
      await s.reload(false);
    }
    await s.apply();
    return s;
  }

  /** Queues consumed now. */
  get queues(): readonly string[] {
    return this.localPaused ? [] : this.names.filter((q) => !this.fleetPaused.has(q));
  }

  private async reload(apply = true): Promise<void> {
    const paused = new Set(await (this.options.store as FlowStore).pausedQueues());
    this.fleetPaused.clear();
    for (const q of this.names) if (paused.has(q)) this.fleetPaused.add(q);
    if (apply) this.schedule();
  }

  private schedule(): void {
    this.applying = this.applying.then(() => this.apply()).catch(this.options.onError);
  }

  private async apply(): Promise<void> {
    if (this.closed) return;
    const wanted = this.names.filter((q) => !this.fleetPaused.has(q));
    const current = this.current;
    if (this.localPaused || wanted.length === 0) {
      await current?.consumer?.pause();
      return;
    }
    if (current && sameQueues(current.queues, wanted)) {
      current.consumer?.resume();
      return;
    }
    if (current) {
      await current.consumer?.pause();
      this.retired.add(current);
      if (current.outstanding === 0) await this.retire(current);
    }
    const next: Generation = { queues: wanted, consumer: undefined, outstanding: 0 };
    // Counted on every worker: remote control's add_consumer/cancel_consumer can move any of them.
    next.consumer = await this.options.broker.consume({
      ...this.options.consume,
      prefetch: this.prefetch,
      queues: wanted,
      onDelivery: (d) => {
        next.outstanding++;
        this.owners.set(d, next);
        this.options.onDelivery(d);
      },
    });
    this.current = next;
  }

  private async retire(g: Generation): Promise<void> {
    this.retired.delete(g);
    await g.consumer?.close();
  }

  /** A delivery is settled: a retired consumer closes once it has none left. */
  settled(d: Delivery): void {
    const owner = this.owners.get(d);
    if (!owner) return;
    this.owners.delete(d);
    owner.outstanding--;
    if (owner.outstanding === 0 && this.retired.has(owner))
      void this.retire(owner).catch(this.options.onError);
  }

  setPrefetch(prefetch: number): void {
    this.prefetch = prefetch;
    this.current?.consumer?.setPrefetch(prefetch);
  }

  async pause(): Promise<void> {
    this.localPaused = true;
    await this.applying;
    await this.current?.consumer?.pause();
  }

  resume(): void {
    if (!this.localPaused) return;
    this.localPaused = false;
    this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stopListening?.().catch(this.options.onError);
    await this.applying;
    // Whatever is still unsettled goes back to its queue, as with any consumer's close.
    await Promise.all([this.current, ...this.retired].map((g) => g?.consumer?.close()));
    this.retired.clear();
  }
}

function sameQueues(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((q, i) => q === b[i]);
}
