"""The demo's request rate: a sliding window over request counts, and what the limits allow.

Shared by the single-process `Tracker` and the multi-process `FleetState`.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

from .frame import MIN_RATE_SECONDS

if TYPE_CHECKING:
    from .._sim import FleetAccount

__all__ = [
    "BITGET_PER_ACCOUNT",
    "BITGET_PER_IP",
    "COINW_PER_ACCOUNT",
    "RATE_WINDOW",
    "RateMeter",
]

BITGET_PER_ACCOUNT = 5.0
"""Bitget tracking orders: requests per second per account."""
BITGET_PER_IP = 100.0
"""Bitget: requests per second per IP, every account together (6000 per minute)."""
COINW_PER_ACCOUNT = 10.0
"""CoinW order information: requests per second per account."""
RATE_WINDOW = 5.0
"""Seconds of samples the live request rate is taken over."""


class RateMeter:
    """Request-rate bookkeeping; the subclass counts the requests (`requests`)."""

    fleet: list[FleetAccount]
    started: float
    frozen_at: float | None
    run_requests: int

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.frozen_at = None
        self.run_requests = 0
        self._samples: deque[tuple[float, int]] = deque([(self.started, 0)])

    def requests(self) -> int:
        """Requests sent so far."""
        raise NotImplementedError

    def start(self) -> None:
        """Polling starts now: the clock and the rate start from here."""
        self.started = time.monotonic()
        self._samples = deque([(self.started, self.requests())])

    def allowed_rate(self) -> float:
        """Requests per second the documented limits allow the fleet (bad key excluded)."""
        bitget = sum(1 for a in self.fleet if a.exchange == "bitget")
        coinw = len(self.fleet) - bitget
        return min(bitget * BITGET_PER_ACCOUNT, BITGET_PER_IP) + coinw * COINW_PER_ACCOUNT

    def sample(self) -> None:
        """Record the request count now, for the sliding-window rate."""
        now = time.monotonic()
        self._samples.append((now, self.requests()))
        while len(self._samples) > 2 and now - self._samples[1][0] >= RATE_WINDOW:
            self._samples.popleft()

    def _rate_seconds(self, now: float) -> float:
        """The span :meth:`_rate` is measured over at ``now``."""
        if self.frozen_at is not None:
            return self.frozen_at - self.started
        return self._samples[-1][0] - self._samples[0][0]

    def _rate(self, now: float) -> float | None:
        if self.frozen_at is not None:
            seconds = self.frozen_at - self.started
            return self.run_requests / seconds if seconds > 0 else None
        if now - self.started < MIN_RATE_SECONDS or len(self._samples) < 2:
            return None
        (then, before), (last, total) = self._samples[0], self._samples[-1]
        return (total - before) / (last - then) if last > then else None
