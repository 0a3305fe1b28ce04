"""Which limiter a client uses: ``rate_limits=`` resolved, per event loop.

`limiter_for` turns a client's setting into a `Limiter`; the in-process and the Redis-URL ones
are `LoopLimiters`, usable from any event loop: each loop gets its own concrete limiter
(`LoopLimiters.here`), which the pipeline resolves once per event loop and then calls directly.
A new loop's in-process limiter starts from the budgets the process's earlier loops left
(`carry`); a loop's Redis connection closes when the last client that used it there closes.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence

from ..._errors import ValidationError
from .carry import LOOP_LIMITERS, limiter_of_loop
from .memory import MemoryLimiter, MemoryWaitGroup
from .redis import RedisLimiter, RedisWaitGroup, check_redis_url
from .seam import Budget, Limiter, Permit, WaitGroup

__all__ = ["LoopLimiters", "check_redis_url", "limiter_for", "limiter_here", "release_limiter"]

_SHARED_URLS = ("redis://", "rediss://", "unix://")
_LIMITER_METHODS = ("wait_group", "acquire", "penalize")


class LoopLimiters:
    """A limiter usable from any event loop: each call goes to the running loop's instance.

    Created without a running loop (clients are often built outside one); wait groups are
    plain objects, valid on every loop. ``url`` None: the in-process `MemoryLimiter`; else one
    `RedisLimiter` per event loop.
    """

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.users = 0
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, RedisLimiter] = (
            weakref.WeakKeyDictionary()
        )
        self._bound: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, int] = (
            weakref.WeakKeyDictionary()
        )
        """Per event loop: the clients that resolved this loop's limiter (`limiter_here`)."""

    def here(self) -> MemoryLimiter | RedisLimiter:
        """The concrete limiter of the running event loop (made on first use)."""
        if self.url is None:
            return limiter_of_loop(asyncio.get_running_loop())
        loop = asyncio.get_running_loop()
        limiter = self._by_loop.get(loop)
        if limiter is None:
            limiter = self._by_loop[loop] = RedisLimiter(self.url)
        return limiter

    def wait_group(self) -> WaitGroup:
        """A new group for one client's waits (valid on every loop)."""
        return MemoryWaitGroup() if self.url is None else RedisWaitGroup()

    async def acquire(
        self, budgets: Sequence[Budget], *, max_wait: float | None, group: WaitGroup
    ) -> Permit:
        """See `Limiter.acquire`."""
        return await self.here().acquire(budgets, max_wait=max_wait, group=group)

    async def penalize(self, budgets: Sequence[Budget], seconds: float) -> None:
        """See `Limiter.penalize`."""
        await self.here().penalize(budgets, seconds)

    async def aclose(self) -> None:
        """Close the running loop's Redis connection (others go with their loops)."""
        limiter = self._by_loop.pop(asyncio.get_running_loop(), None)
        if limiter is not None:
            await limiter.aclose()

    def bind_here(self) -> MemoryLimiter | RedisLimiter:
        """`here`, for one more client of the running loop (see `unbind_here`)."""
        if self.url is not None:
            loop = asyncio.get_running_loop()
            self._bound[loop] = self._bound.get(loop, 0) + 1
        return self.here()

    async def unbind_here(self) -> None:
        """A client of the running loop is done: the loop's last one closes its connection
        (its loop may end before the URL's last client elsewhere closes)."""
        loop = asyncio.get_running_loop()
        bound = self._bound.pop(loop, 0)
        if bound > 1:
            self._bound[loop] = bound - 1
        elif bound == 1:
            await self.aclose()


def limiter_here(limiter: Limiter) -> Limiter:
    """The limiter to call on the running event loop: `LoopLimiters.here`, or ``limiter``
    itself (a limiter object the caller made). Cheap; callers cache it per event loop."""
    if isinstance(limiter, LoopLimiters):
        if limiter.url is None:  # `LoopLimiters.here`, written out (once per loop and client)
            loop = asyncio.get_running_loop()
            found = LOOP_LIMITERS.get(loop)
            return found if found is not None else limiter_of_loop(loop)
        return limiter.bind_here()
    return limiter


_IN_PROCESS = LoopLimiters(None)
_shared: dict[str, LoopLimiters] = {}


def limiter_for(rate_limits: str | Limiter | None = None) -> Limiter:
    """The limiter for a client's ``rate_limits=`` setting (no running loop needed).

    ``None``: the in-process limiter, shared by every client of the process (`carry`).
    A ``redis://``, ``rediss://`` or ``unix://`` URL: one shared `RedisLimiter` per URL (and
    per event loop), counted per call: give it back with `release_limiter` when the client
    closes (the last one out of each event loop closes that loop's connection). A shared
    limiter from this function, handed on: itself, counted again. A limiter object of the
    caller's: itself (its owner closes it). Anything else raises `ValidationError` (never
    echoing the value: a URL may hold a password).
    """
    if rate_limits is None:
        return _IN_PROCESS
    if isinstance(rate_limits, str):
        if not rate_limits.startswith(_SHARED_URLS):
            raise ValidationError("rate_limits must be a redis:// or rediss:// URL")
        try:
            import redis  # noqa: F401  # the optional extra: checked, not needed yet
        except ImportError:
            raise ValidationError(
                'rate_limits=<URL> needs the redis package: pip install "redis>=5" '
                '(from a clone: pip install -e ".[redis]")'
            ) from None
        check_redis_url(rate_limits)
        shared = _shared.get(rate_limits)
        if shared is None:
            shared = _shared[rate_limits] = LoopLimiters(rate_limits)
        shared.users += 1
        return shared
    if isinstance(rate_limits, LoopLimiters):
        if rate_limits.url is not None:  # handed on (a Poller's clients): one more holder,
            rate_limits.users += 1  # as `release_limiter` takes one off when it closes
        return rate_limits
    if all(callable(getattr(rate_limits, name, None)) for name in _LIMITER_METHODS):
        return rate_limits
    raise ValidationError("rate_limits must be None, a redis:// URL or a limiter object")


async def release_limiter(limiter: Limiter) -> None:
    """A client is done with a limiter from `limiter_for`: the last user of a URL closes it.

    Does nothing for the in-process limiter or a limiter object the caller passed in.
    """
    if isinstance(limiter, LoopLimiters) and limiter.url is not None:
        await limiter.unbind_here()
        limiter.users -= 1
        if limiter.users <= 0:
            _shared.pop(limiter.url, None)
            await limiter.aclose()
