"""CoinW futures reply models."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import msgspec

__all__ = ["OrderInfo", "PositionType"]


class PositionType(StrEnum):
    """The order family asked for by ``positionType``."""

    EXECUTE = "execute"
    """Market orders (CoinW may also return plan orders for it)."""
    PLAN = "plan"
    """Plan (limit / trigger) orders."""
    MOVE_STOP = "moveStop"
    """Trailing stop-loss / take-profit orders."""
    STOP_PROFIT_LOSS = "stopProfitLoss"
    """Stop-loss / take-profit orders."""


class OrderInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel", gc=False):
    """One unfilled CoinW futures order.

    Decoded straight from the wire: every numeric field accepts a JSON number or a numeric
    string (CoinW mixes both, even within one object); ids are exact ``int`` (they exceed
    2**53); money is ``Decimal``; enum-like fields stay ``str`` so a new value CoinW adds does
    not fail a whole reply. Unknown fields are ignored. Not tracked by the garbage collector
    (``gc=False``: scalars only, so no cycles), which keeps GC pauses short.
    """

    id: int
    user_id: int
    created_date: int
    """Unix ms."""
    updated_date: int
    """Unix ms."""
    contract_type: int
    """1: perpetual."""
    position_model: int
    """0: isolated margin, 1: cross margin."""
    quantity_unit: int
    """Unit of ``quantity``: 0 quote currency, 1 contracts, 2 base currency."""
    base_size: Decimal
    current_piece: Decimal
    fee: Decimal
    frozen_fee: Decimal
    index_price: Decimal
    leverage: Decimal
    maker_fee: Decimal
    taker_fee: Decimal
    margin: Decimal
    order_price: Decimal
    position_margin: Decimal
    quantity: Decimal
    total_piece: Decimal
    direction: str
    """``long`` or ``short``."""
    instrument: str
    liquidate_by: str
    order_status: str
    """``unFinish``, ``part``, ``Finish``/``finish``, ``Cancel``/``cancel``/``cancelAll``."""
    original_type: str
    pos_type: str
    """``plan``, ``planTrigger``, ``execute``, ..."""
    status: str
    """``open`` or ``close``."""
    source: str
    """``web`` or ``api``."""
    trigger_type: int | None = None
    """0 limit, 1 market (inferred from CoinW's history models)."""
    stop_loss_price: Decimal | None = None
    stop_loss_rate: Decimal | None = None
    stop_profit_price: Decimal | None = None
    stop_profit_rate: Decimal | None = None
    stop_loss_order_price: Decimal | None = None
    stop_profit_order_price: Decimal | None = None
    trigger_price: Decimal | None = None
    third_order_id: str | None = None
    """The client's own order id, if one was given."""
