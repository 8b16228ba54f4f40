/**
 * `@celeriac/opentelemetry/producer`: tracing for producers. Imports no worker code.
 *
 * @packageDocumentation
 */
export { headerGetter, headerSetter } from './carrier.js';
export { ATTRIBUTES, type TracingOptions } from './options.js';
export { tracePublishes } from './publish-tracing.js';
