import { FETCH_FUNCTION } from './fetch.js';

/**
 * Settlement, only for deliveries the consumer still holds (a consumer presumed dead and swept
 * has lost them, so its late ack or requeue must not touch the redelivered copy).
 *
 * KEYS[6] = the consumer's held zset. ARGV[4] = op:
 * - `ack`: ARGV[5] = n, ARGV[6..5+n] tags, ARGV[6+n] = how many to fetch in the same step (0 =
 *   none), then when fetching the fetch script's ARGV[4..] (consumer id, max, …, queues). Returns
 *   `{one 1/0 per tag (0 = no longer held), fetch reply or empty}`: the slots the acks free are
 *   filled in the same round trip, as BullMQ's move-to-completed fetches the next job.
 * - `requeue`: ARGV[5] tag, [6] queue, [7] step, [8] delay ms, [9] unique token.
 * - `dead`: ARGV[5] tag, [6] queue, [7] step, [8] reason code, [9] reason message, [10] ISO time.
 * Single-tag ops return 1 when done, 0 when not held, 2 when held but the message had vanished,
 * 3 when dead-lettered and older dead letters were dropped (see `dead_letter` in the prelude).
 *
 * @internal
 */
export const SETTLE = `${FETCH_FUNCTION}
local held, op = KEYS[6], ARGV[4]
if op == 'ack' then
  local acks = {}
  local n = tonumber(ARGV[5])
  for i = 6, 5 + n do
    local tag = ARGV[i]
    if redis.call('ZREM', held, tag) == 1 then
      forget(tag)
      redis.call('HDEL', K_COUNTS, tag)
      acks[#acks + 1] = 1
    else
      acks[#acks + 1] = 0
    end
  end
  local want = tonumber(ARGV[6 + n])
  if want == 0 then return {acks, {}} end
  -- The fetch script's own arguments follow: consumer, max, seq, limit, at, uniq, ttl, queues.
  local f = 7 + n
  local queues = {}
  for i = f + 7, #ARGV do queues[#queues + 1] = ARGV[i] end
  return {acks, fetch_messages(held, ARGV[f], want, tonumber(ARGV[f + 2]), tonumber(ARGV[f + 3]),
    ARGV[f + 4], ARGV[f + 5], tonumber(ARGV[f + 6]), queues)}
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
  -- 3: done, and the oldest dead letters were dropped to keep the list within its cap.
  if dead_letter(q, raw, ARGV[8], ARGV[9], ARGV[10]) > 0 then return 3 end
  return 1
end
return redis.error_reply('unknown settle op ' .. tostring(op))
`;
