"""The parts of `RedisLimiter`: its key names, its permits and wait groups, its errors.

Its Lua scripts are in `limiter_redis_lua` (re-exported here).
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from typing import Any, Protocol

from .._errors import ClientClosedError, RateLimitWaitTimeout
from .limiter import Budget
from .limiter_memory import MemoryWaitGroup
from .limiter_redis_lua import (
    PENALIZE,
    REDATE,
    RESERVE,
    ROLLBACK,
)
from .ratelimit import CATCH_UP, RateLimit, Scope

_US = 1_000_000

__all__ = [
    "PENALIZE",
    "REDATE",
    "RESERVE",
    "ROLLBACK",
    "LocalQueue",
    "NewSlot",
    "Plan",
    "RedisDown",
    "RedisPermit",
    "RedisWaitGroup",
    "Repause",
    "Slot",
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

    def reslot(self, late: RedisPermit) -> Coroutine[Any, Any, None]: ...

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
    """What one set of budgets means on Redis (cached per budgets tuple).

    ``parts``: the sets of budgets reserved in one script call each: the whole plan on one
    Redis server; one part per hash tag on a Redis Cluster (a script touches one slot only).
    """

    __slots__ = ("budgets", "chained", "hb_keys", "keep_ms", "keys", "parts", "tags",
                 "tags_of", "tail")  # fmt: skip

    def __init__(
        self, budgets: tuple[Budget, ...], prefix: str, egress: str, cluster: bool = False
    ) -> None:
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
        self.parts = [self]
        if cluster and len(self.tags) > 1:
            self.parts = [
                Plan(tuple(b for b, t in zip(budgets, self.tags_of, strict=True) if t == tag_),
                     prefix, egress)
                for tag_ in self.tags
            ]  # fmt: skip


class Slot:
    """One part's reserved start: the `RESERVE` reply that handed it out, its start on that
    Redis server's clock (us) and when it is due here (loop time)."""

    __slots__ = ("due", "part", "reply", "start_us")

    def __init__(self, part: Plan, reply: list[Any], start_us: int, due: float) -> None:
        self.part = part
        self.reply = reply
        self.start_us = start_us
        self.due = due

    def give_back_args(self) -> list[Any]:
        """`ROLLBACK`'s arguments: this slot's budgets back to where they were."""
        return rollback_args(self.part, self.reply)


class LocalQueue:
    """This process's reservations on one account budget, in slot order.

    A reservation due while an earlier one of this process has not left yet waits for it, and
    starts no earlier than ``interval - catch_up`` after the last one really left: a request
    stuck waiting for a pooled connection does not leave together with the ones behind it.
    """

    __slots__ = ("catch_up", "floor", "interval", "key", "pending")

    def __init__(self, budget: Budget, key: str) -> None:
        self.key = key
        self.interval = budget.interval
        self.catch_up = min(CATCH_UP, budget.limit.period * budget.margin / 4)
        self.floor = float("-inf")  # the earliest next start (loop time), after the last send
        self.pending: list[RedisPermit] = []  # reserved, not yet sent or released


