import type { Broker, ConsumeOptions, Delivery } from '../broker.js';
import type { ResultBackend } from '../result-backend.js';
import { TaskState } from '../result-backend.js';
import type { TaskImplementation } from '../worker/implement.js';
import type { TaskEventMap, TypedEmitter } from '../worker/worker-events.js';
import { FlowGate } from './flow-gate.js';
import { DEDUPE_HEADER, dedupeOf } from './flow-headers.js';
import { type FlowStore, flowStoreOf } from './flow-store.js';
import { QueueSwitch } from './queue-switch.js';
import { formatRate, type RateLimit } from './rate-limit.js';
import { type TaskIndex, type TaskSummary, taskIndexOf } from './task-index.js';

/** Options of {@link WorkerFlow}. */
export interface WorkerFlowOptions {
  readonly backend: ResultBackend | undefined;
  readonly registry: ReadonlyMap<string, TaskImplementation>;
  readonly hostname: string;
  readonly events: TypedEmitter<TaskEventMap>;
  readonly onError: (error: unknown) => void;
}

/**
 * A worker's flow control: the admission gate (rate and concurrency limits, replaced dedupe
 * holders), the consumer that pauses per queue, the end of a dedupe holder's hold and the task
 * index. Every piece is there only when the backend keeps its state.
 */
export class WorkerFlow {
  /** The runner's admission step; absent when there is nothing to admit. */
  readonly gate: FlowGate | undefined;
  private readonly store: FlowStore | undefined;
  private readonly index: TaskIndex | undefined;
  /** The final (or retry) state each delivery reached, read when it is settled. */
  private readonly outcomes = new Map<string, string>();
  private pending: TaskSummary[] = [];
  private flushing: Promise<void> | undefined;
  private consumer: QueueSwitch | undefined;

  constructor(private readonly options: WorkerFlowOptions) {
    const { backend, events } = options;
    this.store = flowStoreOf(backend);
    // Written only when the backend was asked to keep one.
    const index = taskIndexOf(backend);
    this.index = index && index.taskIndexSize > 0 ? index : undefined;
    const gate = new FlowGate({
      store: this.store,
      registry: options.registry,
      hostname: options.hostname,
      onError: options.onError,
    });
    this.gate = this.store ? gate : undefined;
    if (!this.store && !this.index) return;
    const outcome = (state: string) => (e: { uuid: string | null }) => {
      if (e.uuid !== null) this.outcomes.set(e.uuid, state);
    };
    events.on('task-succeeded', outcome(TaskState.SUCCESS));
    events.on('task-failed', outcome(TaskState.FAILURE));
    events.on('task-retried', outcome(TaskState.RETRY));
    events.on('task-revoked', outcome(TaskState.REVOKED));
    events.on('task-rejected', outcome(TaskState.FAILURE));
  }

  /** Starts consuming `options.queues`, those paused fleet-wide left out until resumed. */
  async consume(broker: Broker, options: ConsumeOptions): Promise<QueueSwitch> {
    const { queues, onDelivery, ...rest } = options;
    this.consumer = await QueueSwitch.open({
      broker,
      consume: rest,
      queues,
      onDelivery,
      store: this.store,
      onError: this.options.onError,
    });
    return this.consumer;
  }

  /** A delivery is settled: ends its `skip` hold if it finished, and records it in the index. */
  ended(d: Delivery): void {
    this.consumer?.settled(d);
    if (d.kind !== 'task' || this.outcomes.size === 0) return;
    const { id, task: name } = d.message.headers;
    const state = this.outcomes.get(id);
    if (state === undefined) return;
    this.outcomes.delete(id);
    if (this.store && d.message.headers[DEDUPE_HEADER] !== undefined && state !== TaskState.RETRY) {
      // Only `skip` ends a hold: a finished `replace` or `debounce` holder keeps its key, so the
      // copies it replaced still see they were replaced; `throttle` lasts its TTL.
      const dedupe = dedupeOf(d.message.headers);
      if (dedupe?.mode === 'skip')
        this.store.finishDedupe(dedupe.key, id, dedupe.ttlMs).catch(this.options.onError);
    }
    if (this.index)
      this.record({ id, name, queue: d.queue, state, at: Date.now(), worker: this.options.hostname });
  }

  /** Index writes of one turn go out together. */
  private record(entry: TaskSummary): void {
    this.pending.push(entry);
    if (this.pending.length === 1) setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const write = (this.index as TaskIndex).indexTasks(batch).catch(this.options.onError);
    this.flushing = write;
    await write;
  }

  /** `rate_limit` from the control plane; `false` when the task is not registered here. */
  setRateLimit(task: string, rate: RateLimit | null): boolean {
    return this.gate?.setRateLimit(task, rate) ?? false;
  }

  /** The rate a task runs under now, as Celery writes it (`'20/s'`), for `inspect registered`. */
  rateLimitOf(task: string): string | null {
    const rate = this.gate?.rateOf(task);
    return rate ? formatRate(rate) : null;
  }

  /** Stops renewing leases and writes what the index still holds. */
  async stop(): Promise<void> {
    this.gate?.stop();
    await this.flush();
    await this.flushing;
  }
}
