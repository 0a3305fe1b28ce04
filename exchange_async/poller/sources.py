"""How to take one snapshot of an account: every order the poller watches, by key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from .._core.client import BaseClient
from ..bitget.client import BitgetClient
from ..bitget.models import ProductType
from ..coinw.client import CoinWClient
from ..coinw.models import PositionType
from .events import Order

__all__ = ["BitgetSource", "CoinWSource", "Source"]


class Source(Protocol):
    """One account's snapshot: all-or-nothing, raising an `ExchangeError` on any failure."""

    exchange: str

    @property
    def client(self) -> BaseClient:
        """The account's client (its stats, its lifecycle)."""
        ...

    async def snapshot(self) -> dict[str, Order]:
        """Every watched order of the account, keyed by tracking number or order id."""
        ...


class BitgetSource:
    """Every current tracking order of a Bitget trader, over the chosen product types."""

    exchange = "bitget"

    def __init__(
        self, client: BitgetClient, product_types: Sequence[ProductType], symbol: str | None
    ) -> None:
        self.client = client
        self._product_types = tuple(product_types)
        self._symbol = symbol

    async def snapshot(self) -> dict[str, Order]:
        """All pages of every product type; a failure on any page fails the snapshot."""
        orders: dict[str, Order] = {}
        for product_type in self._product_types:
            pages = self.client.iter_current_tracking_order_pages(
                product_type, symbol=self._symbol, page_size=50
            )
            async for page in pages:
                for order in page.tracking_list:
                    orders.setdefault(order.tracking_no, order)
        return orders


class CoinWSource:
    """Every unfilled CoinW futures order of the chosen position types."""

    exchange = "coinw"

    def __init__(
        self, client: CoinWClient, position_types: Sequence[PositionType], instrument: str | None
    ) -> None:
        self.client = client
        self._position_types = tuple(position_types)
        self._instrument = instrument

    async def snapshot(self) -> dict[str, Order]:
        """One request per position type; orders CoinW returns under several count once."""
        orders: dict[str, Order] = {}
        for position_type in self._position_types:
            reply = await self.client.get_order_info(position_type, instrument=self._instrument)
            for order in reply:
                orders.setdefault(str(order.id), order)
        return orders
