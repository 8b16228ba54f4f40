/**
 * Every series {@link collectWorkerMetrics} exports. Dashboards (docs/grafana-dashboard.json) and
 * autoscalers (docs/autoscaling.md) are built on these names.
 */
export const METRIC_NAMES = {
  /** Counter `{task, state}`: tasks finished (SUCCESS, FAILURE), retried (RETRY), revoked, rejected. */
  tasks: 'celeriac_tasks_total',
  /** Histogram `{task}`: handler run time in seconds. */
  taskDuration: 'celeriac_task_duration_seconds',
  /** Gauge: tasks running now. */
  active: 'celeriac_tasks_active',
  /** Gauge: the worker's concurrency (changes with autoscaling). */
  concurrency: 'celeriac_worker_concurrency',
  /** Gauge `{queue}`: messages waiting in each consumed queue. */
  queueDepth: 'celeriac_queue_depth',
  /** Histogram `{queue}`: seconds from when a message was due (published, or its eta) until a worker took it. */
  queueLatency: 'celeriac_queue_latency_seconds',
  /** Counter `{reason}`: messages this worker dead-lettered, by reason code. */
  deadLetters: 'celeriac_dead_letters_total',
  /** Gauge `{quantile}`: event-loop delay since the previous scrape. */
  eventLoopLag: 'celeriac_event_loop_lag_seconds',
} as const;
