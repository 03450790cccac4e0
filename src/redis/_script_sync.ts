/**
 * The part of the Redis script (see `script.ts`) for semaphores, locks and
 * events: their functions, and their operations in the script's dispatch on
 * the operation.
 *
 * Semaphores and locks keep their free permits as a number, so that no
 * operation costs more for more permits (besides the lease keys and the
 * calls counted as blocked, `w:<client>` and `waiters`: see `script.ts`):
 * - `count` in `P:meta`: free permits not in `P:permits`;
 * - `P:permits` list: free permits as tokens `1`, only for blocked acquirers
 *   (their `BLMOVE` takes one, in the order they blocked);
 * - `P:held:<client>` list: one token per permit the client holds;
 * - `P:hand:<client>` list: permits a blocked acquire's `BLMOVE` took, until
 *   its `claim` makes them held (a move whose connection was cut may have
 *   run or not: the claim tells);
 * - `o:<client>` in `P:meta`: permits the reaper gave back while the client
 *   may be alive (its next releases of that many are dropped);
 * - `P:fence` (a lock): the last fencing token.
 *
 * An event keeps `P:flag`, a list holding one token while set.
 *
 * @module
 */

/** `reap_permits`: what a dead or closed client held goes back. */
export const PERMIT_FUNCTIONS = `
local function reap_permits(c, clean)
  local HELD, HAND = K('held:' .. c), K('hand:' .. c)
  local n = redis.call('LLEN', HELD)
  -- permits handed to blocked acquires and not claimed: the client never held them
  local m = redis.call('LLEN', HAND)
  if n + m > 0 then redis.call('HINCRBY', META, 'count', n + m) end
  redis.call('DEL', HELD, HAND)
  helpers()
  H.drop_waits(c, clean)
  redis.call('ZREM', LEASES, c)
  if not clean then
    redis.call('ZADD', REAPED, 'NX', now_ms(), c)
    -- the client may be alive: its next n releases are about the permits given back here
    if n > 0 then redis.call('HINCRBY', META, 'o:' .. c, n) end
  else
    redis.call('ZREM', REAPED, c)
    redis.call('HDEL', META, 'o:' .. c)
  end
  H.settle_tokens(K('permits'), 'count')
  return n
end
`;

/**
 * Locals of the operations below, set before the dispatch starts (a local
 * cannot be declared between its branches).
 */
export const SYNC_LOCALS = `
-- used by the operations below only (no function above takes them as upvalues)
local PERMITS = K('permits')
-- the most free permits a semaphore may have (Number.MAX_SAFE_INTEGER, as locally)
local MAX_PERMITS = 9007199254740991
`;

/**
 * The operations of semaphores, locks and events: `elseif` branches of the
 * script's one dispatch on the operation (it starts in `script.ts`):
 * `release`, `fence`, `set`, `value`, `waiting`, `tryacquire`, `claim`.
 */
