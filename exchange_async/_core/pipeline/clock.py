"""An estimate of the exchange's clock, for exchanges that reject skewed timestamps.

A `ServerClock` is plain state: the measured offset, how many times it was measured, and the
lock that makes concurrent callers share one measurement. The pipeline does the measuring
itself, as a visible step (`Pipeline._sync_clock`); this module only keeps the result, shared
by every client of one server on one event loop (`clock_for`).
"""

from __future__ import annotations

import asyncio
import time
import weakref

__all__ = ["ServerClock", "clock_for"]


class ServerClock:
    """Local wall clock plus a measured offset to one server's clock, in milliseconds.

    The offset is taken against the midpoint of the request's own round trip (not counting any
    wait in the rate limiter). Before the first measurement (``generation == 0``), and after a
    measurement that failed, the offset is 0: the local clock as is.
    """

    __slots__ = ("generation", "lock", "offset_ms")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        """Held while measuring: concurrent callers wait for the one measurement."""
        self.generation = 0
        """How many times the offset has been measured (0: never)."""
        self.offset_ms = 0
        """The server's clock minus the local wall clock, in ms."""

    def now_ms(self) -> int:
        """The server's current time in ms, as best known."""
        return int(time.time() * 1000) + self.offset_ms


_clocks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, ServerClock]] = (
    weakref.WeakKeyDictionary()
)


def clock_for(server: str) -> ServerClock:
    """The clock of ``server`` shared on the running event loop."""
    per_loop = _clocks.setdefault(asyncio.get_running_loop(), {})
    clock = per_loop.get(server)
    if clock is None:
        clock = per_loop[server] = ServerClock()
    return clock
