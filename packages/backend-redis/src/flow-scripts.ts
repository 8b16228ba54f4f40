import type { Redis } from 'ioredis';

/** Now in ms on the server's clock, so every worker and producer shares one clock. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * A rate-limit bucket: reservations spaced `interval` apart (its next free start, as Celery's token
 * bucket of capacity 1), and the times of the last `count` starts, so a start is granted only while
 * fewer than `count` were granted in the last `window` ms — exact, however late a reserved task
 * comes back.
 *   KEYS[1] next free start, KEYS[2] last starts (a list, oldest first)
 *   ARGV count, window ms, interval ms, horizon ms, tolerance ms, reserved start ('' for none)
 *   → {granted 1|0, wait ms, reserved start (0: none), recorded start (0: not granted)}
 */
const RATE_LUA = `${NOW}
local count = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local interval = tonumber(ARGV[3])
local horizon = tonumber(ARGV[4])
local tolerance = tonumber(ARGV[5])
local slot = tonumber(ARGV[6])
local free = now
local len = redis.call('LLEN', KEYS[2])
if len >= count then
  free = math.max(now, tonumber(redis.call('LINDEX', KEYS[2], len - count)) + window)
end
local function start(at)
  redis.call('RPUSH', KEYS[2], now)
  redis.call('LTRIM', KEYS[2], -count, -1)
  redis.call('PEXPIRE', KEYS[2], math.ceil(window) + 1000)
  return {1, 0, math.floor(at), now}
end
if slot then
  if now < slot - tolerance then return {0, slot - now, slot, 0} end
  if free <= now then return start(slot) end
  return {0, math.ceil(free - now), slot, 0}
end
local at = math.max(now, tonumber(redis.call('GET', KEYS[1])) or 0)
if at - now > horizon then return {0, horizon, 0, 0} end
local nxt = at + interval
redis.call('SET', KEYS[1], string.format('%.3f', nxt), 'PX', math.ceil(nxt - now) + 1000)
if at - now <= tolerance and free <= now then return start(at) end
return {0, math.ceil(math.max(at, free) - now), math.floor(at), 0}
`;

/**
 * A grant that reached its worker late: its recorded start moves to now if the window allows.
 *   KEYS[1] last starts; ARGV count, window ms, recorded start
 *   → {granted 1|0, wait ms, 0, recorded start}
 */
const RETAKE_LUA = `${NOW}
local count = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('LREM', KEYS[1], -1, ARGV[3])
local len = redis.call('LLEN', KEYS[1])
if len >= count then
  local free = tonumber(redis.call('LINDEX', KEYS[1], len - count)) + window
  if free > now then return {0, math.ceil(free - now), 0, 0} end
end
redis.call('RPUSH', KEYS[1], now)
redis.call('LTRIM', KEYS[1], -count, -1)
redis.call('PEXPIRE', KEYS[1], math.ceil(window) + 1000)
return {1, 0, 0, now}
`;

/**
 * A slot of `max` for `holder`, as a member of a sorted set scored by its lease's expiry.
 *   KEYS[1] slots; ARGV holder, max, ttl ms → 0 when taken, else ms until the soonest lease expires
 */
const LEASE_LUA = `${NOW}
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl + 1000) end
  return 0
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(1, tonumber(first[2]) - now)
`;

/**
 * Extends leases that have not expired: KEYS[i] with ARGV[2i-1] holder and ARGV[2i] ttl ms.
 * Keys of one call may differ, so it is for a single Redis, not a cluster.
 */
const RENEW_LUA = `${NOW}
for i, key in ipairs(KEYS) do
  local holder = ARGV[2 * i - 1]
  local ttl = tonumber(ARGV[2 * i])
  local until_ms = tonumber(redis.call('ZSCORE', key, holder))
  if until_ms and until_ms > now then
    redis.call('ZADD', key, now + ttl, holder)
    if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl + 1000) end
  end
end
return 0
`;

