/**
 * The queues' part of the Redis script (see `script.ts`): their functions,
 * and their operations in the script's dispatch on the operation.
 *
 * Layout of a queue under prefix `P` (`baton:{q:name}`), besides its lease
 * keys (see `script.ts`):
 * - `P:items` list of encoded items (`v...`), plus one shutdown marker `s`
 *   at the end taken last once the queue is shut down, so blocked getters wake;
 * - `P:slots` list (bounded only): free slots as tokens `1`, only for
 *   blocked putters (one `BLMOVE` per client at a time, counted in
 *   `w:<client>` and `waiters` as a semaphore's acquirers are, see
 *   `script.ts`), plus the marker `s` at its head once shut down, so blocked
 *   putters wake;
 * - `P:meta` hash: kind, maxsize, unfinished, shutdown (0, 1, 2 = immediate),
 *   free (free slots not in `P:slots`: free slots are `free` plus the
 *   tokens in `P:slots`, kept as permits are, see `script.ts`),
 *   debt (slots owed after a dead client's taken items were requeued),
 *   prefetched (sum of `p:<client>`), `p:<client>` (the client's prefetched);
 * - `P:zero` list holding one token while unfinished is 0 (joiners block on it);
 * - `P:proc:<client>` items the client took and has not marked done, oldest
 *   first; its last `p:<client>` items are prefetched and still hold slots
 *   (`unreturn` makes the last handed-out ones prefetched again: items a
 *   closing client kept for a get that never came);
 * - `P:wait:<client>` the item a blocked get just moved, until the client
 *   turns it into a prefetched one;
 * - `P:resv:<client>` slot tokens the client reserved for its next puts.
 *
 * @module
 */

/**
 * Slots, unfinished tasks, the shutdown marker, priority entries, requeueing,
 * and `reap_queue`: what a dead or closed client held goes back.
 */
export const QUEUE_FUNCTIONS = `
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
`;

/**
 * The queues' operations: `elseif` branches of the script's one dispatch on
 * the operation (it starts in `script.ts`): `fetch`, `reserve`, `resv`, `unreserve`,
 * `batch`, `unreturn`, `shutdown`, `info`.
 */
export const QUEUE_OPS = `
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
elseif op == 'resv' then
  -- a blocked put whose connection was cut (its move may have run): the slots this client
  -- holds, and 1 when it took the shutdown marker, which goes back
  local RESV = K('resv:' .. cid)
  local real, marked = 0, 0
  for _, t in ipairs(redis.call('LRANGE', RESV, 0, -1)) do
    if t == MARK then marked = 1 else real = real + 1 end
  end
  if marked == 1 then
    redis.call('LREM', RESV, 0, MARK)
    ensure_marks()
  end
  return {real, marked}
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
      -- items a blocked get moved into WAIT become prefetched items of this client; n = -1:
      -- all of them, returned (a blocked get whose connection was cut: its move may have run)
      local n = tonumber(ARGV[i + 1])
      i = i + 2
      local all = n < 0
      if all then n = redis.call('LLEN', WAIT) end
      for _ = 1, n do
        local v = redis.call('LPOP', WAIT)
        if all and v == MARK then
          ensure_marks()
          v = nil
        end
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
            if pq() or all then moved[#moved + 1] = v end
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
  }`;
