"""An estimate of the exchange's clock, for exchanges that reject skewed timestamps."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable

from .._errors import ExchangeError

logger = logging.getLogger("exchange_async")

__all__ = ["ServerClock", "clock_for"]

ServerTimeFetch = Callable[[], Awaitable[tuple[int, float]]]
"""Returns (the server's time in ms, the local wall-clock ms at the middle of the exchange)."""


class ServerClock:
    """Local wall clock plus a measured offset to one server's clock, in milliseconds.

    The offset is taken against the midpoint of the request's own round trip (not counting any
    wait in the rate limiter). It is shared by every client of that server on the event loop,
    and concurrent callers share a single measurement. If the server's time cannot be had,
    the local clock is used as is until the server rejects a timestamp.
    """

    __slots__ = ("_generation", "_lock", "offset_ms")

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._generation = 0
        self.offset_ms = 0

    @property
    def generation(self) -> int:
        """How many times the offset has been measured; pass it back to `resync`."""
        return self._generation

    def now_ms(self) -> int:
        """The server's current time in ms, as best known."""
        return int(time.time() * 1000) + self.offset_ms

    async def ensure_synced(self, fetch: ServerTimeFetch) -> None:
        """Measure the offset the first time it is needed."""
        if not self._generation:
            await self.resync(fetch, seen_generation=0)

    async def resync(self, fetch: ServerTimeFetch, *, seen_generation: int) -> None:
        """Measure again, unless someone did since the caller saw ``seen_generation``."""
        async with self._lock:
            if self._generation != seen_generation:
                return
            try:
                server_ms, local_ms = await fetch()
            except ExchangeError as error:
                logger.warning("server time unavailable (%s); using the local clock", error)
                self.offset_ms = 0
            else:
                self.offset_ms = round(server_ms - local_ms)
            self._generation += 1


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
