"""Rate limits as the exchanges document them: at most N requests in any window of W seconds.

These are declarations only. The limiters that keep them live behind the seam in `limiter`:
`limiter_memory.MemoryLimiter` in-process and `limiter_redis.RedisLimiter` across processes.
Both space request starts at least ``W * (1 + margin) / N`` apart per budget, less a small
catch-up allowance, so the server never counts more than N in any W-second window while the
network's jitter stays under ``W * margin``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

from .._errors import ValidationError

__all__ = ["CATCH_UP", "DEFAULT_MARGIN", "RateLimit", "Scope", "validate_margin"]

DEFAULT_MARGIN = 0.05
"""Default safety margin: 5 % of each window, i.e. 50 ms of jitter tolerance on a 1 s window."""


class Scope(IntEnum):
    """Who shares a limit, narrowest first; limiters take budgets in this order."""

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
"""Seconds of event-loop lateness a budget may make up, at most: a waiter woken this late
keeps its place in the schedule (capped at a quarter of the margin, 0 with no margin)."""


def validate_margin(margin: float) -> float:
    """Check a safety margin: a finite fraction in [0, 1]."""
    if not isinstance(margin, (int, float)) or not math.isfinite(margin) or not 0 <= margin <= 1:
        raise ValidationError("rate_limit_margin must be a number between 0 and 1")
    return float(margin)
