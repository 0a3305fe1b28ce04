"""Bitget's snapshot source for the `Poller`: every current tracking order of a trader."""

from __future__ import annotations

from collections.abc import Sequence

from .client import BitgetClient
from .models import ProductType, TrackingOrder

__all__ = ["BitgetSource"]


class BitgetSource:
    """Every current tracking order of a Bitget trader, over the chosen product types."""

    exchange = "bitget"

    def __init__(
        self, client: BitgetClient, product_types: Sequence[ProductType], symbol: str | None
    ) -> None:
        self.client = client
        self._product_types = tuple(product_types)
        self._symbol = symbol

    async def snapshot(self) -> dict[str, TrackingOrder]:
        """All pages of every product type, keyed by tracking number; all or nothing."""
        orders: dict[str, TrackingOrder] = {}
        for product_type in self._product_types:
            query = self.client.iter_current_tracking_orders(
                product_type, symbol=self._symbol, page_size=50
            )
            async for order in query:
                orders.setdefault(order.tracking_no, order)
        return orders
