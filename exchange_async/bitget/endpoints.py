"""Bitget endpoints as data: path, limits, reply type and paging. Adding one is a few lines."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

from .._core.endpoint import Endpoint
from .._core.paging import PagedEndpoint, PageRule
from .._core.ratelimit import RateLimit, Scope
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
    cursor_param="idLessThan",
)
"""How the copy-trading cursor endpoints page: ``endId`` sent back as ``idLessThan`` (older
rows), rows identified by ``trackingNo``."""


def copy_trader_pages(path: str, page_type: type[P], per_uid: int = 5) -> PagedEndpoint[P, Any]:
    """A signed, cursor-paged GET of the copy-trading family: ``per_uid`` requests/s per UID on
    the endpoint's own budget, plus the IP cap. ``page_type`` is the public page the reply
    decodes into (its row model names the fields whose ``""`` means ``None``)."""
    limits = (RateLimit(path, per_uid, 1.0, Scope.ENDPOINT), IP_LIMIT)
    return PagedEndpoint("GET", path, limits, page_type, absent=page_type, pages=TRACKING_PAGES)


CURRENT_TRACK = copy_trader_pages("/api/v2/copy/mix-trader/order-current-track", TrackingOrdersPage)
"""Get Current Tracking Orders: 5 req/s per UID."""

HISTORY_TRACK = copy_trader_pages(
    "/api/v2/copy/mix-trader/order-history-track", HistoryTrackingOrdersPage
)
"""Get History Tracking Orders: 5 req/s per UID, its own budget."""

HISTORY_TRACK_ASC = replace(
    HISTORY_TRACK, pages=replace(TRACKING_PAGES, cursor_param="idGreaterThan")
)
"""The same with ``order=asc``: the next page is the newer one (``idGreaterThan``)."""

SERVER_TIME = Endpoint(
    "GET",
    "/api/v2/public/time",
    (RateLimit("/api/v2/public/time", 20, 1.0, Scope.IP), IP_LIMIT),
    ServerTime,
    signed=False,
)
"""Server time, public: 20 req/s per IP."""
