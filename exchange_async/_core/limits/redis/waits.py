"""The sleeps of a `RedisLimiter`'s callers: one timer each, ended early by a pause or a close."""

from __future__ import annotations

import asyncio
from typing import Any

from .keys import Plan
from .permits import RedisWaitGroup, Repause, wake

__all__ = ["Sleeps"]


class Sleeps:
    """Every caller asleep in a `RedisLimiter` on one event loop, with the plan it waits for."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self._sleepers: dict[asyncio.Future[None], Plan] = {}

    def now(self) -> float:
        """The clock every local time of the limiter is on (the event loop's)."""
        return (self.loop or asyncio.get_running_loop()).time()

    async def sleep(
        self, until: float | None, group: RedisWaitGroup, plan: Plan, on: list[Any] | None = None
    ) -> None:
        """Sleep until ``until`` (loop time), or ``on`` wakes it; raises if the group closes
        (`ClientClosedError`) or a pause is written for ``plan``'s budgets (`Repause`)."""
        loop = self.loop or asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        handle = None if until is None else loop.call_at(until, wake, future)
        if on is not None:
            on.append(future)
        group.futures.add(future)
        self._sleepers[future] = plan
        try:
            await future
        finally:
            if handle is not None:
                handle.cancel()
            group.futures.discard(future)
            del self._sleepers[future]

    def repause(self, keys: set[str]) -> None:
        """Wake every sleeper waiting on one of ``keys`` with `Repause` (it reserves anew)."""
        for future, waiting in list(self._sleepers.items()):
            if not keys.isdisjoint(waiting.keys) and not future.done():
                future.set_exception(Repause())