/**
 * Claims a dedupe key: `skip` and `throttle` keep a holder, the others replace it.
 *   KEYS[1] entry (hash id, started); ARGV id, mode, hold ms → {holder id, 1 if the new id took it}
 */
const DEDUPE_CLAIM_LUA = `
local current = redis.call('HGET', KEYS[1], 'id')
if current and (ARGV[2] == 'skip' or ARGV[2] == 'throttle') then return {current, 0} end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'started', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {ARGV[1], 1}
`;

/** KEYS[1] entry; ARGV id → 1 when the id still holds the key (or nobody does), marked started; else 0. */
const DEDUPE_START_LUA = `
local current = redis.call('HGET', KEYS[1], 'id')
if not current then return 1 end
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'started', '1')
return 1
`;

/** KEYS[1] entry; ARGV id, ttl ms: the holder keeps the key ttl more (0: frees it). */
const DEDUPE_FINISH_LUA = `
if redis.call('HGET', KEYS[1], 'id') ~= ARGV[1] then return 0 end
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('HSET', KEYS[1], 'started', 'done')
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  redis.call('DEL', KEYS[1])
end
return 1
`;

/**
 * Records tasks in the index and trims it to its size.
 *   KEYS[1] ids by time (sorted set), KEYS[2] entries (hash); ARGV max, then (id, ms, json) triples
 */
const INDEX_LUA = `
local max = tonumber(ARGV[1])
for i = 2, #ARGV, 3 do
  redis.call('ZADD', KEYS[1], ARGV[i + 1], ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 2])
end
local extra = redis.call('ZCARD', KEYS[1]) - max
if extra > 0 then
  local old = redis.call('ZRANGE', KEYS[1], 0, extra - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1)
  for _, id in ipairs(old) do redis.call('HDEL', KEYS[2], id) end
end
return 0
`;

/** A client with the flow scripts attached. */
export interface FlowScriptClient extends Redis {
  celeriacRate(
    next: string,
    starts: string,
    count: number,
    windowMs: number,
    interval: number,
    horizon: number,
    tolerance: number,
    slot: string,
  ): Promise<number[]>;
  celeriacRetake(starts: string, count: number, windowMs: number, startedAt: number): Promise<number[]>;
  celeriacLease(key: string, holder: string, max: number, ttlMs: number): Promise<number>;
  /** `numberOfKeys, ...keys, ...(holder, ttlMs) pairs`. */
  celeriacRenew(...args: (string | number)[]): Promise<number>;
  celeriacDedupeClaim(key: string, id: string, mode: string, holdMs: number): Promise<[string, number]>;
  celeriacDedupeStart(key: string, id: string): Promise<number>;
  celeriacDedupeFinish(key: string, id: string, ttlMs: number): Promise<number>;
  /** `ids key, entries key, max, ...(id, ms, json) triples`. */
  celeriacIndex(...args: (string | number)[]): Promise<number>;
}

/** Attaches the flow scripts (sent as EVALSHA, loaded on NOSCRIPT by ioredis). */
export function withFlowScripts(client: Redis): FlowScriptClient {
  client.defineCommand('celeriacRate', { numberOfKeys: 2, lua: RATE_LUA });
  client.defineCommand('celeriacRetake', { numberOfKeys: 1, lua: RETAKE_LUA });
  client.defineCommand('celeriacLease', { numberOfKeys: 1, lua: LEASE_LUA });
  client.defineCommand('celeriacRenew', { lua: RENEW_LUA });
  client.defineCommand('celeriacDedupeClaim', { numberOfKeys: 1, lua: DEDUPE_CLAIM_LUA });
  client.defineCommand('celeriacDedupeStart', { numberOfKeys: 1, lua: DEDUPE_START_LUA });
  client.defineCommand('celeriacDedupeFinish', { numberOfKeys: 1, lua: DEDUPE_FINISH_LUA });
  client.defineCommand('celeriacIndex', { numberOfKeys: 2, lua: INDEX_LUA });
  return client as FlowScriptClient;
}
