/**
 * The one Lua script that keeps every rule that needs atomicity on the
 * server: the `maxsize` check, `taskDone`, `shutdown`, leases and the reaper.
 * Loaded once per connection (`SCRIPT LOAD`) and called with `EVALSHA`.
 *
 * Call shape: `KEYS[1]` is the primitive's `meta` hash (it routes the call in
 * a cluster: every key of a primitive shares one hash tag), `ARGV[1]` the
 * key prefix, `ARGV[2]` the calling client's id, `ARGV[3]` the operation,
 * the rest its arguments.
 *
 * Layout of a queue under prefix `P` (`baton:{q:name}`):
 * - `P:items` list of encoded items (`v...`), plus one shutdown marker `s`
 *   at the end taken last once the queue is shut down, so blocked getters wake;
 * - `P:slots` list (bounded only): free slots as tokens `1`, only for
 *   blocked putters (one `BLMOVE` per client at a time, counted in
 *   `w:<client>` and `waiters` as a semaphore's acquirers are, below), plus
 *   the marker `s` at its head once shut down, so blocked putters wake;
 * - `P:meta` hash: kind, maxsize, unfinished, shutdown (0, 1, 2 = immediate),
 *   free (free slots not in `P:slots`: free slots are `free` plus the
 *   tokens in `P:slots`, kept as for permits below),
 *   debt (slots owed after a dead client's taken items were requeued),
 *   prefetched (sum of `p:<client>`), `p:<client>` (the client's prefetched);
 * - `P:zero` list holding one token while unfinished is 0 (joiners block on it);
 * - `P:proc:<client>` items the client took and has not marked done, oldest
 *   first; its last `p:<client>` items are prefetched and still hold slots
 *   (`unreturn` makes the last handed-out ones prefetched again: items a
 *   closing client kept for a get that never came);
 * - `P:wait:<client>` the item a blocked get just moved, until the client
 *   turns it into a prefetched one;
 * - `P:resv:<client>` slot tokens the client reserved for its next puts;
 * - `P:leases` sorted set: client id → lease end, in server milliseconds; a
 *   reaped client stays in it and is reaped again every lease (a blocked
 *   command of a frozen client can still move something into its lists)
 *   until it revives, closes, or is forgotten with its `P:reaped` entry;
 * - `P:reaped` sorted set: clients reaped while maybe alive → when; until such a
 *   client revives, its acknowledgements about requeued items are dropped.
 *
 * Semaphores and locks keep their free permits as a number, so that no
 * operation costs more for more permits:
 * - `count` in `P:meta`: free permits not in `P:permits`;
 * - `P:permits` list: free permits as tokens `1`, only for blocked acquirers
 *   (their `BLMOVE` takes one, in the order they blocked);
 * - `w:<client>` in `P:meta`: the client's acquire calls counted as blocked
 *   (from a failed try to the end of its wait); `waiters` in `P:meta`: their
 *   sum over clients; `v:<client>`: the count of a client reaped while it
 *   may be alive, set aside (it draws no tokens) until it takes part again;
 * - `P:held:<client>` list: one token per permit the client holds;
 * - `o:<client>` in `P:meta`: permits the reaper gave back while the client
 *   may be alive (its next releases of that many are dropped);
 * - `P:fence` (a lock): the last fencing token.
 *
 * Free permits are `count + LLEN(P:permits)`. After every operation of the
 * script `LLEN(P:permits) <= waiters`, and `count` is 0 unless
 * `LLEN(P:permits) == waiters` (`settle_tokens`); so with no acquire
 * counted as blocked the list is empty. Between a `BLMOVE` that took a token
 * and that call's `claim`, `waiters` still counts it. The same holds for
 * free slots with `free`, `P:slots` (its tokens, without the marker) and a
 * queue's `waiters`, whose calls end with a batch `U`.
 *
 * @module
 */

/** The marker a shut-down queue keeps in its lists: the script's `MARK` (see above). */
export const MARK = "s";

