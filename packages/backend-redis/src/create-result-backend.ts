import { RedisResultBackend } from './redis-result-backend.js';

/**
 * The factory the CLIs use to pick a backend by URL scheme: `redis://`, `rediss://` (TLS) or
 * `redis+sentinel://host:26379[,host2:26379]/<master>[/db]`. Backend settings may ride in the query
 * (`ttlMs`, `persist`, `readUrl`, `readFromReplica`, …). A bad URL throws `ConfigError`. The backend
 * is also a scheduler's lock (`createScheduler({ client, lock: backend, … })`).
 *
 * @example
 * ```ts
 * const backend = createResultBackend('redis://:secret@127.0.0.1:6379/0?ttlMs=3600000');
 * ```
 */
export function createResultBackend(url: string): RedisResultBackend {
  return new RedisResultBackend({ url });
}
