import type { Broker } from '@celeriac/core';
import type { Worker } from '@celeriac/core/worker';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { BoundedLabel } from './bounded-label.js';
import { eventLoopLagGauge } from './event-loop-lag.js';
import { METRIC_NAMES } from './metric-names.js';
import { dueAt } from './sent-at.js';

/** Options of {@link collectWorkerMetrics}. */
export interface WorkerMetricsOptions {
  /** Where queue depth is read; without it (or without `capabilities.depth`) there is no depth gauge. */
  readonly broker?: Pick<Broker, 'depth' | 'capabilities'>;
  /** Queues whose depth is reported. @default the worker's queues */
  readonly queues?: readonly string[];
  /** Registry to add the metrics to (one worker per registry). @default a new one */
  readonly registry?: Registry;
  /** Task names that always get their own label (e.g. the worker's contracts). */
  readonly taskNames?: Iterable<string>;
  /** Other task names that get a label of their own before the rest are counted as `other`. @default 100 */
  readonly maxTaskNames?: number;
  /** Buckets of the run time histogram, in seconds. */
  readonly durationBuckets?: readonly number[];
  /** Buckets of the queue latency histogram, in seconds. */
  readonly latencyBuckets?: readonly number[];
  /** Longest a scrape waits for one queue's depth; a slow broker leaves the value as it was. @default 2000 */
  readonly depthTimeoutMs?: number;
}

/** What {@link collectWorkerMetrics} returns. */
export interface WorkerMetrics {
  readonly registry: Registry;
  /** Stops listening to the worker and sampling the event loop. The series stay in the registry. */
  stop(): void;
}

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120];
const LATENCY_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800];

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Adds a worker's Prometheus metrics to a registry: tasks by state, run time, active tasks,
 * concurrency, queue depth and latency, dead letters, event-loop lag (see {@link METRIC_NAMES}).
 * Works for any worker made with `createWorker`, embedded in an application or not; serve the
 * registry with {@link serveMetrics} or {@link metricsHandler}.
 *
 * Label values are bounded: task names past `maxTaskNames`, and names the worker does not
 * implement, are counted as `other`.
 *
 * @example
 * ```ts
 * const worker = createWorker({ broker, backend, tasks });
 * const { registry } = collectWorkerMetrics(worker, { broker, taskNames: tasks.map((t) => t.contract.name) });
 * await serveMetrics({ registry, port: 9464, host: '0.0.0.0' });
 * ```
 */
export function collectWorkerMetrics(worker: Worker, options: WorkerMetricsOptions = {}): WorkerMetrics {
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  const taskLabel = new BoundedLabel(options.maxTaskNames ?? 100, options.taskNames);
  const reasonLabel = new BoundedLabel(50);
  const queues = options.queues ?? worker.queues;
  const queueLabel = new BoundedLabel(queues.length, queues);

  const tasks = new Counter({
    name: METRIC_NAMES.tasks,
    help: 'Tasks by task name and outcome: SUCCESS, FAILURE, RETRY, REVOKED, REJECTED',
    labelNames: ['task', 'state'] as const,
    registers,
  });
  const duration = new Histogram({
    name: METRIC_NAMES.taskDuration,
    help: 'Handler run time in seconds',
    labelNames: ['task'] as const,
    buckets: [...(options.durationBuckets ?? DURATION_BUCKETS)],
    registers,
  });
  new Gauge({
    name: METRIC_NAMES.active,
    help: 'Tasks running now',
    registers,
    collect() {
      this.set(worker.stats().active);
    },
  });
  new Gauge({
    name: METRIC_NAMES.concurrency,
    help: 'Tasks the worker runs at once (changes with autoscaling)',
    registers,
    collect() {
      this.set(worker.stats().concurrency);
    },
  });
  const { broker } = options;
  if (broker?.capabilities.depth) {
    const timeoutMs = options.depthTimeoutMs ?? 2_000;
    new Gauge({
      name: METRIC_NAMES.queueDepth,
      help: 'Messages waiting in each consumed queue (not delayed, not in flight)',
      labelNames: ['queue'] as const,
      registers,
      async collect() {
        const depths = await Promise.all(
          queues.map((q) => withTimeout(broker.depth(q), timeoutMs).catch(() => undefined)),
        );
        // A failed or slow read keeps the previous value rather than failing the whole scrape.
        queues.forEach((queue, i) => {
          const depth = depths[i];
          if (depth !== undefined) this.set({ queue }, depth);
        });
      },
    });
  }
  const latency = new Histogram({
    name: METRIC_NAMES.queueLatency,
    help: 'Seconds from when a message was due (published with a sent-at stamp, or its eta) until a worker took it',
    labelNames: ['queue'] as const,
    buckets: [...(options.latencyBuckets ?? LATENCY_BUCKETS)],
    registers,
  });
  const deadLetters = new Counter({
    name: METRIC_NAMES.deadLetters,
    help: 'Messages this worker dead-lettered, by reason code',
    labelNames: ['reason'] as const,
    registers,
  });
  const lag = eventLoopLagGauge(registry, METRIC_NAMES.eventLoopLag);

  const finished = (name: string, state: string, runtimeMs?: number) => {
    const task = taskLabel.of(name);
    tasks.inc({ task, state });
    if (runtimeMs !== undefined) duration.observe({ task }, runtimeMs / 1000);
  };
  const unsubscribe = [
    worker.on('task-received', (e) => {
      const due = dueAt(e.headers);
      const waited = due === undefined ? -1 : Date.now() - due;
      // A message taken before it was due (an early eta, put back) has not waited yet.
      if (waited >= 0) latency.observe({ queue: queueLabel.of(e.queue) }, waited / 1000);
    }),
    worker.on('task-succeeded', (e) => finished(e.name, 'SUCCESS', e.runtimeMs)),
    worker.on('task-failed', (e) => finished(e.name, 'FAILURE', e.runtimeMs)),
    worker.on('task-retried', (e) => finished(e.name, 'RETRY')),
    worker.on('task-revoked', (e) => finished(e.name, 'REVOKED')),
    worker.on('task-rejected', (e) => {
      // A name the worker does not implement is whatever a producer sent: never a label of its own.
      const name = e.reason.code === 'TASK_NOT_REGISTERED' ? null : e.name;
      tasks.inc({ task: taskLabel.of(name), state: 'REJECTED' });
      deadLetters.inc({ reason: reasonLabel.of(e.reason.code) });
    }),
  ];
  return {
    registry,
    stop() {
      for (const u of unsubscribe) u();
      lag.stop();
    },
  };
}
