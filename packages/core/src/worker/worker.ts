import { setMaxListeners } from 'node:events';
import { hostname as osHostname } from 'node:os';
import { TickBatcher } from '../adapter/tick-batcher.js';
import type { Broker } from '../broker.js';
import type { RetryPolicy } from '../contract.js';
import { hasRevokeStore } from '../control/revoke-store.js';
import type { ControlTransport } from '../control/transport.js';
import { WorkerControl } from '../control/worker-control.js';
import { ConfigError } from '../errors.js';
import type { QueueSwitch } from '../flow/queue-switch.js';
import { WorkerFlow } from '../flow/worker-flow.js';
import { DEFAULT_QUEUE } from '../message.js';
import { interceptPublishes } from '../producer/client-interceptor.js';
import type { ResultBackend, ResultMeta } from '../result-backend.js';
import { signingInterceptor } from '../signing/sign.js';
import { resolveSigning, type SigningOptions } from '../signing/signing-options.js';
import { eventSwitchOf } from './event-switch.js';
import type { TaskImplementation } from './implement.js';
import { progressSink, type RunnerDeps } from './task-runner.js';
import { ThreadPool } from './thread/thread-pool.js';
import { type TaskEventMap, type TaskEventName, TypedEmitter } from './worker-events.js';
import { composeExecute, type WorkerInterceptor } from './worker-interceptor.js';
import { resolveLimits, type WorkerLimits } from './worker-limits.js';
import { WorkerSlots } from './worker-slots.js';

const DEFAULT_CONCURRENCY = 10;
const DEFAULT_MAX_DELIVERIES = 10;
const DEFAULT_SHUTDOWN_GRACE_MS = 30_000;
const DEFAULT_AUTOSCALE_INTERVAL_MS = 1000;
/** After the grace period, how long aborted handlers get to return before the consumer closes. */
const ABORTED_SETTLE_MS = 2000;

/** Scale concurrency between `min` and `max` with the depth of the worker's queues. */
export interface AutoscaleOptions {
  readonly min: number;
  readonly max: number;
  /** How often to look at queue depth. @default 1000 */
  readonly intervalMs?: number;
}

/** Options for {@link createWorker}. */
export interface WorkerOptions {
  readonly broker: Broker;
  /** Where states and results are stored; without it results are dropped (fire-and-forget). */
  readonly backend?: ResultBackend;
  readonly tasks: readonly TaskImplementation[];
  /** Queues to consume. @default the contracts' queues, else ['celery'] */
  readonly queues?: readonly string[];
  /** Tasks run at once. @default 10 */
  readonly concurrency?: number;
  /** Extra messages reserved beyond free slots; keep small so idle workers get work. @default 0 */
  readonly prefetch?: number;
  /** On stop, how long running tasks get to finish before they are aborted and requeued. @default 30_000 */
  readonly shutdownGraceMs?: number;
  /** Store STARTED when a task starts (one more write per task). @default false, as Celery's `task_track_started` */
  readonly trackStarted?: boolean;
  /** Deliveries after which a message is dead-lettered as poison. @default 10 */
  readonly maxDeliveries?: number;
  /** Retry policy for contracts that define none. @default no retries */
  readonly defaultRetry?: RetryPolicy;
  /** Node name in results and events. @default `celeriac@<host>` */
  readonly hostname?: string;
  /**
   * On SIGTERM and SIGINT, stop gracefully, then close `broker` and `backend` so the process can exit.
   * A program that must keep them open stops the worker itself instead. @default false
   */
  readonly handleSignals?: boolean;
  readonly autoscale?: AutoscaleOptions;
  /** Called after a task's SUCCESS is stored. A throwing hook never fails the task. */
  readonly onSuccess?: (event: TaskEventMap['task-succeeded']) => void;
  /** Called after a task's FAILURE is stored (retries exhausted or not retriable). */
  readonly onFailure?: (event: TaskEventMap['task-failed']) => void;
  /**
   * Wrap every handler call (`execute`) and every publish made for a task (`publish`: retries,
   * callbacks, chain steps), first one outermost. Composed once; none costs nothing. @default none
   */
  readonly interceptors?: readonly WorkerInterceptor[];
  /**
   * Answer Celery's remote control over this transport (an adapter's `createControlTransport`):
   * `celery inspect`/`celery control`, Python's `app.control`, Flower, Celeriac's control client.
   * Also lets `revoke(…, { terminate: true })` abort running handlers. @default none
   */
  readonly control?: ControlTransport;
  /**
   * What a message may ask of this worker: retries and retry delays in its `x-celeriac-retry` header,
   * the size of the result it makes the worker store. @default see {@link WorkerLimits}
   */
  readonly limits?: WorkerLimits;
  /**
   * Require signed messages: only tasks signed with one of `keys` run; unsigned, unknown-key and
   * altered ones are dead-lettered (`SIGNATURE_REJECTED`) with nothing stored under their id. The
   * worker signs what it publishes (retries, callbacks, chain steps) with `sign`. @default off
   */
  readonly signing?: SigningOptions;
  /**
   * A task that fails for good (retries exhausted or not retriable) also goes to the dead-letter
   * place, so `dlq redrive` runs it again; a contract's own `deadLetterOnFailure` wins. @default false
   */
  readonly deadLetterOnFailure?: boolean;
  /**
   * Threads for `isolation: 'thread'` tasks (more such tasks at once wait for a thread, their time
   * limits running). A worker without such tasks starts none. @default the machine's parallelism
   */
  readonly threads?: number;
}

