"""The Lua scripts of `RedisLimiter`: each runs atomically on one Redis server.

Every time inside Redis is Redis's own clock (``TIME``, microseconds); every time that crosses
the wire is *relative* to it (a wait, an offset), so host clocks never matter. Numbers are
written with ``%.0f``: Lua 5.1 would print a 16-digit integer in exponent form and lose it.

A budget key is a hash: ``t`` its theoretical arrival time (the next start slot, us), ``p`` the
end of a pause (us). A heartbeat key per hash tag is a sorted set of process ids scored by the
moment each stops counting (us): its size is the number of processes sharing that scope.
"""

__all__ = ["PENALIZE", "REDATE", "RESERVE", "ROLLBACK"]

RESERVE = """
-- KEYS: n budget keys, then m heartbeat keys
-- ARGV: pid, not_before_rel_us, max_wait_us (-1: none), heartbeat_us, n, horizon_us,
--       promised_us (a slot handed out earlier, to confirm; 0: none),
--       then per budget: interval_us, catch_up_us, keep_ms
local function arg(i, k) return tonumber(ARGV[7 + 3 * (i - 1) + k]) end
local function str(x) return string.format('%.0f', x) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = tonumber(ARGV[5])
local m = #KEYS - n
local promised = tonumber(ARGV[7])
local start = now + tonumber(ARGV[2])
local fresh = promised < now  -- a promise not kept in time is void: take a new slot
local befores = {}
for i = 1, n do
  local v = redis.call('HMGET', KEYS[i], 't', 'p')
  local tat = tonumber(v[1]) or 0
  local pause = tonumber(v[2]) or 0
  befores[i] = tat
  start = math.max(start, tat - arg(i, 2), pause)
  if promised < pause then fresh = true end  -- a pause came after the promise
end
if not fresh then start = promised end
local max_wait = tonumber(ARGV[3])
local horizon = tonumber(ARGV[6])
local out = {str(start - now), str(now), '0'}
local reserved = true
if max_wait >= 0 and start - now > max_wait then
  out[1] = '-1'
  reserved = false
elseif start - now > horizon then
  out[3] = str(start - now - horizon)  -- handed out, not confirmed: come back then
  reserved = false
end
local hb = tonumber(ARGV[4])
for j = 1, m do
  local key = KEYS[n + j]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', str(now))
  local score = tonumber(redis.call('ZSCORE', key, ARGV[1]) or 0)
  redis.call('ZADD', key, str(math.max(score, start + hb)), ARGV[1])
  redis.call('PEXPIRE', key, str((start - now + hb) / 1000 + 1000))
  out[3 + j] = redis.call('ZCARD', key)
end
for i = 1, n do
  local after = befores[i]
  if fresh and out[1] ~= '-1' then
    after = math.max(after, start) + arg(i, 1)
    redis.call('HSET', KEYS[i], 't', str(after))
    redis.call('PEXPIRE', KEYS[i], str((after - now) / 1000 + arg(i, 3)))
  end
  out[3 + m + 2 * i - 1] = str(befores[i])
  out[3 + m + 2 * i] = str(after)
end
return out
"""
"""Hand out (or, with ``promised_us``, confirm) the next start slot of every budget at once.

Returns ``[wait_us (-1: longer than max_wait), now_us, come_back_in_us, heartbeat counts...,
(tat_before, tat_after) per budget...]``. A slot further ahead than the horizon is handed out
(the caller keeps its place in the queue) but not confirmed: the caller may use it only after
confirming it within the horizon (``come_back_in_us`` > 0). So no slot that can still be used
lies more than the horizon ahead of the last call that reached Redis."""

REDATE = """
-- A request left late: its budgets' next starts count from the real send.
-- KEYS: budget keys; ARGV: sent_us, then per key: interval_us, keep_ms
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local sent = tonumber(ARGV[1])
for i = 1, #KEYS do
  local tat = tonumber(redis.call('HGET', KEYS[i], 't') or 0)
  local after = sent + tonumber(ARGV[2 * i])
  if after > tat then
    redis.call('HSET', KEYS[i], 't', string.format('%.0f', after))
    redis.call('PEXPIRE', KEYS[i], string.format('%.0f',
      (after - now) / 1000 + tonumber(ARGV[2 * i + 1])))
  end
end
return 1
"""

ROLLBACK = """
-- Give a reserved slot back where it is still the last one: KEYS budget keys;
-- ARGV per key: tat_after (ours), tat_before
for i = 1, #KEYS do
  if redis.call('HGET', KEYS[i], 't') == ARGV[2 * i - 1] then
    redis.call('HSET', KEYS[i], 't', ARGV[2 * i])
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
