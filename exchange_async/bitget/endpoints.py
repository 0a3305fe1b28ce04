"""Bitget endpoints as data: path, limits, reply type. Adding one is a few lines."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .._core.declarations import Endpoint
from .._core.limits import RateLimit, Scope
from .models import BLANK_AS_NULL, ServerTime, TrackingPageWire, to_page

__all__ = ["CURRENT_TRACK", "IP_LIMIT", "SERVER_TIME", "copy_trader_endpoint"]

T = TypeVar("T")

IP_LIMIT = RateLimit("bitget.ip", 6000, 60.0, Scope.IP)
"""6000 requests per minute per IP, across every Bitget endpoint."""


def copy_trader_endpoint(
    path: str,
    data_type: type[Any],
    *,
    convert: Callable[[Any], T],
    per_uid: int = 5,
    absent: Callable[[], Any] | None = None,
    cursor_param: str | None = None,
    blank_as_null: tuple[str, ...] = (),
) -> Endpoint[T]:
    """A signed GET of the copy-trading family: ``per_uid`` requests/s per UID, plus the IP cap.

    ``convert`` turns the decoded ``data_type`` into the public page; ``cursor_param`` is the
    query parameter of the next page's cursor. ``blank_as_null``: keys of price fields Bitget
    sends as ``""`` when unset (all ending in ``Price``, like every such field of the family).
    """
    limits = (RateLimit(path, per_uid, 1.0, Scope.ENDPOINT), IP_LIMIT)
    suffix = "Price" if blank_as_null else None
    return Endpoint(
        "GET",
        path,
        limits,
        data_type,
        absent=absent,
        convert=convert,
        cursor_param=cursor_param,
        blank_as_null=blank_as_null,
        fast_suffix=suffix,
    )


CURRENT_TRACK = copy_trader_endpoint(
    "/api/v2/copy/mix-trader/order-current-track",
    TrackingPageWire,
    convert=to_page,
    absent=TrackingPageWire,
    cursor_param="idLessThan",
    blank_as_null=BLANK_AS_NULL,
)
"""Get Current Tracking Orders: 5 req/s per UID; pages of `TrackingOrdersPage`."""

SERVER_TIME: Endpoint[ServerTime] = Endpoint(
    "GET",
    "/api/v2/public/time",
    (RateLimit("/api/v2/public/time", 20, 1.0, Scope.IP), IP_LIMIT),
    ServerTime,
    signed=False,
)
"""Server time, public: 20 req/s per IP."""
