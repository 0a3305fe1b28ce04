"""Bitget endpoints as data: path, limits, reply type and paging. Adding one is a few lines."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

from .._core.declarations import Endpoint
from .._core.limits import RateLimit, Scope
from .._core.paging import PageRule
from .models import HistoryTrackingOrdersPage, ServerTime, TrackingOrdersPage, TrackingPage

__all__ = [
    "CURRENT_TRACK",
    "HISTORY_TRACK",
    "IP_LIMIT",
    "SERVER_TIME",
    "TRACKING_PAGES",
    "copy_trader_pages",
]

P = TypeVar("P", bound=TrackingPage[Any])

IP_LIMIT = RateLimit("bitget.ip", 6000, 60.0, Scope.IP)
"""6000 requests per minute per IP, across every Bitget endpoint."""

TRACKING_PAGES: PageRule[Any, Any] = PageRule(
    items=lambda page: page.tracking_list,
    next_cursor=lambda page: page.end_id,
    key=lambda row: row.tracking_no,
)
"""How every page of the family is walked: rows identified by ``trackingNo``, the next page
asked with the page's ``endId`` (sent back as the endpoint's ``cursor_param``)."""


def copy_trader_pages(path: str, page_type: type[P], per_uid: int = 5) -> Endpoint[P]:
    """A signed, cursor-paged GET of the copy-trading family: ``per_uid`` requests/s per UID on
    the endpoint's own budget, plus the IP cap; older pages asked with ``idLessThan``.
    ``page_type`` is the public page the reply decodes into, no conversion after (its row
    model names the fields whose ``""`` means ``None``)."""
    limits = (RateLimit(path, per_uid, 1.0, Scope.ENDPOINT), IP_LIMIT)
    return Endpoint("GET", path, limits, page_type, absent=page_type, cursor_param="idLessThan")


CURRENT_TRACK = copy_trader_pages("/api/v2/copy/mix-trader/order-current-track", TrackingOrdersPage)
"""Get Current Tracking Orders: 5 req/s per UID."""

HISTORY_TRACK = copy_trader_pages(
    "/api/v2/copy/mix-trader/order-history-track", HistoryTrackingOrdersPage
)
"""Get History Tracking Orders: 5 req/s per UID, its own budget."""

HISTORY_TRACK_ASC = replace(HISTORY_TRACK, cursor_param="idGreaterThan")
"""The same with ``order=asc``: the next page is the newer one (``idGreaterThan``)."""

SERVER_TIME: Endpoint[ServerTime] = Endpoint(
    "GET",
    "/api/v2/public/time",
    (RateLimit("/api/v2/public/time", 20, 1.0, Scope.IP), IP_LIMIT),
    ServerTime,
    signed=False,
)
"""Server time, public: 20 req/s per IP."""
