"""A loop whose clock counts whole milliseconds (as uvloop's does) keeps the spacing promise.

The scale benchmark caught uvloop clients sending two requests of one account 102.2 ms apart
where the limiter promises ``interval - catch_up`` = 103 ms: a send dated by ``loop.time()``
could be up to 1 ms before the real moment. Here the real clock is the virtual one and the
loop's ``time()`` truncates it to the millisecond.
"""

from __future__ import annotations

import math

from support.virtual_time import VirtualTimeLoop

from exchange_async._core.limits import CATCH_UP, Budget, RateLimit, Scope
from exchange_async._core.limits.memory import MemoryLimiter

LIMIT = RateLimit("/order", 10, 1.0, Scope.ENDPOINT)  # CoinW's: interval 0.105 s at 5 %
BUDGETS = (Budget("http://s", LIMIT, "a", 0.05),)


class MillisecondClockLoop(VirtualTimeLoop):
    """``time()`` is the virtual clock cut to whole milliseconds, like uvloop's."""

    def __init__(self) -> None:
        super().__init__()
        self._clock_resolution = 0.001  # what asyncio's loops report of their clock

    def time(self) -> float:
        return math.floor(self.real() * 1000) / 1000

    def real(self) -> float:
        return self._selector_ff.now

    def spend(self, seconds: float) -> None:
        """Time passes while a callback runs (a busy loop): the real clock moves on."""
        self._selector_ff.now += seconds


async def next_start_after_a_late_send(loop: MillisecondClockLoop) -> tuple[float, float]:
    """(when the bytes really left, the earliest next start the limiter then allows)."""
    limiter = MemoryLimiter()
    permit = await limiter.acquire(BUDGETS, max_wait=None, group=limiter.wait_group())
    loop.spend(0.0009)  # the bytes leave 0.9 ms after the grant, in the same millisecond tick
    sent = loop.real()
    permit.sent()
    permit.release()
    return sent, limiter.next_start(BUDGETS)


def test_a_send_is_dated_at_the_end_of_a_coarse_clock_tick() -> None:
    loop = MillisecondClockLoop()
    try:
        sent, next_start = loop.run_until_complete(next_start_after_a_late_send(loop))
    finally:
        loop.close()
    assert next_start - sent >= LIMIT.interval(0.05) - CATCH_UP - 1e-9, next_start - sent
