/**
 * Lua shared by every script. Key names are computed here with the same rules as `keys.ts`, so a
 * sweep can put a message back on any queue it finds in `unacked` (kombu stores the routing key).
 *
 * Calling convention of every script:
 * - KEYS[1..5]: unacked hash, unacked_index zset, unacked_raw hash, delivery counts hash, consumers zset.
 * - ARGV[1]: `<cluster 1|0>:<dead letters kept per queue>:<dead-letter raw bytes kept>` (the limits
 *   may be left out: defaults below); ARGV[2]: held-zset key prefix; ARGV[3]: the keyspace's queue
 *   on Cluster ('' on a single server). Script-specific KEYS start at 6 and ARGV at 4.
 *
 * @internal
 */
export const PRELUDE = String.raw`
local CLUSTER = string.sub(ARGV[1], 1, 1) == '1'
local DLQ_MAX = tonumber(string.match(ARGV[1], '^.:(%d+):%d+$')) or 10000
local DLQ_BYTES = tonumber(string.match(ARGV[1], '^.:%d+:(%d+)$')) or 262144
local HELD_PREFIX = ARGV[2]
local KS_QUEUE = ARGV[3]
local K_UNACKED, K_INDEX, K_RAW, K_COUNTS, K_CONSUMERS = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local SEP = '\6\22'
local STEPS = {0, 3, 6, 9}
local WAKE_CAP = 16

local function qbase(q)
  if CLUSTER then return '{' .. q .. '}' end
  return q
end
local function list_key(q, step)
  if step == 0 then return qbase(q) end
  return qbase(q) .. SEP .. step
end
local function delayed_key(q) return '_celeriac.delayed.' .. qbase(q) end
local function dead_key(q) return '_celeriac.dlq.' .. qbase(q) end
local function dropped_key(q) return '_celeriac.dlq_dropped.' .. qbase(q) end
-- Where held entries go whose queue cannot be read at all (never on Cluster: one queue per keyspace).
local UNROUTABLE = '_celeriac.unroutable'
local function wake_key(q) return '_celeriac.wake.' .. qbase(q) end

-- kombu: clamp to 0..9, then the greatest step not above it; missing or invalid means 0.
local function step_of(p)
  p = tonumber(p)
  if p == nil or p ~= p then return 0 end
  local s = 0
  for _, v in ipairs(STEPS) do
    if p >= v then s = v end
  end
  return s
end

-- Server time, so clients with skewed clocks agree: unix ms and unix seconds (float, as kombu).
local function clock()
  local t = redis.call('TIME')
  local s, us = tonumber(t[1]), tonumber(t[2])
  return s * 1000 + math.floor(us / 1000), s + us / 1000000
end

local woken = {}
local function wake(q)
  if woken[q] then return end
  woken[q] = true
  local k = wake_key(q)
  redis.call('LPUSH', k, '1')
  redis.call('LTRIM', k, 0, WAKE_CAP - 1)
  redis.call('PEXPIRE', k, 60000)
end

-- Due delayed messages go to the back of their priority list, as a fresh publish would.
local function promote(q, now_ms)
  local dk = delayed_key(q)
  local due = redis.call('ZRANGEBYSCORE', dk, '-inf', now_ms, 'LIMIT', 0, 500)
  for _, m in ipairs(due) do
    local a = string.find(m, '|', 1, true)
    local b = string.find(m, '|', a + 1, true)
    redis.call('LPUSH', list_key(q, tonumber(string.sub(m, 1, a - 1)) or 0), string.sub(m, b + 1))
    redis.call('ZREM', dk, m)
  end
  if #due > 0 then wake(q) end
  return #due
end

-- A dead letter, '{queue, raw, at, reason: {code, message}}', at the end of the queue's list. A raw
-- message over DLQ_BYTES keeps its head only (cut on a UTF-8 boundary) with its size noted, and
-- the list keeps the newest DLQ_MAX entries: older ones are dropped and counted in dropped_key(q),
-- so the dead-letter place stays bounded and a loss is visible. Returns how many were dropped.
local function dead_letter(q, raw, code, message, at)
  local entry = {queue = q, at = at, reason = {code = code, message = message}}
  if #raw > DLQ_BYTES then
    local cut = DLQ_BYTES
    while cut > 0 do
      local b = string.byte(raw, cut + 1)
      if b < 128 or b >= 192 then break end
      cut = cut - 1
    end
    entry.raw = string.sub(raw, 1, cut)
    entry.truncated = true
    entry.size = #raw
  else
    entry.raw = raw
  end
  local k = dead_key(q)
  local n = redis.call('RPUSH', k, cjson.encode(entry))
  if n <= DLQ_MAX then return 0 end
  redis.call('LTRIM', k, n - DLQ_MAX, -1)
  redis.call('INCRBY', dropped_key(q), n - DLQ_MAX)
  return n - DLQ_MAX
end

-- The first JSON object of '[{...}, "exchange", "routing_key"]' as stored text, and where it ends,
-- so an envelope goes back byte for byte (re-encoding with cjson would alter numbers and empty
-- arrays). A plain scan: valid JSON that cjson refuses (lone surrogate escapes, nesting over 1000
-- levels) is read all the same.
local function first_object(v)
  local start = string.find(v, '{', 1, true)
  if not start then return nil end
  local depth, pos, in_string = 0, start, false
  while true do
    local j
    if in_string then j = string.find(v, '["\\]', pos) else j = string.find(v, '[{}"]', pos) end
    if not j then return nil end
    local c = string.sub(v, j, j)
    if in_string then
      if c == '"' then in_string = false; pos = j + 1 else pos = j + 2 end
    else
      if c == '"' then
        in_string = true
      elseif c == '{' then
        depth = depth + 1
      else
        depth = depth - 1
        if depth == 0 then return string.sub(v, start, j), j end
      end
      pos = j + 1
    end
  end
end

-- The routing key of a kombu entry from its short tail ', "exchange", "routing_key"]' alone.
local function routing_of(v, last)
  local tail = string.match(v, '^%s*,(.*)%]%s*$', last + 1)
  if not tail then return nil end
  local ok, t = pcall(cjson.decode, '[' .. tail .. ']')
  if ok and type(t) == 'table' and type(t[2]) == 'string' then return t[2] end
  return nil
end

-- Properties read with plain finds, for envelopes cjson refuses: kombu and we both write them last.
local function property_text(raw)
  return string.find(raw, '"properties"', math.max(1, #raw - 599), true)
end
local function priority_of(raw)
  local p = property_text(raw)
  if not p then return nil end
  return string.match(raw, '^"properties"%s*:%s*{[^{}]-"priority"%s*:%s*(%-?%d+)', p)
    or string.match(raw, '}[^{}]-"priority"%s*:%s*(%-?%d+)', p)
end
local function routing_key_of(raw)
  local p = property_text(raw)
  if not p then return nil end
  return string.match(raw, '"delivery_info"%s*:%s*{[^{}]-"routing_key"%s*:%s*"([^"\\]+)"', p)
end

-- A held message without removing it: raw text, queue, priority step, then the stored entry (nil
-- when nothing is held under the tag). The queue is nil when it cannot be read at all.
local function peek(tag)
  local v = redis.call('HGET', K_UNACKED, tag)
  if v then
    local raw, last = first_object(v)
    local q, pri = nil, nil
    local ok, t = pcall(cjson.decode, v)
    if ok and type(t) == 'table' then
      if type(t[3]) == 'string' then q = t[3] end
      local env = t[1]
      if type(env) == 'table' and type(env.properties) == 'table' then pri = env.properties.priority end
      if raw == nil and type(env) == 'table' then raw = cjson.encode(env) end
    elseif raw ~= nil then
      q = routing_of(v, last) or routing_key_of(raw)
      pri = priority_of(raw)
    end
    if KS_QUEUE ~= '' then q = KS_QUEUE end
    return raw, q, step_of(pri), v
  end
  v = redis.call('HGET', K_RAW, tag)
  if v then
    -- '<step>:<queue length>:<queue><raw>'
    local a = string.find(v, ':', 1, true)
    local b = string.find(v, ':', a + 1, true)
    local n = tonumber(string.sub(v, a + 1, b - 1))
    return string.sub(v, b + n + 1), string.sub(v, b + 1, b + n), tonumber(string.sub(v, 1, a - 1)), v
  end
  return nil
end

-- Tags of messages without a usable delivery tag start with 'raw-' (see the fetch script) and
-- live only in unacked_raw; every other tag lives only in kombu's unacked/unacked_index.
local function forget(tag)
  if string.sub(tag, 1, 4) == 'raw-' then
    redis.call('HDEL', K_RAW, tag)
  else
    redis.call('HDEL', K_UNACKED, tag)
    redis.call('ZREM', K_INDEX, tag)
  end
end

-- Back to the consuming end of its list (RPUSH), so it is delivered next; the count is kept. An
-- entry whose queue cannot be read is dead-lettered (UNROUTABLE), never left held.
local function restore(tag)
  local raw, q, step, entry = peek(tag)
  if entry == nil then
    -- Settled meanwhile: nothing left to put back.
    redis.call('ZREM', K_INDEX, tag)
    return 0
  end
  if raw == nil or q == nil then
    local now_ms = clock()
    dead_letter(UNROUTABLE, raw or entry, 'UNROUTABLE',
      'held message whose queue cannot be read (delivery tag ' .. tag .. ')', now_ms)
    forget(tag)
    redis.call('HDEL', K_COUNTS, tag)
    return 0
  end
  redis.call('RPUSH', list_key(q, step), raw)
  forget(tag)
  wake(q)
  return 1
end
`;
