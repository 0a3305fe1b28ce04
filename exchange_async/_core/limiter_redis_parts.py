"""The parts of `RedisLimiter`: its Lua scripts, its key names, its permits and wait groups.

Every time inside Redis is Redis's own clock (``TIME``, microseconds); every time that crosses
the wire is *relative* to it (a wait, an offset), so host clocks never matter. Numbers are
written with ``%.0f``: Lua 5.1 would print a 16-digit integer in exponent form and lose it.

A budget key is a hash: ``t`` its theoretical arrival time (the next start slot, us), ``p`` the
end of a pause (us). A heartbeat key per hash tag is a sorted set of process ids scored by the
moment each stops counting (us): its size is the number of processes sharing that scope.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Sequence
from typing import Any, Protocol

from .._errors import ClientClosedError, RateLimitWaitTimeout
from .limiter import Budget
from .limiter_memory import MemoryWaitGroup
from .ratelimit import CATCH_UP, RateLimit, Scope

_US = 1_000_000

__all__ = [
    "PENALIZE",
    "REDATE",
    "RESERVE",
    "ROLLBACK",
    "LocalQueue",
    "Plan",
    "RedisDown",
    "RedisPermit",
    "RedisWaitGroup",
    "Repause",
    "budget_key",
    "heartbeat_key",
    "no_share_error",
    "rollback_args",
    "share_of",
    "shares_of",
    "tag",
    "timeout_error",
    "wake",
]

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


def tag(prefix: str, budget: Budget, egress_group: str) -> str:
    """The hash tag of a budget: its account on its server, or the egress group for per-IP."""
    owner = f"ip@{egress_group}" if budget.limit.scope is Scope.IP else budget.owner
    return f"{prefix}:{{{budget.server}|{owner}}}"


def budget_key(prefix: str, budget: Budget, egress_group: str) -> str:
    """``<prefix>:{<server>|<owner>}:<limit name>:<scope>``: one slot per account on Cluster."""
    return f"{tag(prefix, budget, egress_group)}:{budget.limit.name}:{budget.limit.scope.name}"


_MIN_SHARE_MARGIN = 0.02
"""The least safety margin of a share (its window must leave room for other processes)."""


def share_of(budget: Budget, count: int) -> Budget | None:
    """One process's share of ``budget`` when ``count`` processes share it, or None.

    Each may start ``N // count`` per window with the margin doubled (at least 2 %): together
    never more than N in any window, however their starts line up. Fewer than one each: None.
    """
    limit = budget.limit
    per_process = limit.max_requests // max(1, count)
    if per_process == 0:
        return None
    margin = min(1.0, max(2 * budget.margin, _MIN_SHARE_MARGIN))
    share = RateLimit(limit.name, per_process, limit.period, limit.scope)
    return Budget(budget.server, share, budget.owner, margin)


def shares_of(
    budgets: Sequence[Budget], tags: Sequence[str], counts: dict[str, int]
) -> list[Budget] | None:
    """This process's share of each budget, ``counts`` processes sharing each hash tag."""
    shares = []
    for budget, tag_ in zip(budgets, tags, strict=True):
        count = counts.get(tag_)
        share = None if count is None else share_of(budget, count)
        if share is None:
            return None
        shares.append(share)
    return shares


def heartbeat_key(tag_: str) -> str:
    """The sorted set of the processes sharing the scope of ``tag_``."""
    return f"{tag_}:procs"


class _Owner(Protocol):
    def loop_time(self) -> float: ...

    def fire(self, script: str, keys: list[str], args: Sequence[str | int]) -> None: ...


class RedisWaitGroup:
    """The waits of one client on a `RedisLimiter`; `close` fails them all at once."""

    __slots__ = ("closed", "futures", "memory")

    def __init__(self) -> None:
        self.closed = False
        self.futures: set[asyncio.Future[None]] = set()
        self.memory = MemoryWaitGroup()

    def close(self) -> None:
        """Fail every wait of this group (now and later) with `ClientClosedError`."""
        self.closed = True
        self.memory.close()
        for future in self.futures:
            if not future.done():
                future.set_exception(ClientClosedError("the client was closed"))
        self.futures.clear()


class Plan:
    """What one set of budgets means on Redis (cached per budgets tuple)."""

    __slots__ = ("budgets", "chained", "hb_keys", "keep_ms", "keys", "tags", "tags_of", "tail")

    def __init__(self, budgets: tuple[Budget, ...], prefix: str, egress: str) -> None:
        self.budgets = budgets
        self.keys = [budget_key(prefix, b, egress) for b in budgets]
        self.tags_of = [tag(prefix, b, egress) for b in budgets]  # each budget's hash tag
        self.tags = sorted(set(self.tags_of))
        self.hb_keys = [heartbeat_key(t) for t in self.tags]
        self.keep_ms = [int(b.limit.period * (1 + b.margin) * 1000) + 1000 for b in budgets]
        self.tail: list[int] = []
        for b, keep in zip(budgets, self.keep_ms, strict=True):
            catch_up = min(CATCH_UP, b.limit.period * b.margin / 4)
            self.tail += [round(b.interval * _US), round(catch_up * _US), keep]
        self.chained = [i for i, b in enumerate(budgets) if b.scope is not Scope.IP]


