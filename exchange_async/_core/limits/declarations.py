"""Rate limits as the exchanges document them: at most N requests in any window of W seconds.

These are declarations only; the limiters in this package keep them. Each limit is kept as a
GCRA schedule (see `Budget`): a steady spacing ``T = W * (1 + margin) / N`` between request
starts, and a *burst tolerance* ``tau``: a start may come up to ``tau`` before its slot.

**Why this keeps the window.** Under GCRA with spacing ``T`` and tolerance ``tau``, any
``k + 1`` starts span at least ``k * T - tau``. So N + 1 starts span at least
``N * T - tau = W + (W * margin - tau)``: the server, which sees each start up to ``J`` late
(network jitter), never counts more than N in a window of W while ``J < W * margin - tau``.
Equivalently, a client window of length ``W + J`` holds at most ``floor((W + J + tau) / T) + 1``
starts, and the tolerance is the largest that keeps that at N.

**The choice.** The margin of a window up to a second is all jitter allowance, as before; a
longer window splits its margin: half for jitter (and for sends that leave late, which a
shared budget does not chain), half for a burst:

    J   = max(margin * min(W, 1 s), W * margin / 2)
    tau = max(catch_up, W * margin - J)          burst = floor(tau / T) + 1 starts at once

- 5 per 1 s (margin 5 %): ``T`` = 210 ms, ``J`` = 50 ms, ``tau`` = the 2 ms catch-up, burst 1
  (a plain spacing, as before: any 6 starts span at least 1.048 s).
- 6,000 per 60 s: ``T`` = 10.5 ms, ``J`` = ``tau`` = 1.5 s, burst 143: an idle budget lets
  143 requests leave at once, then one every 10.5 ms; any 6,001 starts span at least 61.5 s,
  so a send may reach the server up to 1.5 s late (a TLS handshake, a busy event loop) and
  the server still counts at most 6,000 in any minute. (All the margin on the burst would
  give 281, but then a per-IP send could be only 50 ms late.)

``catch_up`` (2 ms, at most a quarter of the margin, 0 with no margin) lets a waiter the event
loop wakes a little late keep its place instead of pushing every later start back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

from ..._errors import ValidationError

__all__ = [
    "CATCH_UP",
    "DEFAULT_MARGIN",
    "JITTER_WINDOW",
    "RateLimit",
    "Scope",
    "validate_margin",
]

DEFAULT_MARGIN = 0.05
"""Default safety margin: 5 % of each window, i.e. 50 ms of jitter tolerance on a 1 s window."""

CATCH_UP = 0.002
"""Seconds of event-loop lateness a budget may make up, at most: a waiter woken this late
keeps its place in the schedule (capped at a quarter of the margin, 0 with no margin)."""

JITTER_WINDOW = 1.0
"""Seconds of window whose whole margin is kept for jitter (see the module docstring)."""


class Scope(IntEnum):
    """Who shares a limit, narrowest first; limiters take budgets in this order."""

    ENDPOINT = 0
    """One endpoint of one account (Bitget per UID, CoinW per user and IP)."""
    ACCOUNT = 1
    """All endpoints of one account (CoinW's global per-UID limit)."""
    IP = 2
    """Every request from this process to that server (Bitget's per-IP limit): *shared* by
    accounts, so limiters take it only once a request's own budgets let it start."""


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

    def timing(self, margin: float) -> tuple[float, float, float, float]:
        """``(interval, tolerance, catch_up, jitter)`` in seconds for ``margin``, in one step
        (what a limiter's schedule keeps; the module docstring derives them).

        ``interval`` is ``T``, ``tolerance`` the burst tolerance ``tau``, ``catch_up`` what a
        late-woken waiter may make up (`CATCH_UP`), ``jitter`` how late a start may reach the
        server while it still counts at most N in any window (``N * T - tau - W``). Raises
        `ValidationError` for a margin outside [0, 1].
        """
        if not isinstance(margin, (int, float)) or not 0 <= margin <= 1:  # NaN fails too
            raise ValidationError("rate_limit_margin must be a number between 0 and 1")
        period = self.period
        catch_up = min(CATCH_UP, period * margin / 4)
        jitter = max(margin * min(period, JITTER_WINDOW), period * margin / 2)
        tolerance = max(catch_up, period * margin - jitter)
        interval = period * (1.0 + margin) / self.max_requests
        return interval, tolerance, catch_up, period * margin - tolerance + 0.0

    def interval(self, margin: float) -> float:
        """The steady spacing between request starts (seconds) that keeps this limit."""
        return self.timing(margin)[0]

    def tolerance(self, margin: float) -> float:
        """The GCRA burst tolerance ``tau`` (seconds): a start may come this long before its
        slot (the module docstring derives it)."""
        return self.timing(margin)[1]

    def catch_up(self, margin: float) -> float:
        """Seconds a late-woken waiter may make up (see `CATCH_UP`)."""
        return self.timing(margin)[2]

    def jitter(self, margin: float) -> float:
        """Seconds a start may reach the server late (network jitter, a late send) while the
        server still counts at most N in any window: ``N * T - tau - W``."""
        return self.timing(margin)[3]

    def burst(self, margin: float) -> int:
        """How many requests an idle budget lets start at once: ``floor(tau / T) + 1``."""
        return math.floor(self.tolerance(margin) / self.interval(margin) + 1e-9) + 1


def validate_margin(margin: float) -> float:
    """Check a safety margin: a finite fraction in [0, 1]."""
    if not isinstance(margin, (int, float)) or not math.isfinite(margin) or not 0 <= margin <= 1:
        raise ValidationError("rate_limit_margin must be a number between 0 and 1")
    return float(margin)
