"""Bitget: copy-trading current tracking orders."""

from .auth import BitgetCredentials
from .client import BitgetClient, PaginationError
from .errors import NotTraderError
from .models import PosSide, ProductType, TrackingOrder, TrackingOrdersPage

__all__ = [
    "BitgetClient",
    "BitgetCredentials",
    "NotTraderError",
    "PaginationError",
    "PosSide",
    "ProductType",
    "TrackingOrder",
    "TrackingOrdersPage",
]