/** Counters for monitoring. */
export interface WorkerStats {
  readonly hostname: string;
  readonly concurrency: number;
  readonly active: number;
  readonly processed: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly retried: number;
  readonly rejected: number;
  readonly uptimeMs: number;
  /** Threads alive in the pool of `isolation: 'thread'` tasks (0 without one). */
  readonly threads: number;
}

/** A running worker. */
export interface Worker {
  readonly hostname: string;
  /** Queues this worker consumes. */
  readonly queues: readonly string[];
  start(): Promise<void>;
  /** Stops fetching, lets running tasks finish within the grace period, requeues the rest. */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** Subscribes to a task event (Celery names); returns an unsubscribe function. */
  on<K extends TaskEventName>(event: K, listener: (payload: TaskEventMap[K]) => void): () => void;
  setConcurrency(concurrency: number): void;
  stats(): WorkerStats;
  /** Stops fetching on this worker only; running tasks finish. Queues paused fleet-wide stay paused. */
  pause(): Promise<void>;
  /** Fetches again after `pause()` (from the queues not paused fleet-wide). */
  resume(): void;
  /**
   * Starts consuming another queue (Celery's `add_consumer`); `queues` lists it from then on.
   * Deliveries already held stay held and finish where they are.
   */
  addQueue(queue: string): Promise<void>;
  /** Stops consuming a queue (Celery's `cancel_consumer`); its deliveries already held still finish. */
  cancelQueue(queue: string): Promise<void>;
  /**
   * Recycles the thread pool of `isolation: 'thread'` tasks (Celery's `pool_restart`): later calls
   * run in fresh threads that import task modules anew. `false` when the worker has no pool.
   */
  restartPool(): boolean;
}

/**
 * Creates a worker: fetch-on-free-slot, acks after the outcome is stored, retries through the
 * broker's delayed store, soft and hard time limits, graceful shutdown.
 *
 * @example
 * ```ts
 * const worker = createWorker({ broker, backend, tasks: [implement(add, async ({ x, y }) => x + y)] });
 * await worker.start();
 * ```
 */
