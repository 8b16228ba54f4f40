import type { ChainableCommander, Redis } from 'ioredis';

/**
 * Celery's `_store_result` in one atomic step: read the current meta and keep it if it is a
 * SUCCESS, else write with a TTL (SETEX, PSETEX for sub-second TTLs) or without one (SET) and
 * PUBLISH the same text on the channel named after the key. One key, so it is also cluster-safe.
 *
 *   KEYS[1]  celery-task-meta-<task id> (also the channel)
 *   ARGV[1]  meta JSON
 *   ARGV[2]  time to live in ms; 0 keeps the key forever
 *
 * Returns 1 when written and published, 0 when an existing SUCCESS was kept.
 */
const STORE_LUA = `
local current = redis.call('GET', KEYS[1])
if current then
  local ok, meta = pcall(cjson.decode, current)
  if ok then
    if type(meta) == 'table' and meta['status'] == 'SUCCESS' then return 0 end
  elseif string.find(current, '"status"%s*:%s*"SUCCESS"') then
    return 0
  end
end
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  if ttl % 1000 == 0 then
    redis.call('SETEX', KEYS[1], math.floor(ttl / 1000), ARGV[1])
  else
    redis.call('PSETEX', KEYS[1], ttl, ARGV[1])
  end
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
`;

/** A client with the store script attached. */
export interface StoreScriptClient extends Redis {
  celeriacStore(key: string, json: string, ttlMs: number): Promise<number>;
}

/** A pipeline of a {@link StoreScriptClient}. */
export interface StoreScriptPipeline extends ChainableCommander {
  celeriacStore(key: string, json: string, ttlMs: number): StoreScriptPipeline;
}

/** Attaches the store script (sent as EVALSHA, loaded on NOSCRIPT by ioredis). */
export function withStoreScript(client: Redis): StoreScriptClient {
  client.defineCommand('celeriacStore', { numberOfKeys: 1, lua: STORE_LUA });
  return client as StoreScriptClient;
}
