"""Rate accounting with penalties: sliding windows, per-endpoint limits, what a strict
exchange would call a violation, Bitget's per-IP penalty and CoinW's ban ladder.

Everything here is exchange-neutral arithmetic on ``time.monotonic()`` values; the venues
decide which scope a request counts in and what to answer.
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_right, insort
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "LATE_ARRIVAL",
    "BanLadder",
    "CoinWPenalty",
    "EndpointLimit",
    "IpPenalties",
    "LadderRules",
    "PenaltyLevel",
    "RateWindows",
    "SlidingWindow",
    "ViolationCounter",
    "over_limit",
    "running_loop_time",
]


def running_loop_time() -> float:
    """The running event loop's ``time()`` in seconds (:func:`time.monotonic` outside a loop):
    a :class:`~exchange_async_sim.Simulator` clock that follows a virtual-time test loop."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


LATE_ARRIVAL = 10.0
"""Seconds an arrival may be reported behind the newest of its scope and still be counted
exactly (arrivals stamped at the socket reach the counter in handler order)."""


@dataclass(frozen=True, slots=True)
class EndpointLimit:
    """A documented limit: at most ``requests`` per account in any ``window`` seconds."""

    requests: int
    window: float = 1.0


class SlidingWindow:
    """Arrival times of one limit scope; counts what falls in the last ``window`` seconds."""

    __slots__ = ("_times", "window")

    def __init__(self, window: float) -> None:
        self.window = window
        self._times: list[float] = []

    def hit(self, t: float) -> int:
        """Count an arrival at ``t``; return the arrivals in ``(t - window, t]``, it included."""
        times = self._times
        if not times or t >= times[-1]:
            times.append(t)
        else:
            insort(times, t)
        # Kept long enough to count an arrival stamped up to LATE_ARRIVAL s before the newest.
        stale = bisect_right(times, times[-1] - self.window * 2 - LATE_ARRIVAL)
        if stale:
            del times[:stale]
        return bisect_right(times, t) - bisect_right(times, t - self.window)


class RateWindows:
    """Sliding windows keyed by limit scope, e.g. ``("bitget", uid, path)``."""

    __slots__ = ("_windows",)

    def __init__(self) -> None:
        self._windows: dict[tuple[str, ...], SlidingWindow] = {}

    def hit(self, scope: tuple[str, ...], t: float, window: float) -> int:
        """Count an arrival at ``t`` in ``scope``; return how many the window now holds."""
        found = self._windows.get(scope)
        if found is None:
            found = self._windows[scope] = SlidingWindow(window)
        return found.hit(t)

    def clear(self) -> None:
        """Forget every counted arrival."""
        self._windows.clear()


def over_limit(times: list[float], limit: EndpointLimit) -> int:
    """How many of the sorted ``times`` are over ``limit``: more than ``limit.requests``
    arrivals, it and those before it, fall in ``(t - limit.window, t]`` (the counter's rule,
    at once; of equal times, the later in the list counts the earlier)."""
    over = start = 0
    for end, t in enumerate(times):
        while times[start] <= t - limit.window:
            start += 1
        over += end + 1 - start > limit.requests
    return over


class _Scope:
    """One (exchange, account, path)'s recent arrival times, sorted (equal times in the
    order they were counted)."""

    __slots__ = ("times",)

    def __init__(self) -> None:
        self.times: list[float] = []

    def hit(self, t: float, limit: EndpointLimit) -> int:
        """Count the arrival at ``t``; return how many arrivals it put over the limit: itself,
        and when it is counted late, later ones whose window now holds one more."""
        times, window, most = self.times, limit.window, limit.requests
        if not times or t >= times[-1]:
            times.append(t)
            at = len(times) - 1
        else:
            at = bisect_right(times, t)
            times.insert(at, t)
        new = int(self._count(at, window) > most)
        j = at + 1
        while j < len(times) and times[j] - window < t:  # only when counted late
            new += self._count(j, window) == most + 1
            j += 1
        stale = bisect_right(times, times[-1] - window - LATE_ARRIVAL)
        if stale:
            del times[:stale]
        return new

    def _count(self, j: int, window: float) -> int:
        return j + 1 - bisect_right(self.times, self.times[j] - window)


