/**
 * `@celeriac/test-services`: helpers for the repository's tests that need a real service — is a
 * service reachable (skip locally, fail under `CI=true`), a `redis-server` or a Sentinel set of a
 * test's own and its command counts, a usable Python Celery. Private: the published conformance suites live in
 * `@celeriac/testkit`.
 *
 * @packageDocumentation
 */
export { requireCelery } from './celery.js';
export { commandCounts, redisCli } from './command-stats.js';
export { type OwnSentinelSet, startRedisSentinelSet } from './redis-sentinel.js';
export { freePort, type OwnRedisServer, startRedisServer } from './redis-server.js';
export { probeTcp, requireService } from './services.js';