export const SYNC_OPS = `
elseif op == 'release' then
  local n, limit = tonumber(ARGV[4]), tonumber(ARGV[5])
  local HELD = K('held:' .. cid)
  local m = redis.call('HMGET', META, 'o:' .. cid, 'kind', 'count', 'waiters')
  -- releases of permits the reaper already gave back (this client looked dead) are dropped,
  -- whether they arrive before or after the client took part again
  local owed = math.min(n, num(m[1]))
  if owed > 0 then
    if redis.call('HINCRBY', META, 'o:' .. cid, -owed) <= 0 then
      redis.call('HDEL', META, 'o:' .. cid)
    end
    n = n - owed
    if n == 0 then return 0 end
  end
  if m[2] == 'lock' and redis.call('LLEN', HELD) == 0 then
    return redis.error_reply('LOCK release of a lock this client does not hold')
  end
  local c, w = num(m[3]), num(m[4])
  -- no acquire counted as blocked: no token (settle_tokens keeps LLEN(permits) <= waiters),
  -- unless the semaphore dates from before free permits were a number (no 'count')
  local t = 0
  if w > 0 or not m[3] then t = redis.call('LLEN', PERMITS) end
  -- free and n are at most MAX_PERMITS each: these differences are exact in Lua's doubles
  local free = c + t
  if limit > 0 and n > limit - free then
    return redis.error_reply('RANGE released too many times: ' .. string.format('%d', free) ..
      ' free of ' .. string.format('%d', limit) .. ', releasing ' .. string.format('%d', n))
  end
  if n > MAX_PERMITS - free then
    return redis.error_reply('RANGE release(' .. string.format('%d', n) ..
      ') would raise the value above Number.MAX_SAFE_INTEGER (' ..
      string.format('%d', MAX_PERMITS) .. '): value ' .. string.format('%d', free))
  end
  -- up to n of the permits this client holds (no more than it holds: LPOP's count)
  if n == 1 then redis.call('LPOP', HELD) else redis.call('LPOP', HELD, n) end
  -- settle_tokens, with what is known: tokens for the blocked acquirers without one
  local k = 0
  if w > t then k = math.min(c + n, w - t) end
  if k > 0 then tokens(PERMITS, k) end
  redis.call('HINCRBY', META, 'count', n - k)
  if t > w then
    helpers()
    H.settle_tokens(PERMITS, 'count')
  end
  return n
elseif op == 'fence' then
  if redis.call('LLEN', K('held:' .. cid)) == 0 then return 0 end
  return redis.call('INCR', K('fence'))
elseif op == 'set' then
  local FLAG = K('flag')
  if redis.call('LLEN', FLAG) == 0 then redis.call('RPUSH', FLAG, '1') end
  return 1
elseif op == 'value' then
  return num(redis.call('HGET', META, 'count')) + redis.call('LLEN', PERMITS)
elseif op == 'waiting' then
  -- ARGV[4]: -1 ends one of this client's blocked acquire calls without a permit; 0 reads
  -- how many are counted as blocked over all clients
  local d = tonumber(ARGV[4])
  if d ~= 0 then
    helpers()
    H.add_waiting(cid, d)
    H.settle()
    return d
  end
  return num(redis.call('HGET', META, 'waiters'))
elseif op == 'tryacquire' then
  -- ARGV[5] '1': without a free permit, this call is counted as blocked in the same step
  -- (it blocks next, and ends with 'claim' or 'waiting -1'): a release that comes before its
  -- BLMOVE makes a token for it.
  -- A client reaped while it looked dead and calling again takes part again first, so the
  -- next reaping does not take back the permit it takes now (its older holds stay given back)
  if redis.call('ZSCORE', REAPED, cid) ~= false then
    redis.call('ZREM', REAPED, cid)
    helpers()
    H.rejoin_waits(cid)
    touch(tonumber(ARGV[4]))
  end
  local HELD = K('held:' .. cid)
  if redis.call('HINCRBY', META, 'count', -1) >= 0 then
    redis.call('RPUSH', HELD, '1')
    return 1
  end
  redis.call('HINCRBY', META, 'count', 1)
  -- tokens made for blocked acquirers whose BLMOVE has not arrived are free permits too
  if redis.call('LMOVE', PERMITS, HELD, 'LEFT', 'RIGHT') then return 1 end
  if ARGV[5] == '1' then
    helpers()
    H.add_waiting(cid, 1)
  end
  return 0
elseif op == 'claim' then
  -- a blocked acquire was handed a permit, or its move was cut on its way: 1 once a permit in
  -- this client's hand is held; 0 with none there (the move did not run, or a reaping, this
  -- client looking dead, gave it back: never held, no release owed); either way the call is
  -- no longer counted as blocked
  if redis.call('ZSCORE', REAPED, cid) ~= false then
    redis.call('ZREM', REAPED, cid)
    helpers()
    H.rejoin_waits(cid)
    touch(tonumber(ARGV[4]))
  end
  helpers()
  H.add_waiting(cid, -1)
  H.settle_tokens(PERMITS, 'count')
  if redis.call('LMOVE', K('hand:' .. cid), K('held:' .. cid), 'LEFT', 'RIGHT') then return 1 end
  return 0`;
