"""CoinW futures reply models."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

import msgspec

from .._core.pipeline.reply import Envelope, ReplyDecoder, non_finite
from .._errors import DecodeError

__all__ = ["OrderInfo", "PositionType", "decode_order_info"]

_INT64 = msgspec.Meta(ge=0, le=2**63 - 1)
"""Ids and ms timestamps: exact ``int`` (above 2**53), never negative, at most 64 bits."""


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
    2**53); money is ``Decimal`` and must be finite (``NaN``, ``Infinity`` or a non-numeric
    string fail the decode, naming the field); enum-like fields stay ``str`` so a new value
    CoinW adds does not fail a whole reply. Unknown fields are ignored. Not tracked by the
    garbage collector (``gc=False``: scalars only, so no cycles), which keeps GC pauses short.
    """

    id: Annotated[int, _INT64]
    user_id: Annotated[int, _INT64]
    created_date: Annotated[int, _INT64]
    """Unix ms."""
    updated_date: Annotated[int, _INT64]
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

    def __post_init__(self) -> None:
        # Decimal accepts "NaN", "sNaN" and "Infinity"; money never is. Plain attribute checks
        # are the cheapest form (measured: a fifth of ``all(map(is_finite, attrgetter(...)))``);
        # the field search only words the error.
        a, b = self.stop_loss_price, self.stop_loss_rate
        c, d = self.stop_profit_price, self.stop_profit_rate
        e, f, g = self.stop_loss_order_price, self.stop_profit_order_price, self.trigger_price
        if not (
            self.base_size.is_finite()
            and self.current_piece.is_finite()
            and self.fee.is_finite()
            and self.frozen_fee.is_finite()
            and self.index_price.is_finite()
            and self.leverage.is_finite()
            and self.maker_fee.is_finite()
            and self.taker_fee.is_finite()
            and self.margin.is_finite()
            and self.order_price.is_finite()
            and self.position_margin.is_finite()
            and self.quantity.is_finite()
            and self.total_piece.is_finite()
            and (a is None or a.is_finite())
            and (b is None or b.is_finite())
            and (c is None or c.is_finite())
            and (d is None or d.is_finite())
            and (e is None or e.is_finite())
            and (f is None or f.is_finite())
            and (g is None or g.is_finite())
        ):
            raise ValueError(non_finite(self, _MONEY))


_MONEY = (
    "base_size",
    "current_piece",
    "fee",
    "frozen_fee",
    "index_price",
    "leverage",
    "maker_fee",
    "taker_fee",
    "margin",
    "order_price",
    "position_margin",
    "quantity",
    "total_piece",
    "stop_loss_price",
    "stop_loss_rate",
    "stop_profit_price",
    "stop_profit_rate",
    "stop_loss_order_price",
    "stop_profit_order_price",
    "trigger_price",
)
"""Every ``Decimal`` field, in the order `non_finite` searches them."""


_ORDERS_DECODER = ReplyDecoder(Envelope[list[OrderInfo]])


def decode_order_info(body: bytes) -> list[OrderInfo]:
    """The orders in a raw ``GET /v1/perpum/order`` reply body (a recorded reply, a fixture).

    Raises `DecodeError` naming the field when the body is not a well-formed reply (non-finite
    or non-numeric money included). The envelope's ``code`` is not checked: the client does.
    """
    try:
        envelope = _ORDERS_DECODER.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise DecodeError(f"not an order-information reply: {exc}", exchange="coinw") from None
    return envelope.data or []
