import type { Redis } from 'ioredis';

/**
 * Celery's `_store_result` for one key, with every ready state final: read the current meta and
 * keep it if it is SUCCESS, FAILURE or REVOKED (so nothing stores over a result a caller may
 * already have been given, e.g. a SUCCESS over a REVOKED after a terminate), else write with a TTL
 * (SETEX, PSETEX for sub-second TTLs) or without one (SET) and PUBLISH the same text on the channel
 * named after the key. Returns 1 when written, 0 when a ready state was kept.
 */
const STORE_ONE = `
local ready = { SUCCESS = true, FAILURE = true, REVOKED = true }
local function store_one(key, json, ttl)
  local current = redis.call('GET', key)
  if current then
    local ok, meta = pcall(cjson.decode, current)
    if ok then
      if type(meta) == 'table' and ready[meta['status']] then return 0 end
    else
      local status = string.match(current, '"status"%s*:%s*"(%u+)"')
      if status and ready[status] then return 0 end
    end
  end
  ttl = tonumber(ttl)
  if ttl > 0 then
    if ttl % 1000 == 0 then
      redis.call('SETEX', key, math.floor(ttl / 1000), json)
    else
      redis.call('PSETEX', key, ttl, json)
    end
  else
    redis.call('SET', key, json)
  end
  redis.call('PUBLISH', key, json)
  return 1
end
`;

/**
 *   KEYS[1]  celery-task-meta-<task id> (also the channel)
 *   ARGV[1]  meta JSON
 *   ARGV[2]  time to live in ms; 0 keeps the key forever
 * One key, so it is also cluster-safe.
 */
const STORE_LUA = `${STORE_ONE}
return store_one(KEYS[1], ARGV[1], ARGV[2])
`;

/**
 * A whole batch in one call (one command for Redis to dispatch, not one per result):
 * KEYS[i] with ARGV[2i-1] meta JSON and ARGV[2i] TTL ms. Each item is done on its own: the reply
 * holds 1 or 0 per item as above, or the error text of an item that failed (the rest still land).
 */
const STORE_MANY_LUA = `${STORE_ONE}
local out = {}
for i = 1, #KEYS do
  local ok, r = pcall(store_one, KEYS[i], ARGV[2 * i - 1], ARGV[2 * i])
  if ok then
    out[i] = r
  elseif type(r) == 'table' then
    out[i] = tostring(r.err or r)
  else
    out[i] = tostring(r)
  end
end
return out
`;

/**
 * The same write for a broker to run in its settlement (see `CarriedStore`): a chunk whose value is
 * `function(keys, args)`, with keys[1] the meta key, args[1] the JSON and args[2] the TTL in ms.
 */
export const CARRIED_STORE_LUA = `${STORE_ONE}
return function(keys, args) return store_one(keys[1], args[1], args[2]) end
`;

/** A client with the store scripts attached. */
export interface StoreScriptClient extends Redis {
  celeriacStore(key: string, json: string, ttlMs: number): Promise<number>;
  /** `numberOfKeys, ...keys, ...(json, ttlMs) pairs`; replies 1/0 or an error text per key. */
  celeriacStoreMany(...args: (string | number)[]): Promise<(number | string)[]>;
}

/** Attaches the store scripts (sent as EVALSHA, loaded on NOSCRIPT by ioredis). */
export function withStoreScript(client: Redis): StoreScriptClient {
  client.defineCommand('celeriacStore', { numberOfKeys: 1, lua: STORE_LUA });
  client.defineCommand('celeriacStoreMany', { lua: STORE_MANY_LUA });
  return client as StoreScriptClient;
}
