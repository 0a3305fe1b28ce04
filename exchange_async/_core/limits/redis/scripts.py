"""The Lua scripts of `RedisLimiter`: each runs atomically on one Redis server.

Every time inside Redis is Redis's own clock (``TIME``, microseconds); every time that crosses
the wire is *relative* to it (a wait, an offset), so host clocks never matter. Numbers are
written with ``%.0f``: Lua 5.1 would print a 16-digit integer in exponent form and lose it.

A budget key is a hash: ``t`` its next reservable slot (GCRA's theoretical arrival time, us),
``u`` its next *confirmed* slot (an account budget: the moment its last request really took its
shared slots, plus the interval), ``p`` the end of a pause. A heartbeat key per hash tag is a
sorted set of process ids scored by the moment each stops counting: its size is the number of
processes sharing that scope.

**Lost state.** Redis may come back empty (restarted without persistence) or answer from a
replica that missed the last writes (replication is asynchronous). Each hash tag has an epoch
key: an id, a write counter ``seq`` bumped by every slot call, and ``lost``, the last moment
state was found lost. A caller passes the epoch id and counter it last saw; the epoch missing
although the caller saw one, its id changed, or its counter gone backwards means the state the
caller relied on is gone, and ``lost`` is set (to now, or to the new epoch's birth). Then:

- every budget of the tag starts no earlier than ``lost + hold``, the hold being one full
  window (``N * interval - tolerance``: as if the whole limit had been spent just before the
  loss) but at most `GATHER` seconds;
- within that time every process that sent through the tag in its last window carries its
  own sends back (`CARRY`, replayed into the GCRA state: at least the state they imply), so a
  window longer than the hold (the per-IP minute) is exact too once the hold ends.

A process that never saw an epoch cannot tell a fresh Redis from an emptied one; it starts at
once, and the first process that saw the old epoch sets the hold.
"""

__all__ = ["CARRY", "PENALIZE", "REDATE", "ROLLBACK", "SLOT"]

_EPOCH = """
local function num(x) return tonumber(x) or 0 end
local function str(x) return string.format('%.0f', x) end
local function epoch(key, seen, seen_seq, candidate, now)
  local v = redis.call('HMGET', key, 'id', 'seq', 'born', 'lost')
  local id, seq, born, l = v[1], num(v[2]), num(v[3]), num(v[4])
  local changed = 0
  if not id then  -- a fresh Redis, or one that lost its state: the caller knows which
    id, seq, born = candidate, 0, now
    if seen ~= '' then l, changed = now, 1 end
  elseif seen ~= '' and id ~= seen then  -- lost before this epoch was born
    l, changed = math.max(l, born), 1
  elseif seen ~= '' and seq < seen_seq then  -- a replica that missed writes answers
    l, changed = now, 1
  end
  seq = seq + 1
  redis.call('HSET', key, 'id', id, 'seq', seq, 'born', str(born), 'lost', str(l))
  redis.call('PEXPIRE', key, 86400000)
  return id, seq, l, changed
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
"""