class ViolationCounter:
    """Counts arrivals a strict exchange would call over the limit, per exchange.

    An arrival at ``t`` is over when more than ``limit.requests`` arrived for the same
    (exchange, account, path) in the sliding window ``(t - limit.window, t]``, it included.
    Arrivals may be counted out of order (up to :data:`LATE_ARRIVAL` seconds late): the count
    is the same as if they had come in time order. It keeps its own windows, so it counts
    whether or not limits are enforced.
    """

    __slots__ = ("_over", "_scopes")

    def __init__(self) -> None:
        self._scopes: dict[tuple[str, str, str], _Scope] = {}
        self._over: dict[str, int] = {"bitget": 0, "coinw": 0}

    def arrive(
        self, exchange: str, account: str, path: str, t: float, limit: EndpointLimit
    ) -> None:
        """Count one arrival on a limited endpoint."""
        key = (exchange, account, path)
        scope = self._scopes.get(key)
        if scope is None:
            scope = self._scopes[key] = _Scope()
        over = scope.hit(t, limit)
        if over:
            self._over[exchange] = self._over.get(exchange, 0) + over

    def count(self, exchange: str | None = None) -> int:
        """Violations so far, of one exchange or of all."""
        if exchange is None:
            return sum(self._over.values())
        return self._over.get(exchange, 0)

    def clear(self) -> None:
        """Forget every counted arrival and violation."""
        self._scopes.clear()
        self._over = {"bitget": 0, "coinw": 0}


class IpPenalties:
    """Bitget's per-IP penalty: an IP over its per-minute limit is refused for a while.

    ``until`` maps IP to the monotonic time its penalty ends.
    """

    __slots__ = ("until",)

    def __init__(self) -> None:
        self.until: dict[str, float] = {}

    def penalized(self, ip: str, t: float) -> bool:
        """Whether ``ip`` is in its penalty at ``t``."""
        return t < self.until.get(ip, float("-inf"))

    def any(self, t: float) -> bool:
        """Whether any IP is in its penalty at ``t``."""
        return any(t < until for until in self.until.values())

    def start(self, ip: str, t: float, seconds: float) -> None:
        """Penalise ``ip`` from ``t`` for ``seconds``, unless it already is."""
        if not self.penalized(ip, t):
            self.until[ip] = t + seconds

    def clear(self) -> None:
        """Lift every penalty."""
        self.until.clear()


PenaltyLevel = Literal["none", "warning", "banned", "blacklisted"]
"""Where a CoinW user stands on the ban ladder."""


@dataclass(eq=False, slots=True)
class CoinWPenalty:
    """One CoinW user's place on the ban ladder (times are ``time.monotonic()`` values).

    ``errors`` holds the times of recent rate-limit refusals, ``bans`` the start times of
    recent bans; each ``*_until`` is when that phase ends.
    """

    errors: deque[float] = field(default_factory=deque)
    bans: deque[float] = field(default_factory=deque)
    warning_until: float = float("-inf")
    banned_until: float = float("-inf")
    blacklisted_until: float = float("-inf")

    def level(self, t: float) -> PenaltyLevel:
        """The user's phase at ``t``."""
        if t < self.blacklisted_until:
            return "blacklisted"
        if t < self.banned_until:
            return "banned"
        if t < self.warning_until:
            return "warning"
        return "none"


@dataclass(frozen=True, slots=True)
class LadderRules:
    """The numbers of CoinW's ban ladder (seconds, counts); see :class:`SimulatorConfig`."""

    threshold: int
    window: float
    warning_seconds: float
    ban_seconds: float
    blacklist_bans: int
    blacklist_window: float
    blacklist_seconds: float


class BanLadder:
    """CoinW's escalation, per user: refusals → warning (limits halved) → ban → blacklist.

    When a user's rate-limit refusals within ``rules.window`` reach ``rules.threshold``, a
    warning phase starts; reaching it again during the warning phase bans the user, after
    which a fresh warning phase runs; the ``blacklist_bans``-th ban within
    ``blacklist_window`` blacklists the user. ``users`` maps user id to its state.
    """

    __slots__ = ("users",)

    def __init__(self) -> None:
        self.users: dict[str, CoinWPenalty] = {}

    def level(self, user: str, t: float) -> PenaltyLevel:
        """The phase of ``user`` at ``t``."""
        state = self.users.get(user)
        return "none" if state is None else state.level(t)

    def refused(self, user: str, t: float, rules: LadderRules) -> None:
        """Count a rate-limit refusal of ``user`` at ``t``; climb the ladder if due."""
        state = self.users.get(user)
        if state is None:
            state = self.users[user] = CoinWPenalty()
        errors = state.errors
        errors.append(t)
        while errors and errors[0] <= t - rules.window:
            errors.popleft()
        if len(errors) < rules.threshold:
            return
        errors.clear()
        if t >= state.warning_until:
            state.warning_until = t + rules.warning_seconds
            return
        state.banned_until = t + rules.ban_seconds
        state.warning_until = state.banned_until + rules.warning_seconds
        bans = state.bans
        bans.append(t)
        while bans and bans[0] <= t - rules.blacklist_window:
            bans.popleft()
        if len(bans) >= rules.blacklist_bans:
            bans.clear()
            state.blacklisted_until = t + rules.blacklist_seconds

    def clear(self) -> None:
        """Put every user back at the foot of the ladder."""
        self.users.clear()
