/**
 * Atomic fetch: promote due delayed messages, then move up to `max` messages from the priority
 * lists (step order, then queue order, as kombu's BRPOP) into the held bookkeeping, in one step. A
 * process killed at any point either has not taken a message or holds it where recovery finds it.
 * Defined as a function so a batch of acks can fetch replacements in the same call (see SETTLE).
 *
 * `fetch_messages(held, consumer, max, seq, limit, at, uniq, ttl, queues)`: held = the consumer's
 * held zset, seq = first sequence number, limit = delivery limit, at = now as ISO text (dead
 * letters), uniq = unique token, ttl = heartbeat deadline (ms from now).
 *
 * Returns `{ms until the next delayed message is due or -1 (0, not looked up, when all `max` were
 * taken: the loop fetches again at once), dead-lettered, then per message: tag, step, delivery
 * count, queue index (1-based), raw}`.
 *
 * @internal
 */
export const FETCH_FUNCTION = `
-- The delivery tag without decoding the envelope: kombu and we both write properties last, with
-- delivery_info as its one nested object and delivery_tag as its last key. Plain (memchr) finds
-- check that shape first: about a quarter of the cost of the single pattern below, which
-- backtracks. Anything else (other orders, numbers, escapes, a long tail) takes the pattern, then
-- the slow way (decoding it).
local function tag_by_finds(raw)
  local n = #raw
  local d = string.find(raw, '"delivery_tag"', math.max(1, n - 100), true)
  if not d then return nil end
  local dt = string.match(raw, '^"delivery_tag"%s*:%s*"([^"\\\\{}]+)"%s*}%s*}%s*$', d)
  if not dt then return nil end
  -- The first "properties" of the last 600 bytes, as the pattern would find it.
  local p = string.find(raw, '"properties"', math.max(1, n - 599), true)
  if not p or p > d then return nil end
  local _, ob = string.find(raw, '^"properties"%s*:%s*{', p)
  if not ob then return nil end
  -- Between that brace and the tag: exactly one {...} (delivery_info), no other brace.
  local o2 = string.find(raw, '{', ob + 1, true)
  local c2 = string.find(raw, '}', ob + 1, true)
  if not o2 or not c2 or o2 > c2 or c2 > d then return nil end
  local o3 = string.find(raw, '{', o2 + 1, true)
  if o3 and o3 < d then return nil end
  local c3 = string.find(raw, '}', c2 + 1, true)
  if not c3 or c3 < d then return nil end
  return dt
end

local function tag_of(raw)
  local dt = tag_by_finds(raw)
  if dt then return dt end
  dt = string.match(string.sub(raw, -600),
    '"properties"%s*:%s*{[^{}]*{[^{}]*}[^{}]*"delivery_tag"%s*:%s*"([^"\\\\{}]+)"%s*}%s*}%s*$')
  if dt then return dt end
  local ok, env = pcall(cjson.decode, raw)
  if ok and type(env) == 'table' and type(env.properties) == 'table' then
    dt = env.properties.delivery_tag
    if (type(dt) == 'string' and dt ~= '') or type(dt) == 'number' then return tostring(dt) end
  end
  return nil
end

local function fetch_messages(held, consumer, max, seq, limit, at, uniq, ttl, queues)
  local now_ms, now_s = clock()
  redis.call('ZADD', K_CONSUMERS, now_ms + ttl, consumer)
  for _, q in ipairs(queues) do promote(q, now_ms) end

  local out = {0, 0}
  local got, dead = 0, 0

  local function take(raw, qi, q, step)
    local tag = tag_of(raw)
    -- 'raw-' is our own prefix for untagged messages (see forget in the prelude).
    if tag ~= nil and string.sub(tag, 1, 4) == 'raw-' then tag = nil end
    -- kombu's own shape, so a Python worker can restore it: [envelope, exchange, routing_key].
    -- HSETNX: a tag already held means a duplicate envelope, kept apart rather than overwritten.
    local kombu = tag ~= nil and
      redis.call('HSETNX', K_UNACKED, tag, '[' .. raw .. ', "", ' .. cjson.encode(q) .. ']') == 1
    if not kombu then
      tag = 'raw-' .. redis.sha1hex(raw)
      if redis.call('HEXISTS', K_RAW, tag) == 1 then tag = tag .. '-' .. uniq .. '-' .. (seq + got) end
    end
    -- Counted at every fetch, so a message restored by anyone (kombu's visibility restore too)
    -- comes back with its count.
    local count = redis.call('HINCRBY', K_COUNTS, tag, 1)
    if count > limit then
      redis.call('HDEL', K_COUNTS, tag)
      if kombu then redis.call('HDEL', K_UNACKED, tag) end
      dead_letter(q, raw, 'DELIVERY_LIMIT',
        'delivered ' .. (count - 1) .. ' times without being settled (limit ' .. limit .. ')', at)
      dead = dead + 1
      return
    end
    if kombu then
      redis.call('ZADD', K_INDEX, now_s, tag)
    else
      redis.call('HSET', K_RAW, tag, step .. ':' .. #q .. ':' .. q .. raw)
    end
    redis.call('ZADD', held, seq + got, tag)
    got = got + 1
    out[#out + 1] = tag
    out[#out + 1] = step
    out[#out + 1] = count
    out[#out + 1] = qi
    out[#out + 1] = raw
  end

  for _, step in ipairs(STEPS) do
    for qi, q in ipairs(queues) do
      local key = list_key(q, step)
      while got < max do
        local raw = redis.call('RPOP', key)
        if not raw then break end
        take(raw, qi, q, step)
      end
    end
  end

  for _, q in ipairs(queues) do
    if got < max then
      -- Everything is empty: any wake-up tokens left are stale.
      redis.call('DEL', wake_key(q))
    elseif redis.call('EXISTS', wake_key(q)) == 0 then
      -- Maybe more waiting than this consumer could take: make sure a blocked consumer can know.
      -- A token already there wakes the next consumer to block; one left when nothing is waiting
      -- costs that consumer an empty fetch, which clears it. (Cheaper than counting the lists.)
      wake(q)
    end
  end

  -- The time to the next delayed message matters only to a loop that is about to wait.
  local next_due = -1
  if got >= max then
    out[2] = dead
    return out
  end
  for _, q in ipairs(queues) do
    local first = redis.call('ZRANGE', delayed_key(q), 0, 0, 'WITHSCORES')
    if first[2] then
      local wait = tonumber(first[2]) - now_ms
      if wait < 0 then wait = 0 end
      if next_due < 0 or wait < next_due then next_due = wait end
    end
  end
  out[1] = next_due
  out[2] = dead
  return out
end
`;

/**
 * The fetch script. KEYS[6] = the consumer's held zset. ARGV[4] consumer id, [5] max messages,
 * [6] first sequence number, [7] delivery limit, [8] now as ISO text, [9] unique token,
 * [10] heartbeat deadline (ms from now), [11..] queues. Returns what `fetch_messages` returns.
 *
 * @internal
 */
export const FETCH = `${FETCH_FUNCTION}
local queues = {}
for i = 11, #ARGV do queues[#queues + 1] = ARGV[i] end
return fetch_messages(KEYS[6], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]),
  ARGV[8], ARGV[9], tonumber(ARGV[10]), queues)
`;
