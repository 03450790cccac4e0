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
 * It is one script (one `SCRIPT LOAD`, one `EVALSHA` per call), written in
 * parts, each beside the layout and invariants it keeps: this module holds
 * what every primitive shares (the prologue, the leases and the reaper, the
 * operations every client calls), `_script_queue.ts` the queues' part and
 * `_script_sync.ts` the part of semaphores, locks and events. A Lua local is
 * seen only by the code after it, so {@linkcode SCRIPT} puts the parts
 * together in this order: the prologue, the queue functions, the permit
 * functions, the leases (whose reaper calls both), then the one dispatch on
 * the operation: the operations of every client, of queues, of semaphores.
 *
 * Kept for every primitive under prefix `P` (a queue's, a semaphore's, a
 * lock's or an event's; its other keys are in its part):
 * - `P:leases` sorted set: client id → lease end, in server milliseconds; a
 *   reaped client stays in it and is reaped again every lease (a blocked
 *   command of a frozen client can still move something into its lists)
 *   until it revives, closes, or is forgotten with its `P:reaped` entry;
 * - `P:reaped` sorted set: clients reaped while maybe alive → when; until such a
 *   client revives, its acknowledgements about requeued items are dropped;
 * - `w:<client>` in `P:meta`: the client's calls counted as blocked (a
 *   semaphore's acquires, a bounded queue's puts; from a failed try to the
 *   end of its wait); `waiters` in `P:meta`: their sum over clients;
 *   `v:<client>`: the count of a client reaped while it may be alive, set
 *   aside (it draws no tokens) until it takes part again.
 *
 * Free permits are `count + LLEN(P:permits)` (see `_script_sync.ts`). After
 * every operation of the script `LLEN(P:permits) <= waiters`, and `count` is
 * 0 unless `LLEN(P:permits) == waiters` (`settle_tokens`); so with no
 * acquire counted as blocked the list is empty. Between a `BLMOVE` that took a token
 * and that call's `claim`, `waiters` still counts it. The same holds for
 * free slots with `free`, `P:slots` (its tokens, without the marker) and a
 * queue's `waiters`, whose calls end with a batch `U`.
 *
 * @module
 */

import { QUEUE_FUNCTIONS, QUEUE_OPS } from "./_script_queue.ts";
import { PERMIT_FUNCTIONS, SYNC_LOCALS, SYNC_OPS } from "./_script_sync.ts";

/** The marker a shut-down queue keeps in its lists: the script's `MARK` (see `_script_queue.ts`). */
export const MARK = "s";

/**
 * Names, small readers, and the helpers that keep free permits and free
 * slots as a number plus tokens for the calls counted as blocked.
 */
const PROLOGUE = `
local META = KEYS[1]
-- the last three arguments name the setup the client knows (see EPOCH) and number the call
-- (see ONCE): taken off before the operation reads its own
local acked = tonumber(table.remove(ARGV))
local seq = tonumber(table.remove(ARGV))
local epoch = table.remove(ARGV)
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
`;

/**
 * The leases: `reap` gives back what a dead or closed client held, `alive`
 * tells whether the calling client was reaped, `touch` refreshes its lease
 * and reaps the clients whose lease ran out.
 */
const LEASES = `
-- drops what client c's calls left to answer again (see ONCE): the fields of its entries kept whole
local function forget_once(c)
  local field = 'once:' .. c
  local record = redis.call('HGET', META, field)
  if not record then return end
  local fields = {field}
  local first = true
  for t in string.gmatch(record, '%S+') do
    if not first and string.match(t, '^%d+$') then fields[#fields + 1] = field .. ':' .. t end
    first = false
  end
  redis.call('HDEL', META, unpack(fields))
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
    forget_once(c)
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
`;

/**
 * The start of the dispatch on the operation: the operations every client
 * calls on any primitive (`init`, `touch`, `close`, `revive`).
 */
const CLIENT_OPS = `
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
  -- this setup's name (see EPOCH): made with it, or on the first init since epochs exist
  local e = redis.call('HGET', META, 'epoch')
  if not e then
    local t = redis.call('TIME')
    e = t[1] .. '.' .. t[2]
    redis.call('HSET', META, 'epoch', e)
  end
  touch(lease)
  return {shut(), e}
elseif op == 'touch' then
  return touch(tonumber(ARGV[4]))
elseif op == 'close' then
  redis.call('ZREM', REAPED, cid)
  forget_once(cid)
  return reap(cid, true)
elseif op == 'revive' then
  -- the client has dropped what it held before it was reaped
  redis.call('ZREM', REAPED, cid)
  helpers()
  H.rejoin_waits(cid)
  return touch(tonumber(ARGV[4]))`;

/** The end of the dispatch: an operation no part knows is an error. */
const END = `
end
return redis.error_reply('baton: unknown operation ' .. tostring(op))
`;

/**
 * A primitive's setup is named by `epoch` in `P:meta`, made by the `init`
 * that sets it up (the server's time). Each call carries the epoch its
 * client got from its `init`. A different one or none means the server lost
 * the primitive's keys since (a restart without persistence, a `FLUSHALL`)
 * and maybe set it up again for another client: what this client held or
 * counted there is gone, so the call does not run and answers `LOST`; the
 * client reports it (`StateLost`) and calls `init` again with the options
 * its program declared. An event keeps no setup (`set`).
 */
