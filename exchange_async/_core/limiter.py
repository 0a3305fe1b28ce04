"""The seam between the request pipeline and the rate limiter (in-process or shared on Redis).

The pipeline asks for a `Permit` for the `Budget` s one request counts against, sends, and
tells the permit when the bytes leave (`Permit.sent`) or that they never will
(`Permit.release`). A refusal from the exchange pauses an account's budgets through
`Limiter.penalize`, for every client of the account (and, on Redis, every process).

Every limiter keeps the same promise: for each budget, no two request starts closer than
``budget.interval`` seconds (less a small catch-up allowance), so the server never counts more
than ``limit.max_requests`` in any ``limit.period`` window while network jitter stays under the
margin.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .._errors import ValidationError
from .ratelimit import RateLimit, Scope

__all__ = [
    "Budget",
    "Limiter",
    "Permit",
    "WaitGroup",
    "budgets_for",
    "limiter_for",
    "release_limiter",
]


@dataclass(frozen=True, slots=True)
class Budget:
    """One shared budget a request counts against: ``limit`` on ``server`` for ``owner``.

    ``owner`` is an account id (``"key:<fingerprint>"`` or ``"uid:<uid>"``) for the
    `Scope.ENDPOINT` and `Scope.ACCOUNT` scopes, and ``"ip"`` for `Scope.IP` (a shared limiter
    maps it to its egress group). ``margin`` is the safety margin, a fraction of the window.
    """

    server: str
    limit: RateLimit
    owner: str
    margin: float

    @property
    def interval(self) -> float:
        """Seconds between two request starts that keep this limit with the margin."""
        return self.limit.interval(self.margin)

    @property
    def scope(self) -> Scope:
        """Who shares the budget."""
        return self.limit.scope


def budgets_for(
    server: str, limits: Sequence[RateLimit], account_ids: Sequence[str], margin: float
) -> tuple[Budget, ...]:
    """The budgets of one request, narrowest scope first (the order limiters take them in).

    An account-level limit gets one budget per id in ``account_ids`` (the key fingerprint and,
    when known, the UID), so clients that know only one of them still share the limit.
    """
    keys = sorted(
        (
            (limit.scope, limit.name, owner, limit)
            for limit in limits
            for owner in (("ip",) if limit.scope is Scope.IP else sorted(set(account_ids)))
        ),
        key=lambda key: key[:3],
    )
    return tuple(Budget(server, limit, owner, margin) for _, _, owner, limit in keys)


class WaitGroup(Protocol):
    """The limiter waits of one client: closing it ends them all at once."""

    def close(self) -> None:
        """Fail every wait of this group (now and later) with `ClientClosedError`."""
        ...


class Permit(Protocol):
    """The right to start one request now."""

    def sent(self) -> None:
        """The request's bytes are leaving now: re-date a late start. Idempotent, no I/O wait."""
        ...

    def release(self) -> None:
        """End the permit (the request never left, or `sent` ran already). Idempotent."""
        ...


class Limiter(Protocol):
    """Hands out permits so that every budget keeps its interval."""

    def wait_group(self) -> WaitGroup:
        """A new group for one client's waits (see `WaitGroup.close`)."""
        ...

    async def acquire(
        self, budgets: Sequence[Budget], *, max_wait: float | None, group: WaitGroup
    ) -> Permit:
        """Wait until a request may start under every budget and reserve that start.

        Raises `RateLimitWaitTimeout` instead of waiting longer than ``max_wait`` seconds, and
        `ClientClosedError` as soon as ``group`` is closed (without spending budget where it can
        be given back).
        """
        ...

    async def penalize(self, budgets: Sequence[Budget], seconds: float) -> None:
        """Let nothing start through ``budgets`` for ``seconds`` from now (a refusal was seen)."""
        ...


_SHARED_URLS = ("redis://", "rediss://", "unix://")
_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, list[Any]]] = (
    weakref.WeakKeyDictionary()
)


def limiter_for(rate_limits: str | Limiter | None = None) -> Limiter:
    """The limiter a client should use for its ``rate_limits=`` setting (call it on the loop).

    ``None``: the in-process limiter of the running event loop (shared by its clients).
    A ``redis://``, ``rediss://`` or ``unix://`` URL: one shared `RedisLimiter` per URL per
    event loop, counted per call; give it back with `release_limiter` when the client closes
    (the last one out closes it). A limiter object: itself (its owner closes it).
    Anything else raises `ValidationError`.
    """
    if rate_limits is None:
        from .limiter_memory import memory_limiter_for_running_loop

        return memory_limiter_for_running_loop()
    if isinstance(rate_limits, str):
        if not rate_limits.startswith(_SHARED_URLS):
            raise ValidationError("rate_limits must be a redis:// or rediss:// URL")
        table = _shared.setdefault(asyncio.get_running_loop(), {})
        entry = table.get(rate_limits)
        if entry is None:
            from .limiter_redis import RedisLimiter

            entry = table[rate_limits] = [RedisLimiter(rate_limits), 0]
        entry[1] += 1
        limiter: Limiter = entry[0]
        return limiter
    if all(callable(getattr(rate_limits, name, None)) for name in _LIMITER_METHODS):
        return rate_limits
    raise ValidationError("rate_limits must be None, a redis:// URL or a limiter object")


_LIMITER_METHODS = ("wait_group", "acquire", "penalize")


async def release_limiter(limiter: Limiter) -> None:
    """A client is done with a limiter from `limiter_for`: close a URL-made one after its last.

    Does nothing for the in-process limiter or a limiter object the caller passed in.
    """
    for table in list(_shared.values()):
        for url, entry in list(table.items()):
            shared: Any = entry[0]
            if entry[0] is limiter:
                entry[1] -= 1
                if entry[1] <= 0:
                    del table[url]
                    await shared.aclose()
                return
