"""Client-side rate limiting that keeps the exchange's promise as the *server* counts it.

An exchange limit reads "at most N requests in any window of W seconds". Each such limit is a
`Bucket`: an ``aiolimiter.AsyncLimiter`` that holds about one token and drains one every
``interval = W * (1 + margin) / N`` seconds. Such a bucket cannot burst, so any N + 1
consecutive starts span at least ``W * (1 + margin)`` seconds (less a 2 ms catch-up allowance):
the server sees at most N in any W-second window as long as network jitter stays under
``W * margin``. (The obvious ``AsyncLimiter(N, W)`` starts full, lets N through at once and then
one every W/N: 2N - 1 starts in the first second, and the server may count 2N.) With the
default margin of 5 % that is 95 % of the documented rate.

A request usually needs several buckets at once: its endpoint's per-account limit and a wider
one (Bitget's per-IP limit, CoinW's per-account global limit). Taking them one after the other
would record the first too early: while the request waits for the second, its first token ages
and the next request of that account could start less than ``interval`` after this one really
left. `acquire` therefore takes each bucket's FIFO lock, narrowest first, holds them all until
the request may start, and then *tops the earlier buckets up* by what they leaked while it
waited, so every bucket records the moment the request actually starts.

A bucket can also be paused (the exchange answered "too many requests"): nothing starts through
it until the pause ends.

Buckets live in a `LimiterRegistry`, one per event loop, keyed by (server, limit name, scope),
so every client of the same account in the process shares them.
"""

from __future__ import annotations

import asyncio
import math
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from aiolimiter import AsyncLimiter

from .._errors import RateLimitWaitTimeout, ValidationError

__all__ = [
    "DEFAULT_MARGIN",
    "Bucket",
    "LimiterRegistry",
    "RateLimit",
    "Reservation",
    "Scope",
    "acquire",
    "registry_for_running_loop",
]

DEFAULT_MARGIN = 0.05
"""Default safety margin: 5 % of each window, i.e. 50 ms of jitter tolerance on a 1 s window."""


class Scope(IntEnum):
    """Who shares a limit, narrowest first; buckets are always taken in this order."""

    ENDPOINT = 0
    """One endpoint of one account (Bitget per UID, CoinW per user and IP)."""
    ACCOUNT = 1
    """All endpoints of one account (CoinW's global per-UID limit)."""
    IP = 2
    """Every request from this process to that server (Bitget's per-IP limit)."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A documented limit: at most ``max_requests`` in any ``period`` seconds, shared by ``scope``.

    ``name`` identifies the limit: two endpoints that declare the same name and scope share one
    budget.
    """

    name: str
    max_requests: int
    period: float
    scope: Scope

    def interval(self, margin: float) -> float:
        """The minimum spacing between request starts that keeps this limit with ``margin``."""
        return self.period * (1.0 + margin) / self.max_requests


CATCH_UP = 0.002
"""Seconds of event-loop lateness a bucket may make up, at most (see `Bucket`)."""


class Bucket:
    """One shared budget: request starts spaced ``interval`` seconds apart on average.

    The leaky bucket holds ``1 + catch_up / interval`` tokens and drains one per ``interval``:
    a waiter the event loop wakes up to ``catch_up`` seconds late keeps its place in the
    schedule instead of pushing every later start back (at 10.5 ms spacing, a busy loop would
    otherwise lose several percent of the rate). Any N + 1 starts still span at least
    ``N * interval - catch_up``; the registry keeps ``catch_up`` within a quarter of the safety
    margin (and 0 when the margin is 0).
    """

    __slots__ = ("_limiter", "_lock", "interval", "name", "paused_until", "scope", "starts")

    def __init__(
        self,
        name: str,
        interval: float,
        scope: Scope = Scope.ENDPOINT,
        catch_up: float = 0.0,
    ) -> None:
        self.name = name
        self.interval = interval
        self.scope = scope
        capacity = 1.0 + min(catch_up / interval, 1.0)
        self._limiter = AsyncLimiter(capacity, capacity * interval)
        self._lock = asyncio.Lock()
        self.paused_until = 0.0
        self.starts = 0

    def pause(self, seconds: float) -> None:
        """Let nothing start through this bucket for ``seconds`` from now."""
        until = asyncio.get_running_loop().time() + seconds
        self.paused_until = max(self.paused_until, until)

    def __repr__(self) -> str:
        return f"<Bucket {self.name} interval={self.interval:.4f}s starts={self.starts}>"


class Reservation:
    """The right to send one request: from `acquire` until its bytes are about to leave.

    Until then it holds the locks of the account-level buckets, so no other request of the
    account can start in between. `sent` re-dates the start in those buckets to the moment the
    request really goes out (after waiting for a pooled connection, DNS, TCP and TLS, which
    would otherwise eat into the safety margin) and releases them. Call `release` in a
    ``finally``: it only unlocks, for a request that never went out.
    """

    __slots__ = ("_done", "_held", "_start", "sent_ms")

    def __init__(self, held: list[Bucket], start: float) -> None:
        self._held = held
        self._start = start
        self._done = not held
        self.sent_ms: float | None = None
        """Wall-clock ms when `sent` was first called."""

    def sent(self) -> None:
        """The request is leaving now. Idempotent, never waits."""
        if self.sent_ms is None:
            self.sent_ms = time.time() * 1000
        if self._done:
            return
        self._done = True
        try:
            late = asyncio.get_running_loop().time() - self._start
            if late > 0:
                for bucket in self._held:
                    # Record the start `late` seconds later: the next start waits that much
                    # longer. Nobody else took from the bucket meanwhile: we hold its lock.
                    bucket._limiter._leak()
                    bucket._limiter._level += min(1.0, late / bucket.interval)
        finally:
            self._unlock()

    def release(self) -> None:
        """Unlock without re-dating (the request did not leave, or `sent` already ran)."""
        if not self._done:
            self._done = True
            self._unlock()

    def _unlock(self) -> None:
        for bucket in reversed(self._held):
            bucket._lock.release()
        self._held = []


