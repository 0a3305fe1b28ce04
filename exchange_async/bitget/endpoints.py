"""Bitget endpoints as data: path, limits, reply type. Adding one is a few lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .._core.endpoint import Endpoint
from .._core.ratelimit import RateLimit, Scope
from .models import ServerTime, TrackingPageWire

__all__ = ["CURRENT_TRACK", "IP_LIMIT", "SERVER_TIME", "copy_trader_endpoint"]

T = TypeVar("T")

IP_LIMIT = RateLimit("bitget.ip", 6000, 60.0, Scope.IP)
"""6000 requests per minute per IP, across every Bitget endpoint."""


def copy_trader_endpoint(
    path: str, data_type: type[T], per_uid: int = 5, absent: Callable[[], T] | None = None
) -> Endpoint[T]:
    """A signed GET of the copy-trading family: ``per_uid`` requests/s per UID, plus the IP cap."""
    limits = (RateLimit(path, per_uid, 1.0, Scope.ENDPOINT), IP_LIMIT)
    return Endpoint("GET", path, limits, data_type, absent=absent)


CURRENT_TRACK = copy_trader_endpoint(
    "/api/v2/copy/mix-trader/order-current-track", TrackingPageWire, absent=TrackingPageWire
)
"""Get Current Tracking Orders: 5 req/s per UID."""

SERVER_TIME = Endpoint(
    "GET",
    "/api/v2/public/time",
    (RateLimit("/api/v2/public/time", 20, 1.0, Scope.IP), IP_LIMIT),
    ServerTime,
    signed=False,
)
"""Server time, public: 20 req/s per IP."""
