/**
 * Settlement, only for deliveries the consumer still holds (a consumer presumed dead and swept
 * has lost them, so its late ack or requeue must not touch the redelivered copy).
 *
 * KEYS[6] = the consumer's held zset. ARGV[4] = op:
 * - `ack`: ARGV[5..] tags. Returns one 1/0 per tag (0 = no longer held).
 * - `requeue`: ARGV[5] tag, [6] queue, [7] step, [8] delay ms, [9] unique token.
 * - `dead`: ARGV[5] tag, [6] queue, [7] step, [8] reason code, [9] reason message, [10] ISO time.
 * Single-tag ops return 1 when done, 0 when not held, 2 when held but the message had vanished.
 *
 * @internal
 */
export const SETTLE = `
local held, op = KEYS[6], ARGV[4]
if op == 'ack' then
  local out = {}
  for i = 5, #ARGV do
    local tag = ARGV[i]
    if redis.call('ZREM', held, tag) == 1 then
      forget(tag)
      redis.call('HDEL', K_COUNTS, tag)
      out[#out + 1] = 1
    else
      out[#out + 1] = 0
    end
  end
  return out
end

local tag, q, step = ARGV[5], ARGV[6], tonumber(ARGV[7])
if redis.call('ZREM', held, tag) == 0 then return 0 end
local raw = peek(tag)
forget(tag)
if raw == nil then return 2 end
if op == 'requeue' then
  local delay = tonumber(ARGV[8])
  if delay > 0 then
    local now_ms = clock()
    redis.call('ZADD', delayed_key(q), now_ms + delay, step .. '|' .. ARGV[9] .. '|' .. raw)
  else
    -- kombu's requeue: LPUSH, the back of the queue.
    redis.call('LPUSH', list_key(q, step), raw)
  end
  wake(q)
  return 1
end
if op == 'dead' then
  redis.call('HDEL', K_COUNTS, tag)
  redis.call('RPUSH', dead_key(q), cjson.encode({
    queue = q, raw = raw, at = ARGV[10], reason = {code = ARGV[8], message = ARGV[9]}
  }))
  return 1
end
return redis.error_reply('unknown settle op ' .. tostring(op))
`;
