import { type CarriedStore, redisTarget } from '@celeriac/core/adapter';
import type { RedisOptions } from 'ioredis';
import { CARRIED_STORE_LUA } from './store-script.js';

/** The server a broker must settle on to carry our stores; Sentinel (the primary may move) has none. */
export function carriedTargetOf(options: RedisOptions): string | undefined {
  if (options.sentinels?.length) return undefined;
  return redisTarget({
    tls: options.tls !== undefined,
    host: options.host,
    port: options.port,
    path: options.path ?? undefined,
    db: options.db,
    username: options.username,
  });
}

/** One store as a broker on `target` runs it: the same script as `store()`, so ready states stay final. */
export function carriedStore(
  target: string,
  key: string,
  json: string,
  ttlMs: number,
  done: (reply: unknown) => void,
): CarriedStore {
  return { target, script: CARRIED_STORE_LUA, keys: [key], args: [json, ttlMs], done };
}