class RedisPermit:
    """The right to start one request, reserved on Redis."""

    __slots__ = ("_limiter", "_plan", "due", "earliest", "followers", "group", "jumps",
                 "queues", "slots", "starts", "status", "tolerance")  # fmt: skip

    def __init__(
        self,
        limiter: _Owner,
        plan: Plan,
        slots: list[Slot],
        queues: list[LocalQueue],
        group: RedisWaitGroup,
        tolerance: float,
    ) -> None:
        self._limiter = limiter
        self.group = group
        self.tolerance = tolerance  # seconds late it may still leave (inf: nobody shares it)
        self._plan = plan
        self.slots = slots  # one per part of the plan
        self.due = max(slot.due for slot in slots)  # every part's slot has come
        self.earliest = min(slot.due for slot in slots)  # lateness counts from this one
        if len(slots) == 1:  # one atomic call: every key orders permits the same way
            self.starts = dict.fromkeys(plan.keys, slots[0].start_us)
        else:  # one call per tag (Cluster): tags may see two requests in opposite orders, so
            # every queue orders by the same local time, or two permits could wait on each other
            self.starts = dict.fromkeys(plan.keys, round(self.due * _US))
        self.status = 0  # 0 waiting, 1 granted, 2 sent, 3 released
        self.followers: list[asyncio.Future[None]] = []
        # A new slot for a late request that holds its connection: waiting for an earlier
        # request of this process could wait for that very connection (`RedisLimiter.reslot`).
        self.jumps = False
        self.queues = queues
        for queue in queues:
            bisect.insort(queue.pending, self, key=_start_in(queue.key))

    @property
    def start_us(self) -> int:
        """The start reserved in the first part, on its Redis server's clock (us)."""
        return self.slots[0].start_us

    def blocker(self) -> float | RedisPermit:
        """When this may start (loop time), or the earlier local reservation to wait for."""
        start = self.due
        for queue in self.queues:
            first = queue.pending[0]
            before = first.starts[queue.key] <= self.starts[queue.key]
            if first is not self and before and not self.jumps:
                return first
            start = max(start, queue.floor)
        return start

    def _done(self) -> None:
        for queue in self.queues:
            queue.pending.remove(self)
        for future in self.followers:
            wake(future)
        self.followers = []

    @property
    def plan(self) -> Plan:
        """The budgets this permit was reserved for, as keys on Redis."""
        return self._plan

    def sent(self) -> Awaitable[None] | None:
        """The request's bytes are about to leave: later starts count from now.

        Too late for a slot other processes share (see `take`): returns the wait for a new
        slot, to await before sending.
        """
        if self.take():
            return None
        return NewSlot(self._limiter, self)

    def take(self) -> bool:
        """Spend the slot now: True if the request may leave.

        False when the slot passed more than ``tolerance`` ago in a scope other processes
        share: their slots right after it are already handed out, so leaving now could put
        more than the limit in one window. The slot is then spent, not given back (a caller's
        own aiohttp session calls this only once the request has left on it), and the request
        must wait for a new one.
        """
        if self.status != 1:
            return self.status == 2
        now = self._limiter.loop_time()
        if now - self.earliest > self.tolerance:
            self.status = 3
            self._done()
            return False
        self.status = 2
        for queue in self.queues:
            queue.floor = max(queue.floor, now + queue.interval - queue.catch_up)
        self._done()
        for slot in self.slots:
            late = now - slot.due
            part = slot.part
            if late > CATCH_UP and part.chained:  # tell every process's later reservations
                args: list[int] = [slot.start_us + round(late * _US)]
                for i in part.chained:
                    args += [part.tail[3 * i], part.keep_ms[i]]
                self._limiter.fire(REDATE, [part.keys[i] for i in part.chained], args)
        return True

    def release(self) -> None:
        """The request never left (or `sent` ran): give the slot back where it is the last."""
        if self.status in (2, 3):
            return
        self.status = 3
        self._done()
        for slot in self.slots:
            self._limiter.fire(ROLLBACK, slot.part.keys, slot.give_back_args())


class NewSlot:
    """The wait for a new slot of a late request (`RedisLimiter.reslot`), started only when
    awaited: a transport whose bytes are already gone drops it without a warning."""

    __slots__ = ("_late", "_owner")

    def __init__(self, owner: _Owner, late: RedisPermit) -> None:
        self._owner = owner
        self._late = late

    def __await__(self) -> Generator[Any, None, None]:
        return self._owner.reslot(self._late).__await__()


def rollback_args(plan: Plan, slot: list[Any]) -> list[Any]:
    """`ROLLBACK`'s arguments for the slot handed out by the `RESERVE` reply ``slot``."""
    n, m = len(plan.keys), len(plan.hb_keys)
    befores, afters = slot[3 + m : 3 + m + 2 * n : 2], slot[4 + m : 3 + m + 2 * n : 2]
    return [v for pair in zip(afters, befores, strict=True) for v in pair]


def _start_in(key: str) -> Callable[[RedisPermit], int]:
    def start(permit: RedisPermit) -> int:
        return permit.starts[key]

    return start


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


def timeout_error(plan: Plan) -> RateLimitWaitTimeout:
    """The error for a caller whose wait would pass its ``max_wait``."""
    names = ", ".join(sorted({b.limit.name for b in plan.budgets}))
    return RateLimitWaitTimeout(
        f"the shared rate limiter cannot start this request within max_rate_wait ({names})"
    )
