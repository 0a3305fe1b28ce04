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
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from .._errors import ValidationError
from .ratelimit import RateLimit, Scope

__all__ = [
    "Budget",
    "Limiter",
    "Permit",
    "WaitGroup",
    "budgets_for",
    "check_redis_url",
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

    def sent(self) -> Awaitable[None] | None:
        """The request's bytes are about to leave: re-date a late start. Idempotent.

        Returns None, or (a shared limiter, when the start slot passed too long ago for
        processes that share it) an awaitable to await before the bytes leave: it waits for a
        new slot, or raises `RateLimitWaitTimeout`.
        """
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
_LIMITER_METHODS = ("wait_group", "acquire", "penalize")


class _PerLoop:
    """A limiter usable from any event loop: each call goes to the running loop's instance.

    Created without a running loop (clients are often built outside one); wait groups are
    plain objects, valid on every loop.
    """

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.users = 0
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )

    def _here(self) -> Any:
        if self.url is None:
            from .limiter_memory import memory_limiter_for_running_loop

            return memory_limiter_for_running_loop()
        loop = asyncio.get_running_loop()
        limiter = self._by_loop.get(loop)
        if limiter is None:
            from .limiter_redis import RedisLimiter

            limiter = self._by_loop[loop] = RedisLimiter(self.url)
        return limiter

    def wait_group(self) -> WaitGroup:
        """A new group for one client's waits (valid on every loop)."""
        if self.url is None:
            from .limiter_memory import MemoryWaitGroup

            return MemoryWaitGroup()
        from .limiter_redis import RedisWaitGroup

        return RedisWaitGroup()

    async def acquire(
        self, budgets: Sequence[Budget], *, max_wait: float | None, group: WaitGroup
    ) -> Permit:
        """See `Limiter.acquire`."""
        permit: Permit = await self._here().acquire(budgets, max_wait=max_wait, group=group)
        return permit

    async def penalize(self, budgets: Sequence[Budget], seconds: float) -> None:
        """See `Limiter.penalize`."""
        await self._here().penalize(budgets, seconds)

    async def aclose(self) -> None:
        """Close the running loop's Redis connection (others go with their loops)."""
        limiter = self._by_loop.pop(asyncio.get_running_loop(), None)
        if limiter is not None:
            await limiter.aclose()


_IN_PROCESS = _PerLoop(None)
_shared: dict[str, _PerLoop] = {}


def limiter_for(rate_limits: str | Limiter | None = None) -> Limiter:
    """The limiter for a client's ``rate_limits=`` setting (no running loop needed).

    ``None``: the in-process limiter, shared by every client on the same event loop.
    A ``redis://``, ``rediss://`` or ``unix://`` URL: one shared `RedisLimiter` per URL (and
    per event loop), counted per call: give it back with `release_limiter` when the client
    closes (the last one out closes the connection). A limiter object: itself (its owner
    closes it). Anything else raises `ValidationError` (never echoing the value: a URL may
    hold a password).
    """
    if rate_limits is None:
        return _IN_PROCESS
    if isinstance(rate_limits, str):
        if not rate_limits.startswith(_SHARED_URLS):
            raise ValidationError("rate_limits must be a redis:// or rediss:// URL")
        try:
            import redis  # noqa: F401
        except ImportError:
            raise ValidationError(
                'rate_limits=<URL> needs the redis extra: pip install "exchange-async[redis]"'
            ) from None
        check_redis_url(rate_limits)
        shared = _shared.get(rate_limits)
        if shared is None:
            shared = _shared[rate_limits] = _PerLoop(rate_limits)
        shared.users += 1
        return shared
    if all(callable(getattr(rate_limits, name, None)) for name in _LIMITER_METHODS):
        return rate_limits
    raise ValidationError("rate_limits must be None, a redis:// URL or a limiter object")


def check_redis_url(url: object, name: str = "rate_limits") -> str:
    """``url`` if redis-py can parse it (port, db, options), else `ValidationError`.

    Checked when a client is built, not at its first request: redis-py's own ``ValueError``
    would otherwise escape a call, with the URL (and its password) in its traceback's frames.
    The message never echoes the URL.
    """
    from redis.asyncio.connection import parse_url

    try:
        parse_url(url)  # type: ignore[arg-type]  # anything but a good URL string raises
    except Exception:
        raise ValidationError(
            f"{name} is not a usable Redis URL (redis://[:password@]host[:port][/db])"
        ) from None
    return cast("str", url)


async def release_limiter(limiter: Limiter) -> None:
    """A client is done with a limiter from `limiter_for`: the last user of a URL closes it.

    Does nothing for the in-process limiter or a limiter object the caller passed in.
    """
    if isinstance(limiter, _PerLoop) and limiter.url is not None:
        limiter.users -= 1
        if limiter.users <= 0:
            _shared.pop(limiter.url, None)
            await limiter.aclose()
