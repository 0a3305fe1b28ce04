"""The Lua scripts of a fleet: each runs atomically on Redis, so no two workers interleave.

A lease is a string ``"<worker>|<epoch>"`` with a TTL (``PX``). The epoch comes from
``HINCRBY`` on the fleet's epoch hash, first seeded with Redis's time in ms: it only grows, even
across a Redis that lost its data, so a lease taken again is told apart from the one before it
(a *fencing token*). Renewing, releasing and committing all check the whole
value, so a worker whose lease lapsed, even if it took the shard back since, cannot touch
what it held before. Times are Redis's own clock (``TIME``, ms); numbers cross as ``%.0f``.
"""

__all__ = ["ACQUIRE", "COMMIT", "HEARTBEAT", "RELEASE", "RENEW"]

HEARTBEAT = """
-- KEYS: workers (sorted set); ARGV: worker, ttl_ms, leaving (1: remove it)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
if ARGV[3] == '1' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2])), ARGV[1])
end
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""

ACQUIRE = """
-- KEYS: epochs, then one lease key per candidate shard (in the worker's order of preference)
-- ARGV: worker, ttl_ms, how many to take at most, then each candidate's shard number
-- Returns {shard, epoch, shard, epoch, ...} for the leases taken.
local got = {}
local want = tonumber(ARGV[3])
for i = 2, #KEYS do
  if #got >= 2 * want then break end
  if redis.call('EXISTS', KEYS[i]) == 0 then
    local shard = ARGV[2 + i]
    if redis.call('HEXISTS', KEYS[1], shard) == 0 then
      -- A shard's first epoch is Redis's time in ms: if Redis lost its data (no persistence),
      -- the new epochs still come after every old one, and so do the event ids made of them.
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      redis.call('HSET', KEYS[1], shard, string.format('%.0f', now))
    end
    local epoch = redis.call('HINCRBY', KEYS[1], shard, 1)
    redis.call('SET', KEYS[i], ARGV[1] .. '|' .. string.format('%.0f', epoch), 'PX', ARGV[2])
    got[#got + 1] = tonumber(shard)
    got[#got + 1] = epoch
  end
end
return got
"""

RENEW = """
-- KEYS: lease keys; ARGV: ttl_ms, then each lease's expected value
-- Returns one flag per lease: 1 renewed, 0 lost (expired, or another worker's now).
local out = {}
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i + 1] then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
"""

RELEASE = """
-- KEYS: lease keys; ARGV: each lease's expected value. Deletes only what is still ours.
local n = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then
    redis.call('DEL', KEYS[i])
    n = n + 1
  end
end
return n
"""

COMMIT = """
-- KEYS: lease, checkpoint, meta, stream
-- ARGV: lease value, epoch, maxlen, account, worker, n, then per event:
--       data, op ('s' set the order, 'd' delete it, '' neither), order key, order bytes
-- Returns the sequence number of the first event, or -1 when the lease is not ours (nothing
-- is written then).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
local epoch = tonumber(ARGV[2])
if tonumber(redis.call('HGET', KEYS[3], 'epoch') or '0') > epoch then return -1 end
local seq = tonumber(redis.call('HGET', KEYS[3], 'seq') or '0')
local first = seq + 1
for i = 0, tonumber(ARGV[6]) - 1 do
  local b = 7 + 4 * i
  seq = seq + 1
  local op = ARGV[b + 1]
  if op == 's' then
    redis.call('HSET', KEYS[2], ARGV[b + 2], ARGV[b + 3])
  elseif op == 'd' then
    redis.call('HDEL', KEYS[2], ARGV[b + 2])
  end
  local id = ARGV[4] .. ':' .. ARGV[2] .. ':' .. string.format('%.0f', seq)
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*',
    'id', id, 'account', ARGV[4], 'worker', ARGV[5], 'data', ARGV[b])
end
redis.call('HSET', KEYS[3], 'seq', string.format('%.0f', seq), 'epoch', ARGV[2])
return first
"""