const EPOCH = `
if op ~= 'init' and op ~= 'set' and redis.call('HGET', META, 'epoch') ~= epoch then
  -- a closing client holds nothing on a setup it never joined
  if op == 'close' then return 0 end
  return redis.error_reply('LOST the Redis server lost ' .. base ..
    ' (restarted without persistence, or its keys were deleted): its items, counts and holds are gone')
end
`;

/**
 * Each operation runs once, though the client sends it again: a connection
 * cut after the server ran a call and before its reply arrived makes the
 * client's connection send it again once it is back. The client numbers its
 * calls (`seq`) and tells with each the highest number it has the reply of
 * (`acked`, replies come in order). For the operations that change what
 * they would answer if run twice, `P:meta` keeps, per client, in
 * `once:<client>` the number of its latest call run on the primitive
 * followed by an entry for each reply it may still ask for again (the calls
 * after `acked`). A call numbered at most the latest run is answered from
 * its entry instead of running again. Dropped when the client closes, or is
 * forgotten a day after it was reaped (`forget_once`).
 *
 * An entry is the call's number, then what answers it again:
 * - nothing: the reply, packed, is in `once:<client>:<seq>`;
 * - `b<shut>,<failed>,<reaped>`: a `batch` that moved no item, whose reply
 *   is these three numbers;
 * - `f<shut>,<reaped>,<k>`: a `fetch` that answered `{shut, reaped}` and the
 *   `k` items it pushed to the tail of `P:proc:<client>`. Its reply is not
 *   copied: it is rebuilt as `{shut, reaped}` and the last `k` items of that
 *   list. They are the same items, in the same order, while the server has
 *   neither discarded them (`shutdown(true)`) nor given them back (a reaper),
 *   because nothing else takes them from there or pushes after them until
 *   the client has the fetch's reply: the client has one fetch or claim (a
 *   `batch` with `W`) of a queue in flight at a time, and sends its batched
 *   ops before each (`consumer.ts`), so no later call of its own pushes to
 *   the list; a later `R` counts only items it got before, so the first
 *   `LLEN - p` items, the handed-out ones a `D` pops, stay before the
 *   fetched ones. Once `shutdown(true)` discarded them (shut is 2 for good)
 *   or a reaper gave them back (the list was deleted, and nothing was pushed
 *   since: fewer than `k` items), they are no longer the client's: the fetch
 *   runs now instead, and its reply (reaped, shut down, or a window taken
 *   anew) is one a fetch that ran only then gives, which the client, never
 *   having seen the first, cannot tell apart; the server state is that of
 *   a fetch run then, since the reaper gave the first window back to the
 *   head of the queue in order, or the shutdown discarded it with the rest.
 */
const ONCE = `
${EPOCH}
local RERUN = {batch = true, fetch = true, reserve = true, unreserve = true, unreturn = true,
  tryacquire = true, claim = true, release = true, waiting = true, fence = true}
if not RERUN[op] then return dispatch() end
local field = 'once:' .. cid
local last, kept, rerun = 0, {}, false
local record = redis.call('HGET', META, field)
if record then
  local first, acknowledged = true, {}
  for t in string.gmatch(record, '%S+') do
    if first then
      last = tonumber(t)
      first = false
    else
      local s, tag, rest = string.match(t, '^(%d+)(%a?)(.*)$')
      local n = tonumber(s)
      if n == seq then
        if tag == '' then return cmsgpack.unpack(redis.call('HGET', META, field .. ':' .. s)) end
        local a, b, c = string.match(rest, '^(%d+),(%d+),(%d+)$')
        a, b, c = tonumber(a), tonumber(b), tonumber(c)
        if tag == 'b' then return {a, b, c} end
        -- a fetch: rebuilt from the items it took while this client holds them (see above)
        if c == 0 then return {a, b} end
        local PROC = K('proc:' .. cid)
        if shut() < 2 and redis.call('LLEN', PROC) >= c then
          local reply = {a, b}
          for _, v in ipairs(redis.call('LRANGE', PROC, -c, -1)) do reply[#reply + 1] = v end
          return reply
        end
        rerun = true
      elseif n > acked then
        kept[#kept + 1] = t
      elseif tag == '' then
        acknowledged[#acknowledged + 1] = field .. ':' .. s
      end
    end
  end
  if #acknowledged > 0 then redis.call('HDEL', META, unpack(acknowledged)) end
end
if seq <= last and not rerun then
  return redis.error_reply('baton: call ' .. seq .. ' came again after its reply was dropped')
end
local reply = dispatch()
if reply == nil then reply = false end
local entry = tostring(seq)
if type(reply) == 'table' and reply.err == nil then
  if op == 'fetch' then
    entry = entry .. 'f' .. reply[1] .. ',' .. reply[2] .. ',' .. (#reply - 2)
  elseif op == 'batch' and #reply == 3 then
    entry = entry .. 'b' .. reply[1] .. ',' .. reply[2] .. ',' .. reply[3]
  end
end
kept[#kept + 1] = entry
if seq > last then last = seq end
record = last .. ' ' .. table.concat(kept, ' ')
if entry == tostring(seq) then
  redis.call('HSET', META, field, record, field .. ':' .. seq, cmsgpack.pack(reply))
else
  redis.call('HSET', META, field, record)
end
return reply
`;

/**
 * The script: its parts in the order their locals need (see above); the
 * dispatch is a function, run by {@linkcode ONCE}.
 */
export const SCRIPT = PROLOGUE + QUEUE_FUNCTIONS + PERMIT_FUNCTIONS + LEASES + SYNC_LOCALS +
  "local function dispatch()" + CLIENT_OPS + QUEUE_OPS + SYNC_OPS + END + "end" + ONCE;
