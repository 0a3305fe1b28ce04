"""`RedisLimiter`'s permits, wait groups, local queues and internal errors."""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Awaitable, Callable, Coroutine, Generator, Sequence
from typing import Any, Protocol

from ...._errors import ClientClosedError, RateLimitWaitTimeout
from ..declarations import CATCH_UP
from ..memory import MemoryWaitGroup
from ..seam import Budget
from .keys import PHASE_CONFIRM, Plan
from .scripts import REDATE, ROLLBACK

__all__ = [
    "LocalQueue",
    "NewSlot",
    "RedisPermit",
    "RedisWaitGroup",
    "Repause",
    "Slot",
    "never_reached_error",
    "no_share_error",
    "rollback_args",
    "timeout_error",
    "wake",
]

_US = 1_000_000


class _Owner(Protocol):
    def loop_time(self) -> float: ...

    def reslot(self, late: RedisPermit) -> Coroutine[Any, Any, None]: ...

    def fire(self, script: str, keys: list[str], args: Sequence[str | int]) -> None: ...

    def left(self, slots: list[Slot], at: float) -> None: ...


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


class Slot:
    """One part's reserved start: the `SLOT` reply that handed it out, its start on that
    Redis server's clock (us) and when it is due here (loop time)."""

    __slots__ = ("complete", "due", "part", "reply", "start_us")

    def __init__(self, part: Plan, reply: list[Any], start_us: int, due: float) -> None:
        self.part = part
        self.reply = reply
        self.start_us = start_us
        self.due = due
        self.complete = reply[-1] in (b"1", "1")  # its shared budgets were taken too

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
        self.catch_up = budget.limit.catch_up(budget.margin)
        self.floor = float("-inf")  # the earliest next start (loop time), after the last send
        self.pending: list[RedisPermit] = []  # reserved, not yet sent or released


class RedisPermit:
    """The right to start one request, reserved on Redis."""

    __slots__ = ("_limiter", "_plan", "due", "earliest", "followers", "group", "jumps",
                 "queues", "reserved", "slots", "starts", "status", "tolerance")  # fmt: skip

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
        self.slots = slots  # one per part of the plan: the slots the request starts in
        self.reserved: list[Slot] = []  # phase 1's account slots, once phase 2 took over
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

    def confirmed(self, slots: list[Slot]) -> None:
        """Phase 2 took the shared slots (and confirmed the account's): start in those."""
        self.reserved, self.slots = self.slots, slots
        self.due = max(slot.due for slot in slots)
        self.earliest = min(slot.due for slot in slots)

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
        self._limiter.left(self.slots, now)
        for queue in self.queues:
            queue.floor = max(queue.floor, now + queue.interval - queue.catch_up)
        self._done()
        for slot in self.slots:
            late = now - slot.due
            part = slot.part
            if late > CATCH_UP and part.chained:  # tell every process's later reservations
                args: list[int] = [slot.start_us + round(late * _US)]
                for i in part.chained:
                    args += [part.tail[6 * i], part.keep_ms[i]]
                self._limiter.fire(REDATE, [part.keys[i] for i in part.chained], args)
        return True

    def release(self) -> None:
        """The request never left (or `sent` ran): give the slot back where it is the last."""
        if self.status in (2, 3):
            return
        self.status = 3
        self._done()
        for slot in [*self.slots, *self.reserved]:
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
    """`ROLLBACK`'s arguments for the slot handed out by the `SLOT` reply ``slot``."""
    n, m = len(plan.keys), len(plan.hb_keys)
    befores, afters = slot[3 + m : 3 + m + 2 * n : 2], slot[4 + m : 3 + m + 2 * n : 2]
    fields = ["u" if phase == PHASE_CONFIRM else "t" for phase in plan.phase]
    return [v for trio in zip(fields, afters, befores, strict=True) for v in trio]


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


def never_reached_error(plan: Plan) -> RateLimitWaitTimeout:
    """The error for every call while a Redis this process never reached is unreachable."""
    names = ", ".join(sorted({b.limit.name for b in plan.budgets}))
    return RateLimitWaitTimeout(
        "the shared rate limiter has not reached Redis since this process started, so it "
        f"knows no share of ({names}) to send in: nothing is sent until Redis answers"
    )


class Repause(Exception):
    """A pause was written for a queued waiter's budgets (internal: it re-reserves)."""


def timeout_error(plan: Plan) -> RateLimitWaitTimeout:
    """The error for a caller whose wait would pass its ``max_wait``."""
    names = ", ".join(sorted({b.limit.name for b in plan.budgets}))
    return RateLimitWaitTimeout(
        f"the shared rate limiter cannot start this request within max_rate_wait ({names})"
    )
