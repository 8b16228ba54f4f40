/**
 * `@celeriac/prometheus`: Prometheus metrics (prom-client) for any Celeriac worker — the CLI's or
 * one embedded in an application. `@celeriac/prometheus/producer` stamps publish times so queue
 * latency covers every message.
 *
 * @packageDocumentation
 */
export { BoundedLabel, OTHER_LABEL } from './bounded-label.js';
export { METRIC_NAMES } from './metric-names.js';
export { dueAt, SENT_AT_HEADER } from './sent-at.js';
export { listeningPort, metricsHandler, type ServeMetricsOptions, serveMetrics } from './serve-metrics.js';
export { collectWorkerMetrics, type WorkerMetrics, type WorkerMetricsOptions } from './worker-metrics.js';