export function createWorker(options: WorkerOptions): Worker {
  const registry = new Map<string, TaskImplementation>();
  for (const impl of options.tasks) {
    if (registry.has(impl.contract.name))
      throw new ConfigError(`task ${impl.contract.name} is implemented twice`);
    registry.set(impl.contract.name, impl);
  }
  const queues = options.queues?.length
    ? [...options.queues]
    : [...new Set(options.tasks.map((t) => t.contract.defaults.queue ?? DEFAULT_QUEUE))];
  if (queues.length === 0) queues.push(DEFAULT_QUEUE);
  const hostname = options.hostname ?? `celeriac@${osHostname()}`;
  const events = new TypedEmitter<TaskEventMap>();
  const shutdown = new AbortController();
  // Every running task listens on the shutdown signal; that is by design, not a leak.
  setMaxListeners(0, shutdown.signal);
  const extra = options.prefetch ?? 0;
  let consumer: QueueSwitch | undefined;
  let stopping: Promise<void> | undefined;
  let autoscaleTimer: NodeJS.Timeout | undefined;
  // Mutable: remote control's `autoscale` changes the range.
  let autoscaleRange = options.autoscale
    ? { min: options.autoscale.min, max: options.autoscale.max }
    : undefined;
  const counts = { processed: 0, succeeded: 0, failed: 0, retried: 0, rejected: 0 };
  const startedAt = Date.now();
  events.on('task-succeeded', () => counts.succeeded++);
  events.on('task-failed', () => counts.failed++);
  events.on('task-retried', () => counts.retried++);
  events.on('task-rejected', () => counts.rejected++);
  if (options.onSuccess) events.on('task-succeeded', options.onSuccess);
  if (options.onFailure) events.on('task-failed', options.onFailure);

  const backend = options.backend;
  const reads = backend
    ? new TickBatcher<string, ResultMeta | null>(async (ids) =>
        (await backend.getMany(ids)).map((value) => ({ ok: true, value })),
      )
    : undefined;
  const getMeta = reads ? (id: string) => reads.push(id) : async () => null;
  const onError = (error: unknown) => events.emit('worker-error', { error });
  // Flow control: limits, dedupe, queues paused fleet-wide, the task index (where the backend keeps them).
  const flow = new WorkerFlow({ backend, registry, hostname, events, onError });
  let pausedHere = false;
  // The control plane: the fleet's revoked set (from a backend that keeps one), and remote control.
  const control =
    options.control || hasRevokeStore(backend)
      ? new WorkerControl({
          hostname,
          queues,
          registry,
          backend,
          transport: options.control,
          prefetch: extra,
          stats: () => worker.stats(),
          backlog: () => slots.backlog,
          setConcurrency: (n) => worker.setConcurrency(n),
          autoscale: () => autoscaleRange,
          setAutoscale: (range) => {
            autoscaleRange = range;
          },
          stop: () => worker.stop(),
          onError: (error) => events.emit('worker-error', { error }),
          setRateLimit: (task, rate) => flow.setRateLimit(task, rate),
          rateLimitOf: (task) => flow.rateLimitOf(task),
          addQueue: (queue) => worker.addQueue(queue),
          cancelQueue: (queue) => worker.cancelQueue(queue),
          eventSwitch: () => eventSwitchOf(worker),
          restartPool: () => worker.restartPool(),
        })
      : undefined;
  const signing = options.signing ? resolveSigning(options.signing) : undefined;
  // Innermost, so it signs the message as the other interceptors leave it.
  const publishHooks = options.signing
    ? [...(options.interceptors ?? []), signingInterceptor(options.signing)]
    : options.interceptors;
  const deps: RunnerDeps = {
    broker: options.broker,
    publisher: interceptPublishes(options.broker, publishHooks),
    backend,
    registry,
    execute: composeExecute(options.interceptors),
    hostname,
    trackStarted: options.trackStarted ?? false,
    maxDeliveries: options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES,
    defaultRetry: options.defaultRetry,
    events,
    shutdown: shutdown.signal,
    getMeta,
    progress: progressSink({ backend, registry }),
    control,
    abandoned: new Set<string>(),
    limits: resolveLimits(options.limits),
    signing,
    flow: flow.gate,
    deadLetterOnFailure: options.deadLetterOnFailure ?? false,
    threads: options.tasks.some((t) => t.isolation === 'thread')
      ? new ThreadPool(options.threads)
      : undefined,
  };
  const slots: WorkerSlots = new WorkerSlots({
    deps,
    control,
    flow,
    concurrency: Math.max(1, options.autoscale?.min ?? options.concurrency ?? DEFAULT_CONCURRENCY),
    stopping: () => stopping !== undefined,
    processed: () => counts.processed++,
  });

  const autoscaleTick = async () => {
    const a = autoscaleRange;
    if (!a || !consumer || stopping) return;
    try {
      const depth = (await Promise.all(queues.map((q) => options.broker.depth(q)))).reduce(
        (x, y) => x + y,
        0,
      );
      const target = Math.min(a.max, Math.max(a.min, slots.active + depth));
      if (target !== slots.concurrency) worker.setConcurrency(target);
    } catch (error) {
      events.emit('worker-error', { error });
    }
  };

  // A signal means the process is ending: once stopped, close the connections the worker was given,
  // so nothing keeps the event loop alive and the process exits by itself.
  const onSignal = () =>
    void worker.stop().then(() => Promise.allSettled([options.broker.close(), options.backend?.close()]));

  const worker: Worker = {
    hostname,
    queues,
    async start() {
      if (consumer) return;
      // Revokes known before the first delivery, so none of them runs.
      await control?.start();
      consumer = await flow.consume(options.broker, {
        queues,
        prefetch: slots.concurrency + extra,
        maxDeliveries: deps.maxDeliveries,
        onDelivery: slots.onDelivery,
        onError: (error) => events.emit('worker-error', { error }),
      });
      if (pausedHere) await consumer.pause();
      if (options.autoscale) {
        autoscaleTimer = setInterval(
          () => void autoscaleTick(),
          options.autoscale.intervalMs ?? DEFAULT_AUTOSCALE_INTERVAL_MS,
        );
        autoscaleTimer.unref();
      }
      if (options.handleSignals) {
        process.once('SIGTERM', onSignal);
        process.once('SIGINT', onSignal);
      }
      events.emit('worker-online', { hostname });
    },
    stop(stopOptions = {}) {
      stopping ??= (async () => {
        if (autoscaleTimer) clearInterval(autoscaleTimer);
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        await consumer?.pause();
        // Reserved but not started: back to the broker at once.
        await slots.requeueBacklog();
        const finished = await slots.idle(
          stopOptions.graceMs ?? options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS,
        );
        if (!finished) {
          // Past the grace period: abort handlers; the runner requeues what they were doing.
          shutdown.abort(new Error('worker shutting down'));
          await slots.idle(ABORTED_SETTLE_MS);
        }
        // Closing returns anything still unsettled to the queue, so nothing is lost.
        await consumer?.close();
        await flow.stop();
        await deps.threads?.close().catch((error: unknown) => events.emit('worker-error', { error }));
        await control?.stop().catch((error: unknown) => events.emit('worker-error', { error }));
        events.emit('worker-offline', { hostname });
      })();
      return stopping;
    },
    on: (event, listener) => events.on(event, listener),
    setConcurrency(n) {
      slots.setConcurrency(n);
      consumer?.setPrefetch(slots.concurrency + extra);
    },
    stats: () => ({
      hostname,
      concurrency: slots.concurrency,
      active: slots.active,
      ...counts,
      uptimeMs: Date.now() - startedAt,
      threads: deps.threads?.stats().threads ?? 0,
    }),
    async pause() {
      pausedHere = true;
      await consumer?.pause();
    },
    resume() {
      pausedHere = false;
      if (!stopping) consumer?.resume();
    },
    async addQueue(queue) {
      if (queues.includes(queue)) return;
      // In place: `worker.queues` and remote control's `active_queues` read this array.
      queues.push(queue);
      await consumer?.setQueues(queues);
    },
    async cancelQueue(queue) {
      const at = queues.indexOf(queue);
      if (at < 0) return;
      queues.splice(at, 1);
      await consumer?.setQueues(queues);
    },
    restartPool() {
      deps.threads?.restart();
      return deps.threads !== undefined;
    },
  };
  return worker;
}