SLOT = (
    _EPOCH
    + """
-- KEYS: n budget keys, m heartbeat keys, m epoch keys (one each per hash tag)
-- ARGV: pid, not_before_rel_us, max_wait_us (-1: none), heartbeat_us, n, horizon_us,
--       promised_us (a slot handed out earlier, to confirm; 0: none), m, epoch_candidate,
--       then per tag: seen_epoch_id ('' none), seen_seq,
--       then per budget: interval_us, tolerance_us, keep_ms, hold_us, phase, tag index
-- phase 0: reserve an account slot (t); 1: the account's slot must have come (u), confirm it;
-- 2: take a shared slot (t); 3: take a shared slot only if the phase-0 start is now and it is
-- free now (then the account's slots are confirmed too: both phases in this one call).
local n = tonumber(ARGV[5])
local m = tonumber(ARGV[8])
local base = 9 + 2 * m
local function arg(i, k) return tonumber(ARGV[base + 6 * (i - 1) + k]) end
local lost, epochs = {}, {}
for j = 1, m do
  local id, seq, l = epoch(KEYS[n + m + j], ARGV[8 + 2 * j], tonumber(ARGV[9 + 2 * j]),
    ARGV[9] .. ':' .. j, now)
  lost[j] = l
  epochs[2 * j - 1], epochs[2 * j] = id, seq
end
local promised = tonumber(ARGV[7])
local start = now + tonumber(ARGV[2])
local fresh = promised < now  -- a promise not kept in time is void: take a new slot
local befores, fields = {}, {}
local ready, shared_start, if_due = now, now, false
for i = 1, n do
  local v = redis.call('HMGET', KEYS[i], 't', 'p', 'u')
  local tat, pause, u = num(v[1]), num(v[2]), num(v[3])
  local tol, phase = arg(i, 2), arg(i, 5)
  local l = lost[arg(i, 6)]
  local floor = pause
  if l > 0 and l + arg(i, 4) > floor then floor = l + arg(i, 4) end
  if phase == 1 then
    befores[i], fields[i] = u, 'u'
    ready = math.max(ready, u - tol, floor)
  elseif phase == 3 then
    befores[i], fields[i] = tat, 't'
    shared_start, if_due = math.max(shared_start, tat - tol, floor), true
  else
    befores[i], fields[i] = tat, 't'
    start = math.max(start, tat - tol, floor)
    if phase == 0 then start = math.max(start, u - tol) end
  end
  if promised < floor then fresh = true end  -- a pause or a hold came after the promise
end
local max_wait = tonumber(ARGV[3])
local horizon = tonumber(ARGV[6])
if not fresh then start, ready = promised, now end  -- our own promise: kept
local out = {str(start - now), str(now), '0'}
local reserved = true
if ready > now then  -- phase 2: the account's own slot has not come (another process's went)
  out[1], out[3] = '-2', str(ready - now)
  reserved = false
elseif max_wait >= 0 and start - now > max_wait then
  out[1] = '-1'
  reserved = false
elseif start - now > horizon then
  out[3] = str(start - now - horizon)  -- handed out, not confirmed: come back then
end
local both = if_due and fresh and reserved and promised == 0 and start <= now
  and shared_start <= now
local hb = tonumber(ARGV[4])
for j = 1, m do
  local key = KEYS[n + j]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', str(now))
  local score = tonumber(redis.call('ZSCORE', key, ARGV[1]) or 0)
  redis.call('ZADD', key, str(math.max(score, start + hb)), ARGV[1])
  redis.call('PEXPIRE', key, str((math.max(start, now) - now + hb) / 1000 + 1000))
  out[3 + j] = redis.call('ZCARD', key)
end
for i = 1, n do
  local after = befores[i]
  local phase = arg(i, 5)
  if fresh and reserved and (phase ~= 3 or both) then
    after = math.max(after, start) + arg(i, 1)
    redis.call('HSET', KEYS[i], fields[i], str(after))
    if phase == 0 and both then  -- the account's slot is confirmed as it is taken
      local u = num(redis.call('HGET', KEYS[i], 'u'))
      if after > u then redis.call('HSET', KEYS[i], 'u', str(after)) end
    end
    if fields[i] == 'u' then  -- later reservations of the account count from this start
      local tat = num(redis.call('HGET', KEYS[i], 't'))
      if after > tat then redis.call('HSET', KEYS[i], 't', str(after)) end
    end
    redis.call('PEXPIRE', KEYS[i], str((after - now) / 1000 + arg(i, 3)))
  end
  out[3 + m + 2 * i - 1] = str(befores[i])
  out[3 + m + 2 * i] = str(after)
end
for j = 1, 2 * m do out[3 + m + 2 * n + j] = epochs[j] end
out[3 + 3 * m + 2 * n + 1] = both and '1' or '0'
return out
"""
)
"""Hand out (or, with ``promised_us``, confirm) the next start slot of every budget at once.

Returns ``[wait_us (-1: longer than max_wait; -2: an account slot has not come, no slot
taken), now_us, come_back_in_us, heartbeat counts..., (before, after) per budget...,
(epoch id, seq) per tag..., '1' if phase-3 budgets were taken too]``. A slot further ahead
than the horizon is handed out (the caller keeps its place) but not confirmed: the caller may
use it only after confirming it within the horizon (``come_back_in_us`` > 0). So no slot
that can still be used lies more than the horizon ahead of the last call that reached Redis."""

