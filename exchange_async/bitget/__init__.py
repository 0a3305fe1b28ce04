"""Bitget: copy-trading current and history tracking orders."""

from .auth import BitgetCredentials
from .client import BitgetClient, PaginationError
from .errors import NotTraderError
from .models import (
    HistoryTrackingOrder,
    HistoryTrackingOrdersPage,
    PosSide,
    ProductType,
    TrackingOrder,
    TrackingOrdersPage,
)

__all__ = [
    "BitgetClient",
    "BitgetCredentials",
    "HistoryTrackingOrder",
    "HistoryTrackingOrdersPage",
    "NotTraderError",
    "PaginationError",
    "PosSide",
    "ProductType",
    "TrackingOrder",
    "TrackingOrdersPage",
]
