"""Typed order records the simulated exchanges keep; handlers render them to wire format."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["BitgetHistoryOrder", "BitgetTrackingOrder", "CoinWOrder"]


@dataclass(slots=True)
class BitgetTrackingOrder:
    """A current tracking order of a Bitget elite trader.

    Field names are the wire names in snake case; on the wire every field is a JSON string and
    a ``None`` preset stop price is sent as ``""``. ``seq`` is the server's own position of the
    row (larger is newer); the ``endId`` cursors are made of it and never equal a trackingNo.
    ``product_type`` is not on the wire; it is what the ``productType`` parameter filters on.
    """

    seq: int
    tracking_no: str
    open_order_id: str
    symbol: str
    product_type: str
    pos_side: str
    open_leverage: int
    open_price_avg: Decimal
    open_time: int
    open_size: Decimal
    preset_stop_surplus_price: Decimal | None
    preset_stop_loss_price: Decimal | None
    open_fee: Decimal
    follow_count: int

    @property
    def sort_key(self) -> tuple[int, int]:
        """Newest first means descending by this key: open time, then ``seq``."""
        return (self.open_time, self.seq)


@dataclass(slots=True)
class BitgetHistoryOrder:
    """A closed (history) tracking order of a Bitget elite trader.

    Field names are the wire names in snake case (``avg`` prices as the docs' table spells
    them); on the wire every field is a JSON string and a ``None`` ``stop_type`` is ``""``.
    ``seq`` is the server's own position of the row (larger is newer by ``c_time``); the
    ``endId`` cursors are made of it. ``product_type`` is sent lower case, as Bitget's example.
    """

    seq: int
    tracking_no: str
    symbol: str
    product_type: str
    open_order_id: str
    close_order_id: str
    pos_side: str
    open_leverage: int
    open_avg_price: Decimal
    open_time: int
    close_time: int
    close_avg_price: Decimal
    stop_type: str | None
    achieved_pl: Decimal
    open_fee: Decimal
    close_fee: Decimal
    open_size: Decimal
    close_size: Decimal
    c_time: int

    @property
    def sort_key(self) -> tuple[int, int]:
        """Newest first means descending by this key: creation time, then ``seq``."""
        return (self.c_time, self.seq)


@dataclass(slots=True)
class CoinWOrder:
    """An order of a CoinW futures account, as ``GET /v1/perpum/order`` reports it.

    Field names are the wire names in snake case. A ``None`` optional field is sent as JSON
    ``null``, or left out entirely when its wire name is in ``omitted`` (CoinW does both).
    """

    id: int
    user_id: int
    instrument: str
    direction: str
    base_size: Decimal
    contract_type: int
    created_date: int
    updated_date: int
    current_piece: Decimal
    total_piece: Decimal
    fee: Decimal
    frozen_fee: Decimal
    index_price: Decimal
    leverage: int
    liquidate_by: str
    maker_fee: Decimal
    taker_fee: Decimal
    margin: Decimal
    order_price: Decimal
    order_status: str
    original_type: str
    pos_type: str
    position_margin: Decimal
    position_model: int
    quantity: Decimal
    quantity_unit: int
    source: str
    status: str
    stop_loss_price: Decimal | None = None
    stop_loss_rate: Decimal | None = None
    stop_profit_price: Decimal | None = None
    stop_profit_rate: Decimal | None = None
    stop_loss_order_price: Decimal | None = None
    stop_profit_order_price: Decimal | None = None
    third_order_id: str | None = None
    trigger_price: Decimal | None = None
    trigger_type: int | None = None
    omitted: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_open(self) -> bool:
        """Whether the order is still unfilled (``unFinish`` or ``part``, any case)."""
        return self.order_status.lower() in ("unfinish", "part")