export const SCRIPT = `
local META = KEYS[1]
local base, cid, op = ARGV[1], ARGV[2], ARGV[3]
local function K(s) return base .. ':' .. s end
local ITEMS, SLOTS, ZERO, LEASES = K('items'), K('slots'), K('zero'), K('leases')
-- clients reaped while they may still be alive, by when; forgotten after a day
local REAPED = K('reaped')
local FORGET_MS = 86400000
local MARK = 's'

local function num(v) return tonumber(v or '0') or 0 end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function kind() return redis.call('HGET', META, 'kind') end
local function shut() return num(redis.call('HGET', META, 'shutdown')) end
local function lifo() return kind() == 'lifo' end
local function pq() return kind() == 'pq' end
-- the list blocked getters wait on and the shutdown marker lives in: the items
-- themselves, or for a priority queue one token per item in its sorted set
local function bell() if pq() then return K('bell') end return ITEMS end
local function bounded() return num(redis.call('HGET', META, 'maxsize')) > 0 end

local function push_many(key, values, left)
  local cmd = left and 'LPUSH' or 'RPUSH'
  local chunk = {}
  for i = 1, #values do
    chunk[#chunk + 1] = values[i]
    if #chunk == 1000 then redis.call(cmd, key, unpack(chunk)); chunk = {} end
  end
  if #chunk > 0 then redis.call(cmd, key, unpack(chunk)) end
end

local function tokens(key, n)
  local t = {}
  for i = 1, n do t[i] = '1' end
  push_many(key, t, false)
end

-- Free permits and free slots (see the layout above): a number, and list tokens only for the
-- calls counted as blocked (acquires; puts of a bounded queue).
-- The helpers below, in H, are made by helpers() on first use: the script makes every function
-- of its prologue anew on each call, and each local a function uses makes the ones after it
-- cost more, while a semaphore's common try-acquire and release need none of them.
local H = {}
local function helpers()
  if H.settle_tokens then return end
  local PERMITS = K('permits')
  -- Makes tokens, from the number in field, for the calls counted as blocked that have none,
  -- and puts tokens nobody counted waits for back into the number. Costs the number of tokens
  -- moved: at most the number of blocked calls, plus the surplus of one that stopped.
  H.settle_tokens = function(list, field)
    local w = num(redis.call('HGET', META, 'waiters'))
    local t = redis.call('LLEN', list)
    -- the shutdown marker at the head of the slots is no token
    if t > 0 and list == SLOTS and redis.call('LINDEX', SLOTS, 0) == MARK then t = t - 1 end
    if t == w then return end
    local c = num(redis.call('HGET', META, field))
    if t < w and c > 0 then
      local k = math.min(c, w - t)
      tokens(list, k)
      redis.call('HINCRBY', META, field, -k)
    elseif t > w then
      -- from the tail: the shutdown marker stays at the head
      redis.call('RPOP', list, t - w)
      redis.call('HINCRBY', META, field, t - w)
    end
  end
  H.settle = function()
    local k = kind()
    if k == 'fifo' or k == 'lifo' or k == 'pq' then
      if bounded() then H.settle_tokens(SLOTS, 'free') end
    else
      H.settle_tokens(PERMITS, 'count')
    end
  end

  -- Client c's calls counted as blocked change by d. While c is reaped (it may be alive) they
  -- are kept in v:<c>, draw no tokens and are not in 'waiters'. A field is dropped at 0; one
  -- below 0 is a late end of a wait the server no longer counts (the client closed, or was
  -- forgotten): 'waiters' follows the positive fields only. The caller settles.
  H.add_waiting = function(c, d)
    local live = redis.call('ZSCORE', REAPED, c) == false
    local field = (live and 'w:' or 'v:') .. c
    local n = redis.call('HINCRBY', META, field, d)
    if n <= 0 then redis.call('HDEL', META, field) end
    if live then
      local after = 0
      if n > 0 then after = n end
      local change = after - (n - d)
      if change ~= 0 then redis.call('HINCRBY', META, 'waiters', change) end
    end
  end

  -- Client c takes part again (it is no longer in REAPED): its waits count again.
  H.rejoin_waits = function(c)
    local v = num(redis.call('HGET', META, 'v:' .. c))
    if v > 0 then
      redis.call('HDEL', META, 'v:' .. c)
      redis.call('HINCRBY', META, 'w:' .. c, v)
      redis.call('HINCRBY', META, 'waiters', v)
      H.settle()
    end
  end

  -- Client c is reaped: its waits no longer count; set aside while it may be alive, dropped
  -- when it closed. The caller settles.
  H.drop_waits = function(c, clean)
    local w = num(redis.call('HGET', META, 'w:' .. c))
    if w > 0 then
      redis.call('HDEL', META, 'w:' .. c)
      redis.call('HINCRBY', META, 'waiters', -w)
      if not clean then redis.call('HINCRBY', META, 'v:' .. c, w) end
    end
    if clean then redis.call('HDEL', META, 'v:' .. c) end
  end
end

-- Gives n slots back: first pays the debt, then to blocked putters and the free number.
local function release_slots(n)
  if n <= 0 or not bounded() then return end
  local debt = num(redis.call('HGET', META, 'debt'))
  local paid = math.min(debt, n)
  if paid > 0 then redis.call('HINCRBY', META, 'debt', -paid) end
  if n > paid then
    redis.call('HINCRBY', META, 'free', n - paid)
    helpers()
    H.settle_tokens(SLOTS, 'free')
  end
end

local function add_unfinished(n)
  if n == 0 then return num(redis.call('HGET', META, 'unfinished')) end
  local u = redis.call('HINCRBY', META, 'unfinished', n)
  if u == 0 then
    if redis.call('LLEN', ZERO) == 0 then redis.call('RPUSH', ZERO, '1') end
  elseif u == n then
    redis.call('DEL', ZERO)
  end
  return u
end

-- The marker sits at the end of items taken last, and at the head of slots.
local function ensure_marks()
  if shut() == 0 then return end
  if lifo() then
    if redis.call('LINDEX', ITEMS, 0) ~= MARK then redis.call('LPUSH', ITEMS, MARK) end
  else
    if redis.call('LINDEX', bell(), -1) ~= MARK then redis.call('RPUSH', bell(), MARK) end
  end
  if bounded() and redis.call('LINDEX', SLOTS, 0) ~= MARK then redis.call('LPUSH', SLOTS, MARK) end
end

local function marked_items()
  if shut() == 0 then return 0 end
  local far = lifo() and 0 or -1
  if redis.call('LINDEX', bell(), far) == MARK then return 1 end
  return 0
end

-- Puts items back where the next get takes from, first taken first out again.
-- Appends to a FIFO list, keeping a shutdown marker at its end.
local function append(key, values)
  local mark = shut() > 0 and redis.call('LINDEX', key, -1) == MARK
  if mark then redis.call('RPOP', key) end
  push_many(key, values, false)
  if mark then redis.call('RPUSH', key, MARK) end
end

local function seq16(n) return string.format('%016d', n) end

-- Priority queue entries: put as 'score|v...', kept in the sorted set as
-- member 'seq v...' (equal scores: insertion order), taken as 'score|seq v...'.
local function pq_add(entries, fresh)
  local first = 0
  if fresh then first = redis.call('HINCRBY', META, 'seq', #entries) - #entries end
  local ones = {}
  for j, e in ipairs(entries) do
    local bar = string.find(e, '|', 1, true)
    local score, rest = string.sub(e, 1, bar - 1), string.sub(e, bar + 1)
    if fresh then rest = seq16(first + j) .. rest end
    redis.call('ZADD', ITEMS, score, rest)
    ones[j] = '1'
  end
  append(K('bell'), ones)
end

local function pq_pop(n)
  local out = {}
  if n <= 0 then return out end
  local got = redis.call('ZPOPMIN', ITEMS, n)
  for j = 1, #got, 2 do out[#out + 1] = got[j + 1] .. '|' .. got[j] end
  return out
end

local function requeue(values)
  if #values == 0 then return end
  if pq() then return pq_add(values, false) end
  local reversed = {}
  for i = #values, 1, -1 do reversed[#reversed + 1] = values[i] end
  if lifo() then push_many(ITEMS, reversed, false) else push_many(ITEMS, reversed, true) end
end

-- A client is gone: dead (clean = false) or closed (clean = true).
local function reap_queue(c, clean)
  local PROC, WAIT, RESV = K('proc:' .. c), K('wait:' .. c), K('resv:' .. c)
  local pf = num(redis.call('HGET', META, 'p:' .. c))
  local taken = redis.call('LRANGE', PROC, 0, -1)
  local returned = #taken - pf
  local back = {}
  local first = 1
  if clean then first = returned + 1 end
  for i = first, #taken do back[#back + 1] = taken[i] end
  for _, v in ipairs(redis.call('LRANGE', WAIT, 0, -1)) do
    if v ~= MARK then
      -- a priority queue's token goes back to the bell; its item never left the set
      if pq() then append(K('bell'), {v}) else back[#back + 1] = v end
    end
  end
  local owed = 0
  if not clean then owed = returned end
  if shut() == 2 then
    add_unfinished(-#back)
    release_slots(#back - owed)
  else
    requeue(back)
    if owed > 0 and bounded() then redis.call('HINCRBY', META, 'debt', owed) end
  end
  local real = 0
  for _, t in ipairs(redis.call('LRANGE', RESV, 0, -1)) do
    if t ~= MARK then real = real + 1 end
  end
  release_slots(real)
  redis.call('DEL', PROC, WAIT, RESV)
  redis.call('HDEL', META, 'p:' .. c, 'x:' .. c)
  if pf > 0 then redis.call('HINCRBY', META, 'prefetched', -pf) end
  helpers()
  H.drop_waits(c, clean)
  if bounded() then H.settle_tokens(SLOTS, 'free') end
  ensure_marks()
  redis.call('ZREM', LEASES, c)
  if not clean then redis.call('ZADD', REAPED, 'NX', now_ms(), c) end
  return #back
end

local function reap_permits(c, clean)
  local HELD = K('held:' .. c)
  local n = redis.call('LLEN', HELD)
  if n > 0 then redis.call('HINCRBY', META, 'count', n) end
  redis.call('DEL', HELD)
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

local function reap(c, clean)
  local k = kind()
  if k == 'fifo' or k == 'lifo' or k == 'pq' then return reap_queue(c, clean) end
  return reap_permits(c, clean)
end

-- A client whose lease ran out was reaped (it is in REAPED): what it held is back, so
-- its later hand-outs and taskDones are about requeued items, until it revives.
local function alive()
  return redis.call('ZSCORE', LEASES, cid) ~= false and
    redis.call('ZSCORE', REAPED, cid) == false
end

local function touch(lease)
  local now = now_ms()
  local added = redis.call('ZADD', LEASES, now + lease, cid)
  local flagged = 0
  if redis.call('ZSCORE', REAPED, cid) ~= false then flagged = 1 end
  for _, c in ipairs(redis.call('ZRANGEBYSCORE', REAPED, '-inf', '(' .. (now - FORGET_MS))) do
    redis.call('HDEL', META, 'o:' .. c, 'v:' .. c)
    -- reaped a day ago and never back: no longer watched
    if c ~= cid then redis.call('ZREM', LEASES, c) end
  end
  redis.call('ZREMRANGEBYSCORE', REAPED, '-inf', '(' .. (now - FORGET_MS))
  local dead = redis.call('ZRANGEBYSCORE', LEASES, '-inf', '(' .. now)
  local reaped = 0
  for _, c in ipairs(dead) do
    if c ~= cid then
      reap(c, false)
      -- A frozen client's connections stay open: a get, put or acquire it had blocked on
      -- the server can still move an item, slot or permit into its lists. Watch it: it is
      -- reaped again every lease until it revives, closes, or is forgotten.
      redis.call('ZADD', LEASES, now + lease, c)
      reaped = reaped + 1
    end
  end
  return {flagged, reaped}
end

-- used by the operations below only (no function above takes them as upvalues)
local PERMITS = K('permits')
-- the most free permits a semaphore may have (Number.MAX_SAFE_INTEGER, as locally)
local MAX_PERMITS = 9007199254740991

if op == 'init' then
  local k, size, lease = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
  local have = kind()
  if not have then
    redis.call('HSET', META, 'kind', k, 'maxsize', size, 'unfinished', 0, 'shutdown', 0,
      'debt', 0, 'prefetched', 0)
    if k == 'fifo' or k == 'lifo' or k == 'pq' then
      redis.call('RPUSH', ZERO, '1')
      if size > 0 then redis.call('HSET', META, 'free', size, 'waiters', 0) end
    else
      redis.call('HSET', META, 'count', size, 'waiters', 0)
    end
  elseif have ~= k or num(redis.call('HGET', META, 'maxsize')) ~= size then
    return redis.error_reply('baton: ' .. base .. ' exists as ' .. have .. ' of size ' ..
      redis.call('HGET', META, 'maxsize') .. ', not ' .. k .. ' of size ' .. size)
  end
  touch(lease)
  return shut()
elseif op == 'touch' then
  return touch(tonumber(ARGV[4]))
elseif op == 'close' then
  redis.call('ZREM', REAPED, cid)
  return reap(cid, true)
elseif op == 'revive' then
  -- the client has dropped what it held before it was reaped
  redis.call('ZREM', REAPED, cid)
  helpers()
  H.rejoin_waits(cid)
  return touch(tonumber(ARGV[4]))
elseif op == 'fetch' then
  local n = tonumber(ARGV[4])
  local s = shut()
  if not alive() then return {s, 1} end
  local out = {s, 0}
  if s == 2 then return out end
  local vs
  if lifo() then vs = redis.call('RPOP', ITEMS, n) else vs = redis.call('LPOP', bell(), n) end
  if not vs then return out end
  local got = {}
  for _, v in ipairs(vs) do
    if v == MARK then
      if lifo() then redis.call('LPUSH', ITEMS, MARK) else redis.call('RPUSH', bell(), MARK) end
      break
    end
    got[#got + 1] = v
  end
  if pq() then got = pq_pop(#got) end
  for _, v in ipairs(got) do out[#out + 1] = v end
  if #got > 0 then
    push_many(K('proc:' .. cid), got, false)
    redis.call('HINCRBY', META, 'p:' .. cid, #got)
    redis.call('HINCRBY', META, 'prefetched', #got)
  end
  return out
elseif op == 'reserve' then
  local n = tonumber(ARGV[4])
  if shut() > 0 then return -1 end
  if not alive() then return -2 end
  if not bounded() then return n end
  local k = math.min(n, num(redis.call('HGET', META, 'free')))
  if k > 0 then redis.call('HINCRBY', META, 'free', -k) end
  if k < n then
    -- tokens made for blocked putters whose BLMOVE has not arrived are free slots too (and
    -- the queue is not shut down: no marker)
    local got = redis.call('LPOP', SLOTS, n - k)
    if got then k = k + #got end
  end
  if k > 0 then
    tokens(K('resv:' .. cid), k)
  elseif ARGV[5] == '1' then
    helpers()
    -- none: this client's put blocks next (BLMOVE on the slots), counted in the same step so
    -- that a slot freed before its BLMOVE makes a token for it; it ends with a batch 'U'
    H.add_waiting(cid, 1)
  end
  return k
elseif op == 'unreserve' then
  local n = tonumber(ARGV[4])
  local RESV = K('resv:' .. cid)
  local real = 0
  local vs = redis.call('LPOP', RESV, n)
  if vs then
    for _, t in ipairs(vs) do if t ~= MARK then real = real + 1 end end
  end
  release_slots(real)
  ensure_marks()
  return real
elseif op == 'batch' then
  -- ARGV from 4: 'W' n | 'm' | 'M' | 'U' n | 'P' n v1..vn | 'R' n | 'D' n, in that order
  -- (see batch.ts)
  local PROC, WAIT, RESV = K('proc:' .. cid), K('wait:' .. cid), K('resv:' .. cid)
  local PF = 'p:' .. cid
  local failed = 0
  local moved = {}
  -- a reaped client's hand-outs and taskDones are about items already requeued: drop them
  local live = alive()
  local i = 4
  while i <= #ARGV do
    local o = ARGV[i]
    if o == 'W' and not live then
      i = i + 2
      local back = {}
      for _, v in ipairs(redis.call('LRANGE', WAIT, 0, -1)) do
        if v == MARK then ensure_marks()
        elseif pq() then append(K('bell'), {v})
        else back[#back + 1] = v end
      end
      requeue(back)
      redis.call('DEL', WAIT)
    elseif (o == 'R' or o == 'D') and not live then
      i = i + 2
    elseif o == 'W' then
      -- items a blocked get moved into WAIT become prefetched items of this client
      local n = tonumber(ARGV[i + 1])
      i = i + 2
      for _ = 1, n do
        local v = redis.call('LPOP', WAIT)
        if v and pq() then v = pq_pop(1)[1] end
        if v then
          if shut() == 2 then
            add_unfinished(-1)
            release_slots(1)
          else
            redis.call('RPUSH', PROC, v)
            redis.call('HINCRBY', META, PF, 1)
            redis.call('HINCRBY', META, 'prefetched', 1)
            -- a priority queue's blocked get moved a token; the client learns its item here
            if pq() then moved[#moved + 1] = v end
          end
        end
      end
    elseif o == 'm' then
      i = i + 1
      redis.call('LREM', WAIT, 0, MARK)
      ensure_marks()
    elseif o == 'M' then
      i = i + 1
      redis.call('LREM', RESV, 0, MARK)
      ensure_marks()
    elseif o == 'U' then
      -- n blocked waits for a slot ended (with a slot, the marker or nothing)
      local n = tonumber(ARGV[i + 1])
      i = i + 2
      helpers()
      H.add_waiting(cid, -n)
      if bounded() then H.settle_tokens(SLOTS, 'free') end
    elseif o == 'P' then
      local n = tonumber(ARGV[i + 1])
      local values = {}
      for j = 1, n do values[j] = ARGV[i + 1 + j] end
      i = i + 2 + n
      local s = shut()
      if bounded() then
        local got = redis.call('LPOP', RESV, n)
        local t = 0
        if got then t = #got end
        -- a put whose reserved slot a reaper took back (this client looked dead) still counts
        if t < n then redis.call('HINCRBY', META, 'debt', n - t) end
        if s == 2 then release_slots(n) end
      end
      if s ~= 2 then
        if pq() then
          pq_add(values, true)
        elseif lifo() then
          push_many(ITEMS, values, false)
        else
          append(ITEMS, values)
        end
        add_unfinished(n)
      end
    elseif o == 'R' then
      local n = tonumber(ARGV[i + 1])
      i = i + 2
      local k = math.min(n, num(redis.call('HGET', META, PF)))
      if k > 0 then
        redis.call('HINCRBY', META, PF, -k)
        redis.call('HINCRBY', META, 'prefetched', -k)
        release_slots(k)
      end
      -- handed out before this client saw shutdown(true) discard them: taken after all
      local late = math.min(n - k, num(redis.call('HGET', META, 'x:' .. cid)))
      if late > 0 then
        redis.call('HINCRBY', META, 'x:' .. cid, -late)
        add_unfinished(late)
      end
    elseif o == 'D' then
      local n = tonumber(ARGV[i + 1])
      i = i + 2
      local ok = math.min(n, num(redis.call('HGET', META, 'unfinished')))
      failed = failed + n - ok
      if ok > 0 then
        add_unfinished(-ok)
        local returned = redis.call('LLEN', PROC) - num(redis.call('HGET', META, PF))
        local pops = math.min(ok, returned)
        if pops > 0 then redis.call('LPOP', PROC, pops) end
      end
    else
      return redis.error_reply('baton: unknown batch op ' .. tostring(o))
    end
  end
  local reaped = 0
  if not live then reaped = 1 end
  local reply = {shut(), failed, reaped}
  for _, v in ipairs(moved) do reply[#reply + 1] = v end
  return reply
elseif op == 'unreturn' then
  -- the last n items this client handed out were never seen (kept for a next get that
  -- will not come): they become prefetched again, so a clean close requeues them
  local n = tonumber(ARGV[4])
  local PF = 'p:' .. cid
  if not alive() then return 0 end
  if shut() == 2 then
    -- shutdown(true) discards what is queued: these are discarded too, their tasks done
    -- (the close that follows drops this client's processing list)
    local k = math.min(n, num(redis.call('HGET', META, 'unfinished')))
    add_unfinished(-k)
    return k
  end
  local returned = redis.call('LLEN', K('proc:' .. cid)) - num(redis.call('HGET', META, PF))
  local k = math.min(n, returned)
  if k <= 0 then return 0 end
  redis.call('HINCRBY', META, PF, k)
  redis.call('HINCRBY', META, 'prefetched', k)
  if bounded() then
    -- they hold slots again: free ones first (the number, then tokens from the tail: the
    -- shutdown marker sits at the head), owed otherwise
    local took = math.min(k, num(redis.call('HGET', META, 'free')))
    if took > 0 then redis.call('HINCRBY', META, 'free', -took) end
    while took < k and redis.call('LINDEX', SLOTS, -1) == '1' do
      redis.call('RPOP', SLOTS)
      took = took + 1
    end
    if took < k then redis.call('HINCRBY', META, 'debt', k - took) end
  end
  return k
elseif op == 'shutdown' then
  local want = 1
  if ARGV[4] == '1' then want = 2 end
  if want > shut() then redis.call('HSET', META, 'shutdown', want) end
  ensure_marks()
  if want == 2 then
    local n = redis.call('LLEN', bell()) - 1
    if n > 0 then
      if lifo() then redis.call('LTRIM', ITEMS, 0, 0) else redis.call('LTRIM', bell(), -1, -1) end
      if pq() then redis.call('DEL', ITEMS) end
      add_unfinished(-n)
      release_slots(n)
    end
    for _, c in ipairs(redis.call('ZRANGE', LEASES, 0, -1)) do
      local pf = num(redis.call('HGET', META, 'p:' .. c))
      if pf > 0 then
        redis.call('LTRIM', K('proc:' .. c), 0, -(pf + 1))
        redis.call('HSET', META, 'p:' .. c, 0)
        redis.call('HINCRBY', META, 'x:' .. c, pf)
        redis.call('HINCRBY', META, 'prefetched', -pf)
        add_unfinished(-pf)
        release_slots(pf)
      end
    end
  end
  return shut()
elseif op == 'info' then
  local free = 0
  if bounded() then
    free = num(redis.call('HGET', META, 'free')) + redis.call('LLEN', SLOTS)
    if redis.call('LINDEX', SLOTS, 0) == MARK then free = free - 1 end
  end
  return {
    redis.call('LLEN', bell()) - marked_items(),
    num(redis.call('HGET', META, 'prefetched')),
    num(redis.call('HGET', META, 'unfinished')),
    shut(),
    free,
  }
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
  -- a blocked acquire was handed a permit: 1 if this client still holds it, 0 if a reaping
  -- (this client looked dead) gave it back, and then its release is not owed; either way
  -- the call is no longer counted as blocked
  if redis.call('ZSCORE', REAPED, cid) ~= false then
    redis.call('ZREM', REAPED, cid)
    helpers()
    H.rejoin_waits(cid)
    touch(tonumber(ARGV[4]))
  end
  helpers()
  H.add_waiting(cid, -1)
  H.settle_tokens(PERMITS, 'count')
  if redis.call('LLEN', K('held:' .. cid)) > 0 then return 1 end
  if redis.call('HINCRBY', META, 'o:' .. cid, -1) <= 0 then redis.call('HDEL', META, 'o:' .. cid) end
  return 0
end
return redis.error_reply('baton: unknown operation ' .. tostring(op))
`;
