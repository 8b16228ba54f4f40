/**
 * `@celeriac/backend-redis`: a Celery-compatible result backend on Redis. Python clients read what
 * TS workers store, and the reverse.
 *
 * @packageDocumentation
 */
export { redisBackendCapabilities } from './capabilities.js';
export { createResultBackend } from './create-result-backend.js';
export type { RedisResultBackendOptions } from './options.js';
export { type RedisBackendDiagnostics, RedisResultBackend } from './redis-result-backend.js';
export { backendSchemes, type ParsedBackendUrl, parseBackendUrl } from './url.js';
export type { WaitDiagnostics } from './wait-hub.js';