class LocalQueue:
    """This process's reservations on one account budget, in slot order.

    A reservation due while an earlier one of this process has not left yet waits for it, and
    starts no earlier than ``interval - catch_up`` after the last one really left: a request
    stuck waiting for a pooled connection does not leave together with the ones behind it.
    """

    __slots__ = ("catch_up", "floor", "interval", "pending")

    def __init__(self, budget: Budget) -> None:
        self.interval = budget.interval
        self.catch_up = min(CATCH_UP, budget.limit.period * budget.margin / 4)
        self.floor = float("-inf")  # the earliest next start (loop time), after the last send
        self.pending: list[RedisPermit] = []  # reserved, not yet sent or released


class RedisPermit:
    """The right to start one request, reserved on Redis."""

    __slots__ = ("_limiter", "_plan", "_slot", "due", "followers", "queues", "start_us",
                 "status")  # fmt: skip

    def __init__(
        self,
        limiter: _Owner,
        plan: Plan,
        slot: list[Any],
        due: float,
        start_us: int,
        queues: list[LocalQueue],
    ) -> None:
        self._limiter = limiter
        self._plan = plan
        self._slot = slot  # the reply that handed the slot out (to give it back)
        self.due = due
        self.start_us = start_us
        self.status = 0  # 0 waiting, 1 granted, 2 sent, 3 released
        self.followers: list[asyncio.Future[None]] = []
        self.queues = queues
        for queue in queues:
            bisect.insort(queue.pending, self, key=_slot)

    def blocker(self) -> float | RedisPermit:
        """When this may start (loop time), or the earlier local reservation to wait for."""
        start = self.due
        for queue in self.queues:
            first = queue.pending[0]
            if first is not self and first.start_us <= self.start_us:
                return first
            start = max(start, queue.floor)
        return start

    def _done(self) -> None:
        for queue in self.queues:
            queue.pending.remove(self)
        for future in self.followers:
            wake(future)
        self.followers = []

    def sent(self) -> None:
        """The request's bytes are leaving now: later starts count from now (no wait)."""
        if self.status != 1:
            return
        self.status = 2
        now = self._limiter.loop_time()
        for queue in self.queues:
            queue.floor = max(queue.floor, now + queue.interval - queue.catch_up)
        self._done()
        late = now - self.due
        plan = self._plan
        if late > CATCH_UP and plan.chained:  # tell every process's later reservations
            args: list[int] = [self.start_us + round(late * _US)]
            for i in plan.chained:
                args += [plan.tail[3 * i], plan.keep_ms[i]]
            self._limiter.fire(REDATE, [plan.keys[i] for i in plan.chained], args)

    def release(self) -> None:
        """The request never left (or `sent` ran): give the slot back where it is the last."""
        if self.status in (2, 3):
            return
        self.status = 3
        self._done()
        self._limiter.fire(ROLLBACK, self._plan.keys, rollback_args(self._plan, self._slot))


def rollback_args(plan: Plan, slot: list[Any]) -> list[Any]:
    """`ROLLBACK`'s arguments for the slot handed out by the `RESERVE` reply ``slot``."""
    n, m = len(plan.keys), len(plan.hb_keys)
    befores, afters = slot[3 + m : 3 + m + 2 * n : 2], slot[4 + m : 3 + m + 2 * n : 2]
    return [v for pair in zip(afters, befores, strict=True) for v in pair]


def _slot(permit: RedisPermit) -> int:
    return permit.start_us


def wake(future: asyncio.Future[None]) -> None:
    """Timer callback: end a wait (unless it ended already)."""
    if not future.done():
        future.set_result(None)


def no_share_error(plan: Plan) -> RateLimitWaitTimeout:
    """The error for a caller with no ``max_rate_wait`` once `NO_SHARE_WAIT` has passed."""
    names = ", ".join(sorted({b.limit.name for b in plan.budgets}))
    return RateLimitWaitTimeout(
        f"Redis is unreachable and this process has no known share of ({names}) to use"
    )


class RedisDown(Exception):
    """Redis did not answer in time (internal: the caller switches to the fallback)."""


class Repause(Exception):
    """A pause was written for a queued waiter's budgets (internal: it re-reserves)."""


def timeout_error(plan: Plan, deadline: float | None, now: float) -> RateLimitWaitTimeout:
    """The error for a caller whose wait would pass its ``max_wait``."""
    names = ", ".join(sorted({b.limit.name for b in plan.budgets}))
    return RateLimitWaitTimeout(
        f"the shared rate limiter cannot start this request within max_rate_wait ({names})"
    )
