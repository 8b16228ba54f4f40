/**
 * `@celeriac/core`: typed task contracts, the Celery v2 message model, the `Broker` and
 * `ResultBackend` seams, and the embedded in-memory broker and backend.
 *
 * Producer code imports `@celeriac/core/producer`; worker code imports `@celeriac/core/worker`.
 *
 * @packageDocumentation
 */

export * from './adapter-loader.js';
export * from './broker.js';
export * from './contract.js';
export * from './errors.js';
export * from './input-mapping.js';
export * from './json-codec.js';
export * from './memory/memory-backend.js';
export * from './memory/memory-broker.js';
export * from './message.js';
export * from './result-backend.js';
export * from './result-meta.js';
export * from './retry-policy.js';
export * from './schema.js';
export * from './wire.js';
