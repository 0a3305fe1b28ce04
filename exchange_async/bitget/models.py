"""Bitget reply models: the public types users get, and the wire types they decode from."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import msgspec

__all__ = [
    "PosSide",
    "ProductType",
    "ServerTime",
    "TrackingOrder",
    "TrackingOrdersPage",
]


class ProductType(StrEnum):
    """The futures product line an order belongs to."""

    USDT_FUTURES = "USDT-FUTURES"
    COIN_FUTURES = "COIN-FUTURES"
    USDC_FUTURES = "USDC-FUTURES"


class PosSide(StrEnum):
    """Position direction in hedge mode. `TrackingOrder.pos_side` is a plain ``str`` so that
    a value Bitget adds later does not fail a whole page; compare it with these members."""

    LONG = "long"
    SHORT = "short"


class TrackingOrder(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One current tracking order of an elite trader (prices, sizes and fees as ``Decimal``).

    Not tracked by the garbage collector (``gc=False``): it holds only scalars, so it cannot be
    part of a cycle, and a bot holding thousands of orders keeps its GC pauses short.
    """

    tracking_no: str
    open_order_id: str
    symbol: str
    pos_side: str
    open_leverage: Decimal
    open_price_avg: Decimal
    open_time: int
    """Opening time, Unix ms."""
    open_size: Decimal
    preset_stop_surplus_price: Decimal | None
    """Take-profit price, or ``None`` when none is set."""
    preset_stop_loss_price: Decimal | None
    """Stop-loss price, or ``None`` when none is set."""
    open_fee: Decimal
    follow_count: int


class TrackingOrdersPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of current tracking orders, newest first, and the cursor to the next one."""

    tracking_list: list[TrackingOrder]
    end_id: str | None
    """Pass it verbatim as ``id_less_than`` (older page) or ``id_greater_than`` (newer page)."""


class ServerTime(msgspec.Struct, rename="camel"):
    """``data`` of ``GET /api/v2/public/time``."""

    server_time: int


# -- wire types --------------------------------------------------------------------------------
# Bitget sends every field as a string and "" for an unset price, which msgspec cannot decode
# into ``Decimal | None``; those two fields arrive as text and are converted in `to_page`.


class _TrackingOrderWire(msgspec.Struct, rename="camel", gc=False):
    tracking_no: str
    open_order_id: str
    symbol: str
    pos_side: str
    open_leverage: Decimal
    open_price_avg: Decimal
    open_time: int
    open_size: Decimal
    open_fee: Decimal
    follow_count: int
    preset_stop_surplus_price: str | None = None
    preset_stop_loss_price: str | None = None


class TrackingPageWire(msgspec.Struct, rename="camel"):
    """``data`` of ``order-current-track`` as Bitget sends it."""

    tracking_list: list[_TrackingOrderWire] | None = None
    end_id: str | int | None = None


def _optional_price(text: str | None) -> Decimal | None:
    if text is None or not text.strip():
        return None
    return Decimal(text)


def to_page(wire: TrackingPageWire | None) -> TrackingOrdersPage:
    """The public page for a decoded wire page (``None`` data is an empty page)."""
    if wire is None:
        return TrackingOrdersPage(tracking_list=[], end_id=None)
    rows = [
        TrackingOrder(
            tracking_no=r.tracking_no,
            open_order_id=r.open_order_id,
            symbol=r.symbol,
            pos_side=r.pos_side,
            open_leverage=r.open_leverage,
            open_price_avg=r.open_price_avg,
            open_time=r.open_time,
            open_size=r.open_size,
            preset_stop_surplus_price=_optional_price(r.preset_stop_surplus_price),
            preset_stop_loss_price=_optional_price(r.preset_stop_loss_price),
            open_fee=r.open_fee,
            follow_count=r.follow_count,
        )
        for r in wire.tracking_list or ()
    ]
    end_id = None if wire.end_id is None or wire.end_id == "" else str(wire.end_id)
    return TrackingOrdersPage(tracking_list=rows, end_id=end_id)
