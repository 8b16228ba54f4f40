/**
 * Heartbeat: push the consumer's deadline forward and refresh `unacked_index` for what it holds,
 * so kombu's visibility-timeout restore (Python workers) never takes a message from a live consumer.
 * KEYS[6] = held zset. ARGV[4] consumer id, [5] deadline (ms from now). Returns how many it holds.
 *
 * @internal
 */
export const HEARTBEAT = `
local now_ms, now_s = clock()
redis.call('ZADD', K_CONSUMERS, now_ms + tonumber(ARGV[5]), ARGV[4])
local tags = redis.call('ZRANGE', KEYS[6], 0, -1)
for _, tag in ipairs(tags) do redis.call('ZADD', K_INDEX, 'XX', now_s, tag) end
return #tags
`;

/**
 * Release: put held messages back at the consuming end of their lists, latest first so the
 * earliest is delivered first again. ARGV[5] = `close` (everything, then unregister) or
 * `reconcile` (everything except the tags in ARGV[6..], which the consumer knows it holds).
 * KEYS[6] = held zset; ARGV[4] consumer id. Returns how many were put back.
 *
 * @internal
 */
export const RELEASE = `
local held = KEYS[6]
local keep = {}
for i = 6, #ARGV do keep[ARGV[i]] = true end
local n = 0
for _, tag in ipairs(redis.call('ZREVRANGE', held, 0, -1)) do
  if not keep[tag] then
    n = n + restore(tag)
    redis.call('ZREM', held, tag)
  end
end
if ARGV[5] == 'close' then
  redis.call('DEL', held)
  redis.call('ZREM', K_CONSUMERS, ARGV[4])
end
return n
`;

/**
 * Sweep, run by live consumers (one at a time, through a short lock):
 * 1. consumers whose heartbeat deadline passed: their held messages go back to the consuming end
 *    of their lists (the delivery count is kept, and the fetch that takes them counts again);
 * 2. kombu's visibility timeout: `unacked_index` entries older than it (held by a Python worker
 *    that vanished; ours are refreshed by heartbeats) are restored, unless a Python worker holds
 *    `unacked_mutex` right now.
 * KEYS[6] = kombu's unacked_mutex, KEYS[7] = sweep lock. ARGV[4] lock ms, [5] visibility timeout
 * (s), [6] batch size. Returns `{dead consumers, restored from them, restored by visibility}`, or
 * `{-1, 0, 0}` when another consumer swept just now.
 *
 * @internal
 */
export const SWEEP = `
if not redis.call('SET', KEYS[7], '1', 'NX', 'PX', ARGV[4]) then return {-1, 0, 0} end
local now_ms, now_s = clock()
local batch = tonumber(ARGV[6])
local dead = redis.call('ZRANGEBYSCORE', K_CONSUMERS, '-inf', now_ms, 'LIMIT', 0, batch)
local from_dead = 0
for _, c in ipairs(dead) do
  local held = HELD_PREFIX .. c
  for _, tag in ipairs(redis.call('ZREVRANGE', held, 0, -1)) do from_dead = from_dead + restore(tag) end
  redis.call('DEL', held)
  redis.call('ZREM', K_CONSUMERS, c)
end
local visible = 0
if redis.call('EXISTS', KEYS[6]) == 0 then
  local cutoff = now_s - tonumber(ARGV[5])
  for _, tag in ipairs(redis.call('ZRANGEBYSCORE', K_INDEX, '-inf', cutoff, 'LIMIT', 0, batch)) do
    visible = visible + restore(tag)
  end
end
return {#dead, from_dead, visible}
`;