CARRY = (
    _EPOCH
    + """
-- This process's own sends of the last window, carried back into a tag whose state it finds
-- lost. KEYS: the tag's epoch key, then budget keys.
-- ARGV: seen_epoch_id, seen_seq, epoch_candidate, process name, then per key: interval_us,
--       keep_ms, window_us, count, then that many sends (us, on Redis's clock as this process
--       knows it: a slot's start plus its lateness)
-- The carried sends of every process are kept (a sorted set beside the budget, for one
-- window) and the budget's state is the GCRA state of their union: carried twice, or by
-- several processes, a send counts once.
local id, seq, l, changed = epoch(KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3], now)
if changed == 1 then
  local at = 5
  for i = 2, #KEYS do
    local interval, keep = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
    local window, count = tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
    local carried = KEYS[i] .. ':carried'
    for k = 1, count do
      local sent = ARGV[at + 3 + k]
      redis.call('ZADD', carried, sent, ARGV[4] .. ':' .. sent)
    end
    at = at + 4 + count
    redis.call('ZREMRANGEBYSCORE', carried, '-inf', str(now - window))
    redis.call('PEXPIRE', carried, str(window / 1000 + 1000))
    local tat = 0
    local sends = redis.call('ZRANGE', carried, 0, -1, 'WITHSCORES')
    for k = 2, #sends, 2 do tat = math.max(tat, tonumber(sends[k])) + interval end
    for _, field in ipairs({'t', 'u'}) do
      if tat > num(redis.call('HGET', KEYS[i], field)) then
        redis.call('HSET', KEYS[i], field, str(tat))
      end
    end
    redis.call('PEXPIRE', KEYS[i], str(math.max(0, tat - now) / 1000 + keep))
  end
end
return {id, seq, changed}
"""
)
"""Carry this process's sends back after a loss (only when the caller's view finds one, so
two carries of the same sends by one process cannot happen for one loss). Returns
``[epoch id, seq, carried (1/0)]``."""

REDATE = """
-- A request left late: its budgets' next starts count from the real send.
-- KEYS: budget keys; ARGV: sent_us, then per key: interval_us, keep_ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local sent = tonumber(ARGV[1])
for i = 1, #KEYS do
  local after = sent + tonumber(ARGV[2 * i])
  local moved = false
  for _, field in ipairs({'t', 'u'}) do
    local tat = tonumber(redis.call('HGET', KEYS[i], field) or 0)
    if after > tat then
      redis.call('HSET', KEYS[i], field, string.format('%.0f', after))
      moved = true
    end
  end
  if moved then
    redis.call('PEXPIRE', KEYS[i], string.format('%.0f',
      (after - now) / 1000 + tonumber(ARGV[2 * i + 1])))
  end
end
return 1
"""

ROLLBACK = """
-- Give a reserved slot back where it is still the last one: KEYS budget keys;
-- ARGV per key: field ('t' or 'u'), tat_after (ours), tat_before
for i = 1, #KEYS do
  if redis.call('HGET', KEYS[i], ARGV[3 * i - 2]) == ARGV[3 * i - 1] then
    redis.call('HSET', KEYS[i], ARGV[3 * i - 2], ARGV[3 * i])
  end
end
return 1
"""

PENALIZE = """
-- Nothing starts through these budgets for a while: KEYS budget keys; ARGV pause_us, keep_ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_us = now + tonumber(ARGV[1])
for i = 1, #KEYS do
  local p = tonumber(redis.call('HGET', KEYS[i], 'p') or 0)
  if until_us > p then
    redis.call('HSET', KEYS[i], 'p', string.format('%.0f', until_us))
  end
  local ttl = redis.call('PTTL', KEYS[i])
  local keep = tonumber(ARGV[1]) / 1000 + tonumber(ARGV[2])
  if ttl < keep then
    redis.call('PEXPIRE', KEYS[i], string.format('%.0f', keep))
  end
end
return 1
"""
