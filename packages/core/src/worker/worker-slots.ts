import type { Delivery } from '../broker.js';
import type { WorkerControl } from '../control/worker-control.js';
import type { WorkerFlow } from '../flow/worker-flow.js';
import { processDelivery, type RunnerDeps } from './task-runner.js';
import { failUnstorable, isUnstorable } from './unstorable.js';

/** A delivery whose outcome could not be stored comes back after this long, not in a hot loop. */
const STORE_FAILURE_REQUEUE_DELAY_MS = 1000;

/** What the slots need from their worker. */
export interface WorkerSlotsOptions {
  readonly deps: RunnerDeps;
  readonly control: WorkerControl | undefined;
  readonly flow: WorkerFlow;
  readonly concurrency: number;
  /** Whether the worker is stopping: nothing more starts. */
  stopping(): boolean;
  /** Counts a settled delivery. */
  processed(): void;
}

/**
 * A worker's concurrency slots: deliveries run while a slot is free and wait in the backlog
 * otherwise. A slot frees when the handler is done (the outcome is stored and acked meanwhile);
 * `idle` tells when nothing runs or settles any more.
 */
export class WorkerSlots {
  /** Handlers running. */
  active = 0;
  /** Handlers done, outcomes still being stored and settled. */
  finishing = 0;
  concurrency: number;
  /** Deliveries reserved but not started. */
  readonly backlog: Delivery[] = [];
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly o: WorkerSlotsOptions) {
    this.concurrency = o.concurrency;
  }

  /** A delivery from the consumer: run now, wait for a slot, or (stopping) straight back. */
  readonly onDelivery = (d: Delivery): void => {
    if (this.o.stopping()) {
      void d.requeue().catch(() => {});
      return;
    }
    if (this.active < this.concurrency) this.run(d);
    else this.backlog.push(d);
  };

  setConcurrency(n: number): void {
    this.concurrency = Math.max(1, Math.floor(n));
    while (this.active < this.concurrency && this.backlog.length) this.run(this.backlog.shift() as Delivery);
  }

  /** Resolves `true` once nothing runs or settles, `false` after `graceMs`. */
  idle(graceMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      if (this.active === 0 && this.finishing === 0) return resolve(true);
      const timer = setTimeout(() => resolve(false), graceMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Reserved but not started: back to the broker. */
  requeueBacklog(): Promise<unknown> {
    return Promise.allSettled(this.backlog.splice(0).map((d) => d.requeue()));
  }

  private startNext(): void {
    const next = this.o.stopping() ? undefined : this.backlog.shift();
    if (next) this.run(next);
  }

  private run(d: Delivery): void {
    const { deps, control, flow } = this.o;
    this.active++;
    let released = false;
    const release = () => {
      released = true;
      this.active--;
      this.startNext();
    };
    // The slot frees when the handler is done: storing the outcome and the ack then overlap
    // with the next task instead of holding the slot for two more round trips.
    const handled = () => {
      if (released) return;
      this.finishing++;
      d.handled?.();
      release();
    };
    const done = () => {
      this.o.processed();
      if (control && d.kind === 'task') control.ended(d.message.headers.id);
      flow.ended(d);
      if (released) this.finishing--;
      else release();
      if (this.active === 0 && this.finishing === 0) for (const w of this.idleWaiters.splice(0)) w();
    };
    const requeue = (error: unknown) => {
      // A broker or backend failure: the outcome is not stored, so the message must come back.
      deps.events.emit('worker-error', { error });
      // Through a promise, so even an adapter that throws instead of rejecting frees the slot.
      Promise.resolve()
        .then(() => d.requeue({ delayMs: STORE_FAILURE_REQUEUE_DELAY_MS }))
        .then(done, done);
    };
    processDelivery(d, deps, handled).then(done, (error: unknown) => {
      // An outcome that cannot be encoded never will be: the task fails now, it does not come back.
      if (d.kind === 'task' && isUnstorable(error)) failUnstorable(d, error, deps).then(done, requeue);
      else requeue(error);
    });
  }
}
