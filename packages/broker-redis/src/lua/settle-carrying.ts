import { FETCH_FUNCTION } from './fetch.js';

/**
 * A batch of acks that each run a result write first, for a backend on the same server (see
 * `CarriedStore` in `@celeriac/core/adapter`): stored, then acked, then the freed slots refilled,
 * in one call. `store` is the backend's Lua chunk whose value is `function(keys, args)`.
 *
 * KEYS[6] = the consumer's held zset, KEYS[7..] the writes' keys in order. ARGV[4] = n, then per
 * delivery: tag, key count (-1: no write), arg count, args; then how many to fetch (0 = none) and,
 * when fetching, the fetch script's ARGV[4..] (as `ack` in SETTLE). Returns `{per delivery 1 acked,
 * 0 no longer held, or the error text of a write that failed (then not acked), fetch reply or
 * empty, per delivery the write's reply}`. A write runs even when the delivery is no longer held:
 * the task did run, and a ready state already stored is kept by the write itself.
 *
 * @internal
 */
export function settleCarrying(store: string): string {
  return `${FETCH_FUNCTION}
local carried = (function()
${store}
end)()
local held = KEYS[6]
local n = tonumber(ARGV[4])
local acks, stored = {}, {}
local a, k = 5, 7
for i = 1, n do
  local tag = ARGV[a]
  local nk, na = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  a = a + 3
  local failed = nil
  stored[i] = false
  if nk >= 0 then
    local keys, args = {}, {}
    for j = 1, nk do keys[j] = KEYS[k]; k = k + 1 end
    for j = 1, na do args[j] = ARGV[a]; a = a + 1 end
    local ok, r = pcall(carried, keys, args)
    if ok and type(r) == 'table' and r.err then
      -- An error reply returned rather than raised fails the write all the same.
      failed = tostring(r.err)
    elseif ok then
      if type(r) == 'number' or type(r) == 'string' then stored[i] = r end
    elseif type(r) == 'table' then
      failed = tostring(r.err or 'store failed')
    else
      failed = tostring(r)
    end
  end
  if failed then
    acks[i] = failed
  elseif redis.call('ZREM', held, tag) == 1 then
    forget(tag)
    redis.call('HDEL', K_COUNTS, tag)
    acks[i] = 1
  else
    acks[i] = 0
  end
end
local want = tonumber(ARGV[a])
if want == 0 then return {acks, {}, stored} end
local f = a + 1
local queues = {}
for i = f + 7, #ARGV do queues[#queues + 1] = ARGV[i] end
return {acks, fetch_messages(held, ARGV[f], want, tonumber(ARGV[f + 2]), tonumber(ARGV[f + 3]),
  ARGV[f + 4], ARGV[f + 5], tonumber(ARGV[f + 6]), queues), stored}
`;
}
