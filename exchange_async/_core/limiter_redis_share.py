"""What `RedisLimiter` does while Redis is unreachable: this process's share of each limit.

A mixin (`ShareMode`) holding the outage state: the in-process fallback limiter, the probe that
notices Redis is back, and the window after it when requests also stay within the share.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from .limiter import Budget, Permit
from .limiter_memory import MemoryLimiter
from .limiter_redis_parts import (
    Plan,
    RedisWaitGroup,
    no_share_error,
    shares_of,
    timeout_error,
    wake,
)

__all__ = ["NO_SHARE_WAIT", "ShareMode"]

log = logging.getLogger("exchange_async.limiter")

_PROBE_MAX = 1.0
"""Seconds between two probes of an unreachable Redis, at most."""
HORIZON = 1.0
"""Seconds ahead Redis reserves a slot, at most (further waiters come back later): so a process
that loses Redis knows no slot given out before lies more than this after the loss."""
NO_SHARE_WAIT = 10.0
"""Seconds a call with no ``max_rate_wait`` waits for Redis with no share (never a silent hang)."""


class ShareMode:
    """The outage half of `RedisLimiter` (see its module docstring)."""

    _client: Any
    _plans: dict[tuple[Budget, ...], Plan]
    _counts: dict[str, int]
    _down: bool
    _down_since: float
    _fallback: MemoryLimiter | None
    _seeded: set[str]
    _dual_until: dict[str, float]
    _up_waiters: list[asyncio.Future[None]]
    _probe: asyncio.Task[None] | None
    _loop: asyncio.AbstractEventLoop | None
    call_timeout: float

    def loop_time(self) -> float:
        """The clock every local time of this limiter is on (the event loop's)."""
        return (self._loop or asyncio.get_running_loop()).time()

    def _loop_now(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None
        return self._loop

    if TYPE_CHECKING:  # provided by RedisLimiter

        async def _sleep(
            self,
            until: float | None,
            group: RedisWaitGroup,
            plan: Plan,
            on: list[Any] | None = None,
        ) -> None:
            raise NotImplementedError

    def _went_down(self, error: BaseException) -> None:
        if self._down:
            return
        self._down = True
        self._down_since = self.loop_time()
        self._fallback = self._fallback or MemoryLimiter()
        self._seeded.clear()
        reason = type(error).__name__
        log.warning("Redis rate limiter unreachable (%s); using this process's share", reason)
        if self._loop is not None and (self._probe is None or self._probe.done()):
            self._probe = self._loop.create_task(self._probe_until_up())

    async def _probe_until_up(self) -> None:
        delay = 0.05
        task = asyncio.current_task()
        assert task is not None
        while True:
            await asyncio.sleep(delay)
            answered = True
            try:
                async with asyncio.timeout(self.call_timeout):
                    pool = getattr(self._client, "connection_pool", None)
                    if pool is not None:  # one server: drop its dead sockets first
                        await pool.disconnect()
                    await self._client.ping()
            except Exception:
                answered = False
            if task.cancelling():  # `aclose` cancelled it (redis-py may have swallowed that)
                raise asyncio.CancelledError
            if answered:
                break
            delay = min(delay * 2, _PROBE_MAX)
        now = self.loop_time()
        for plan in self._plans.values():
            for key, budget in zip(plan.keys, plan.budgets, strict=True):
                window = budget.limit.period * (1 + 2 * budget.margin)
                self._dual_until[key] = now + _PROBE_MAX + window
        self._down = False
        log.warning("Redis rate limiter answers again; limits are shared through it")
        for future in self._up_waiters:
            wake(future)
        self._up_waiters = []

    def _shares(self, plan: Plan) -> list[Budget] | None:
        """This process's share of each budget (see `share_of`), or None if one has none."""
        return shares_of(plan.budgets, plan.tags_of, self._counts)

    def _dual_shares(self, plan: Plan, now: float) -> list[Budget]:
        if self._fallback is None or all(self._dual_until.get(k, 0.0) <= now for k in plan.keys):
            return []
        return self._shares(plan) or []

    async def _acquire_share(
        self, plan: Plan, shares: list[Budget], deadline: float | None, group: RedisWaitGroup
    ) -> Permit:
        assert self._fallback is not None
        loop = self._loop_now()
        for key, share in zip(plan.keys, shares, strict=True):
            if key not in self._seeded:  # every slot Redis gave out has passed by then
                self._seeded.add(key)
                self._fallback.hold(share, self._down_since + HORIZON + share.interval)
        max_wait = None if deadline is None else max(0.0, deadline - loop.time())
        return await self._fallback.acquire(shares, max_wait=max_wait, group=group.memory)

    async def _wait_for_redis(
        self, plan: Plan, deadline: float | None, group: RedisWaitGroup
    ) -> None:
        """No known share: wait for Redis until ``deadline`` (None: `NO_SHARE_WAIT` s)."""
        loop = self._loop_now()
        if deadline is not None and loop.time() >= deadline:
            raise timeout_error(plan)
        until = loop.time() + NO_SHARE_WAIT if deadline is None else deadline
        self._up_waiters = [f for f in self._up_waiters if not f.done()]
        await self._sleep(until, group, plan, self._up_waiters)
        if deadline is None and self._down and loop.time() >= until:
            raise no_share_error(plan)
