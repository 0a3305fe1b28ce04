"""CoinW's snapshot source for the `Poller`: every unfilled futures order of an account."""

from __future__ import annotations

from collections.abc import Sequence

from .client import CoinWClient
from .models import OrderInfo, PositionType

__all__ = ["CoinWSource"]


class CoinWSource:
    """Every unfilled CoinW futures order of the chosen position types."""

    exchange = "coinw"

    def __init__(
        self, client: CoinWClient, position_types: Sequence[PositionType], instrument: str | None
    ) -> None:
        self.client = client
        self._position_types = tuple(position_types)
        self._instrument = instrument

    async def snapshot(self) -> dict[str, OrderInfo]:
        """One request per position type, keyed by order id; orders under several count once."""
        orders: dict[str, OrderInfo] = {}
        for position_type in self._position_types:
            reply = await self.client.get_order_info(position_type, instrument=self._instrument)
            for order in reply:
                orders.setdefault(str(order.id), order)
        return orders
