"""A `Limiter` over the in-process buckets of `ratelimit` (replaced by the real backends).

Thin on purpose: it maps each `Budget` to the loop's shared `Bucket`, turns a `Reservation`
into a `Permit`, and makes `WaitGroup.close` fail the group's queued callers at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from .._errors import ClientClosedError, ValidationError
from .limiter import Budget, Limiter, Permit, WaitGroup
from .ratelimit import Reservation, acquire, registry_for_running_loop

__all__ = ["CompatLimiter", "limiter_for"]


class _Group:
    """The waits of one client; `close` cancels them and they raise `ClientClosedError`."""

    __slots__ = ("_failed", "_waiting", "closed")

    def __init__(self) -> None:
        self.closed = False
        self._waiting: set[asyncio.Task[object]] = set()
        self._failed: set[asyncio.Task[object]] = set()

    def close(self) -> None:
        self.closed = True
        for task in self._waiting:
            self._failed.add(task)
            task.cancel()


class _Permit:
    __slots__ = ("_reservation",)

    def __init__(self, reservation: Reservation) -> None:
        self._reservation = reservation

    def sent(self) -> None:
        self._reservation.sent()

    def release(self) -> None:
        self._reservation.release()


class CompatLimiter:
    """The in-process limiter: budgets shared by every client on the running event loop."""

    def wait_group(self) -> WaitGroup:
        return _Group()

    async def acquire(
        self, budgets: Sequence[Budget], *, max_wait: float | None, group: WaitGroup
    ) -> Permit:
        assert isinstance(group, _Group)
        if group.closed:
            raise ClientClosedError("the client is closed")
        registry = registry_for_running_loop()
        buckets = [registry.bucket(b.server, b.limit, b.owner, b.margin) for b in budgets]
        task = asyncio.current_task()
        assert task is not None
        group._waiting.add(task)
        try:
            return _Permit(await acquire(buckets, max_wait=max_wait))
        except asyncio.CancelledError:
            if task in group._failed:
                task.uncancel()
                raise ClientClosedError("the client was closed while waiting") from None
            raise
        finally:
            group._waiting.discard(task)
            group._failed.discard(task)

    async def penalize(self, budgets: Sequence[Budget], seconds: float) -> None:
        registry = registry_for_running_loop()
        for b in budgets:
            registry.bucket(b.server, b.limit, b.owner, b.margin).pause(seconds)


_IN_PROCESS = CompatLimiter()


def limiter_for(rate_limits: str | Limiter | None) -> Limiter:
    """The limiter for a client's ``rate_limits=`` option (None: in-process)."""
    if rate_limits is None:
        return _IN_PROCESS
    # The value is not echoed: a redis:// URL may hold a password.
    raise ValidationError("rate_limits=... needs the redis extra: exchange-async[redis]")
