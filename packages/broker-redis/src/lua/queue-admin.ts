/**
 * Delayed publish. KEYS[6] = the delayed zset (for routing). ARGV[4] queue, then groups of four:
 * delay ms, step, unique id, raw. The member is `step|id|raw`: the id keeps identical payloads apart.
 *
 * @internal
 */
export const DELAY = `
local q = ARGV[4]
local now_ms = clock()
for i = 5, #ARGV, 4 do
  redis.call('ZADD', delayed_key(q), now_ms + tonumber(ARGV[i]), ARGV[i + 1] .. '|' .. ARGV[i + 2] .. '|' .. ARGV[i + 3])
end
wake(q)
return 1
`;

/** Depth: promote what is due, then count every priority list. ARGV[4] queue. @internal */
export const DEPTH = `
local q = ARGV[4]
promote(q, (clock()))
local n = 0
for _, s in ipairs(STEPS) do n = n + redis.call('LLEN', list_key(q, s)) end
return n
`;

/** Purge: delete waiting and delayed messages; returns how many. ARGV[4] queue. @internal */
export const PURGE = `
local q = ARGV[4]
local n = redis.call('ZCARD', delayed_key(q))
redis.call('DEL', delayed_key(q))
for _, s in ipairs(STEPS) do
  local k = list_key(q, s)
  n = n + redis.call('LLEN', k)
  redis.call('DEL', k)
end
return n
`;

/**
 * Redrive: every dead letter's raw message goes back to the back of its priority list, oldest
 * first, with a fresh delivery count. Entries that are not ours, and truncated ones (only their
 * head was kept), stay in the dead-letter list. ARGV[4] queue. Returns how many moved.
 *
 * @internal
 */
export const REDRIVE = `
local q = ARGV[4]
local dk = dead_key(q)
local entries = redis.call('LRANGE', dk, 0, -1)
local kept, n = {}, 0
for _, e in ipairs(entries) do
  local ok, t = pcall(cjson.decode, e)
  if ok and type(t) == 'table' and type(t.raw) == 'string' and t.truncated ~= true then
    local raw = t.raw
    local step = step_of(priority_of(raw))
    local ok2, env = pcall(cjson.decode, raw)
    if ok2 and type(env) == 'table' and type(env.properties) == 'table' then
      step = step_of(env.properties.priority)
      local dt = env.properties.delivery_tag
      if type(dt) == 'string' or type(dt) == 'number' then redis.call('HDEL', K_COUNTS, tostring(dt)) end
    end
    redis.call('HDEL', K_COUNTS, 'raw-' .. redis.sha1hex(raw))
    redis.call('LPUSH', list_key(q, step), raw)
    n = n + 1
  else
    kept[#kept + 1] = e
  end
end
redis.call('DEL', dk)
for _, e in ipairs(kept) do redis.call('RPUSH', dk, e) end
if n > 0 then wake(q) end
return n
`;
