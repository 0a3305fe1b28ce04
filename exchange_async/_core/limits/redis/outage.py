"""What a `RedisLimiter` does while Redis is unreachable: this process's share of each limit.

`Outage` owns the fallback: the in-process `MemoryLimiter` that keeps the shares, the probe
that notices Redis is back, and the window after it when requests also stay within the share.
A process's share of a budget that ``count`` processes share is ``N // count`` per window with
the margin doubled: together never more than N in any window, however their starts line up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ..declarations import RateLimit
from ..memory import MemoryLimiter
from ..seam import Budget, Permit
from .keys import Plan
from .permits import RedisWaitGroup, Repause, no_share_error, timeout_error, wake
from .waits import Sleeps

__all__ = [
    "HORIZON",
    "NO_SHARE_WAIT",
    "PROBE_MAX",
    "Outage",
    "ShareLimiter",
    "share_of",
    "shares_of",
]

log = logging.getLogger("exchange_async.limiter")

PROBE_MAX = 0.5
"""Seconds between two probes of an unreachable Redis, at most."""
HORIZON = 1.0
"""Seconds ahead Redis reserves a slot, at most (further waiters come back later): so a process
that loses Redis knows no slot given out before lies more than this after the loss."""
NO_SHARE_WAIT = 10.0
"""Seconds a call with no ``max_rate_wait`` waits for Redis with no share (never a silent hang)."""
_MIN_SHARE_MARGIN = 0.02
"""The least safety margin of a share (its window must leave room for other processes)."""


class ShareLimiter(MemoryLimiter):
    """The in-process limiter that keeps this process's shares, told about starts made
    through Redis (only the outage needs these two methods)."""

    def push(self, budgets: Sequence[Budget], not_before: float) -> None:
        """Record a start at ``not_before`` (loop time) made through Redis."""
        for budget in budgets:
            state = self._state(budget)
            state.tat = max(state.tat, not_before) + state.interval

    def hold(self, budget: Budget, until: float) -> None:
        """Let nothing start through ``budget`` before ``until`` (loop time), queue kept."""
        state = self._state(budget)
        state.tat = max(state.tat, until + state.tolerance)


def timed_out(error: BaseException) -> bool:
    """Whether a failed Redis call only took too long (Redis may be up, this loop busy)."""
    return isinstance(error, TimeoutError) or type(error).__name__ == "TimeoutError"


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


class Outage:
    """The outage state of one `RedisLimiter` (see the module docstring).

    ``counts``: processes sharing each hash tag, as last seen on Redis (shared with the
    limiter, which updates it). ``plans``: every plan the limiter knows (to start the window
    after an outage for each). ``ping``: one round trip to Redis (raises if it fails).
    """

    def __init__(
        self,
        sleeps: Sleeps,
        counts: dict[str, int],
        plans: Callable[[], Iterable[Plan]],
        ping: Callable[[], Any],
        call_timeout: float,
    ) -> None:
        self._sleeps = sleeps
        self.counts = counts
        self._plans = plans
        self._ping = ping
        self._call_timeout = call_timeout
        self.down = False
        self._reached = False
        self._slow_once = False
        self.refused = False
        """Redis, never reached, refused every call (none timed out): calls fail at once."""
        self.down_since = 0.0
        self.fallback: ShareLimiter | None = None
        self._seeded: set[str] = set()
        self._dual_until: dict[str, float] = {}
        self._up_waiters: list[asyncio.Future[None]] = []
        self.probe: asyncio.Task[None] | None = None
        self.on_up: Callable[[], None] = lambda: None

    def went_down(self, error: BaseException, reached: bool) -> None:
        """A Redis call failed: use this process's share until a probe gets an answer.

        ``reached``: whether Redis ever answered this process. If not, no share is known (how
        many processes share a limit is learnt from Redis): nothing is sent until it answers.
        """
        self._reached = reached
        self._refusal(error)
        if self.down:
            return
        self.down = True
        self.down_since = self._sleeps.now()
        self.fallback = self.fallback or ShareLimiter()
        self._seeded.clear()
        reason = type(error).__name__
        if reached:
            log.warning(
                "Redis rate limiter unreachable (%s); limits this process used on Redis go on "
                "at its share, others wait for Redis",
                reason,
            )
        else:
            log.warning(
                "Redis rate limiter unreachable (%s) and never reached by this process: no "
                "share of any limit is known, so nothing is sent until Redis answers (%s)",
                reason,
                "calls fail at once" if self.refused else "calls wait, up to max_rate_wait",
            )
        loop = self._sleeps.loop
        if loop is not None and (self.probe is None or self.probe.done()):
            self.probe = loop.create_task(self._probe_until_up())

    async def _probe_until_up(self) -> None:
        delay = 0.05
        task = asyncio.current_task()
        assert task is not None
        while True:
            await asyncio.sleep(delay)
            answered = True
            try:
                async with asyncio.timeout(self._call_timeout):
                    await self._ping()
            except Exception as error:
                answered = False
                self._refusal(error)
            if task.cancelling():  # `aclose` cancelled it (redis-py may have swallowed that)
                raise asyncio.CancelledError
            if answered:
                break
            delay = min(delay * 2, PROBE_MAX)
        now = self._sleeps.now()
        for plan in self._plans():
            for key, budget in zip(plan.keys, plan.budgets, strict=True):
                if budget.shared:  # a minute-long window: lost state is carried back instead
                    continue
                window = budget.limit.period * (1 + 2 * budget.margin)
                self._dual_until[key] = now + PROBE_MAX + window
        self.down = self.refused = False
        self.on_up()
        log.warning("Redis rate limiter answers again; limits are shared through it")
        for future in self._up_waiters:
            wake(future)
        self._up_waiters = []

    def _refusal(self, error: BaseException) -> None:
        """Fail calls at once only while every attempt since this process started was refused:
        a call that merely timed out may have met a Redis that is there (this loop was busy)."""
        self._slow_once = self._slow_once or timed_out(error)
        self.refused = not self._reached and not self._slow_once

    def state_lost(self, tag_: str) -> None:
        """Redis lost ``tag_``'s state: its hold and the carry-back cover what this process
        sent in its share, so its budgets need not keep to the share after the outage."""
        for plan in self._plans():
            for key, plan_tag in zip(plan.keys, plan.tags_of, strict=True):
                if plan_tag == tag_:
                    self._dual_until.pop(key, None)

    def shares(self, plan: Plan) -> list[Budget] | None:
        """This process's share of each budget (see `share_of`), or None if one has none."""
        return shares_of(plan.budgets, plan.tags_of, self.counts)

    def dual_shares(self, plan: Plan, now: float) -> list[Budget]:
        """The shares a request must also keep to, just after an outage (else nothing)."""
        if self.fallback is None or all(self._dual_until.get(k, 0.0) <= now for k in plan.keys):
            return []
        return self.shares(plan) or []

    async def acquire_share(
        self, plan: Plan, shares: list[Budget], deadline: float | None, group: RedisWaitGroup
    ) -> Permit:
        """A permit from this process's share (Redis is down)."""
        assert self.fallback is not None
        for key, share in zip(plan.keys, shares, strict=True):
            if key not in self._seeded:  # every slot Redis gave out has passed by then
                self._seeded.add(key)
                self.fallback.hold(share, self.down_since + HORIZON + share.interval)
        now = self._sleeps.now()
        max_wait = None if deadline is None else max(0.0, deadline - now)
        loop = asyncio.get_running_loop()
        waiting = loop.create_task(
            self.fallback.acquire(shares, max_wait=max_wait, group=group.memory)
        )
        up: asyncio.Future[None] = loop.create_future()
        self._up_waiters.append(up)
        try:  # Redis back: no more share permits (the carry-back would miss them)
            await asyncio.wait((waiting, up), return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not up.done():
                self._up_waiters.remove(up)
            if not waiting.done():
                waiting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiting  # its ticket is given back
        if waiting.cancelled():
            raise Repause
        return waiting.result()

    async def wait_for_redis(
        self, plan: Plan, deadline: float | None, group: RedisWaitGroup
    ) -> None:
        """No known share: wait for Redis until ``deadline`` (None: `NO_SHARE_WAIT` s)."""
        now = self._sleeps.now()
        if deadline is not None and now >= deadline:
            raise timeout_error(plan)
        until = now + NO_SHARE_WAIT if deadline is None else deadline
        self._up_waiters = [f for f in self._up_waiters if not f.done()]
        await self._sleeps.sleep(until, group, plan, self._up_waiters)
        if deadline is None and self.down and self._sleeps.now() >= until:
            raise no_share_error(plan)