async def acquire(buckets: Sequence[Bucket], *, max_wait: float | None = None) -> Reservation:
    """Wait until a request may start under every bucket, then record the start in all of them.

    ``buckets`` must be ordered as `LimiterRegistry.buckets_for` orders them. Returns a
    `Reservation` that the caller must end with `Reservation.sent` or `Reservation.release`.
    Raises `RateLimitWaitTimeout` instead of waiting longer than ``max_wait`` seconds (a slot
    of a narrow bucket may have been spent meanwhile: conservative, never over the limit).
    """
    if max_wait is None:
        return await _acquire(buckets)
    try:
        async with asyncio.timeout(max_wait):
            return await _acquire(buckets)
    except TimeoutError:
        names = ", ".join(b.name for b in buckets)
        raise RateLimitWaitTimeout(
            f"waited more than {max_wait:g}s for the rate limiter ({names})"
        ) from None


async def _acquire(buckets: Sequence[Bucket]) -> Reservation:
    loop = asyncio.get_running_loop()
    locked: list[Bucket] = []
    try:
        while True:
            await _sleep_through_pauses(buckets, loop)
            taken_at: list[float] = []
            for bucket in buckets:
                # Each bucket's FIFO lock is taken just before its token (narrowest first, one
                # global order, so no deadlock): callers queue in arrival order, where
                # aiolimiter alone lets a newcomer take capacity ahead of a waiter it has just
                # woken; and a wide bucket's lock is never held while waiting for a narrow one.
                if len(locked) < len(buckets) and bucket not in locked:
                    await bucket._lock.acquire()
                    locked.append(bucket)
                await bucket._limiter.acquire()
                taken_at.append(loop.time())
            now = taken_at[-1]
            # Earlier buckets leaked while we waited for later ones: refill them so each
            # records this start at `now`. Nobody else can take them: we hold their locks.
            for bucket, t in zip(buckets, taken_at, strict=False):
                leaked = (now - t) / bucket.interval
                if leaked > 0:
                    await bucket._limiter.acquire(min(1.0, leaked))
            if not any(b.paused_until > now for b in buckets):
                break
            # A pause began while we waited (another request saw a rate-limit reply): the
            # tokens just taken are spent conservatively; wait the pause out and start over.
        for bucket in buckets:
            bucket.starts += 1
        # Account-level locks stay with the reservation until the request leaves; the IP
        # limits' windows are a minute long and their margin (3 s) absorbs any send delay.
        kept = [b for b in locked if b.scope is not Scope.IP]
        reservation = Reservation(kept, now)
        locked = [b for b in locked if b.scope is Scope.IP]
        return reservation
    finally:
        for bucket in reversed(locked):
            bucket._lock.release()


async def _sleep_through_pauses(buckets: Sequence[Bucket], loop: asyncio.AbstractEventLoop) -> None:
    while True:
        until = max(b.paused_until for b in buckets)
        delay = until - loop.time()
        if delay <= 0:
            return
        await asyncio.sleep(delay)


class LimiterRegistry:
    """The process-wide (per event loop) table of buckets, so clients share account budgets."""

    __slots__ = ("_buckets",)

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str, Scope, str], Bucket] = {}

    def bucket(self, server: str, limit: RateLimit, scope_id: str, margin: float) -> Bucket:
        """The bucket of ``limit`` on ``server`` for ``scope_id`` (an account id, or ``"ip"``).

        The first client to ask creates it with its ``margin``; later ones share it as is.
        """
        key = (server, limit.name, limit.scope, scope_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            validate_margin(margin)
            bucket = Bucket(
                f"{limit.name}[{limit.scope.name.lower()}]",
                limit.interval(margin),
                limit.scope,
                catch_up=min(CATCH_UP, limit.period * margin / 4),
            )
            self._buckets[key] = bucket
        return bucket

    def buckets_for(
        self,
        server: str,
        limits: Sequence[RateLimit],
        account_ids: Sequence[str],
        margin: float,
    ) -> tuple[Bucket, ...]:
        """The buckets one request must pass, in the one global order locks are taken in.

        An account-level limit gets one bucket per id in ``account_ids`` (a UID and the API
        key, when both are known: clients that know only one of them still share the limit).
        """
        keys = sorted(
            (
                (limit.scope, limit.name, scope_id, limit)
                for limit in limits
                for scope_id in (("ip",) if limit.scope is Scope.IP else set(account_ids))
            ),
            key=lambda key: key[:3],
        )
        return tuple(self.bucket(server, limit, scope_id, margin) for _, _, scope_id, limit in keys)

    def __len__(self) -> int:
        return len(self._buckets)


def validate_margin(margin: float) -> float:
    """Check a safety margin: a finite fraction in [0, 1]."""
    if not isinstance(margin, (int, float)) or not math.isfinite(margin) or not 0 <= margin <= 1:
        raise ValidationError("rate_limit_margin must be a number between 0 and 1")
    return float(margin)


_registries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LimiterRegistry] = (
    weakref.WeakKeyDictionary()
)


def registry_for_running_loop() -> LimiterRegistry:
    """The registry shared by every client on the running event loop."""
    loop = asyncio.get_running_loop()
    registry = _registries.get(loop)
    if registry is None:
        registry = _registries[loop] = LimiterRegistry()
    return registry
