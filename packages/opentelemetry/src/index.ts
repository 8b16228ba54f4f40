/**
 * `@celeriac/opentelemetry`: OpenTelemetry tracing for Celeriac through the client and worker
 * interceptors — `tracePublishes()` for clients, `traceTasks()` for workers — with W3C
 * `traceparent` in the message headers, as Python Celery's instrumentation. Depends on
 * `@opentelemetry/api` only: the application brings the SDK and exporter.
 *
 * @packageDocumentation
 */
export { headerGetter, headerSetter } from './carrier.js';
export { ATTRIBUTES, type TracingOptions } from './options.js';
export { tracePublishes } from './publish-tracing.js';
export { traceTasks } from './task-tracing.js';
