"""Bitget reply models: the public types users get, decoded straight from the wire."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated

import msgspec

from .._core.pipeline.reply import Envelope, ReplyDecoder, non_finite
from .._errors import DecodeError

__all__ = [
    "BLANK_AS_NULL",
    "PosSide",
    "ProductType",
    "ServerTime",
    "TrackingOrder",
    "TrackingOrdersPage",
    "TrackingPageWire",
    "decode_tracking_orders_page",
    "to_page",
]

_INT64 = msgspec.Meta(ge=0, le=2**63 - 1)
"""Ids, counts and ms timestamps: never negative, never beyond what Bitget stores."""


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


class TrackingOrder(msgspec.Struct, frozen=True, kw_only=True, rename="camel", gc=False):
    """One current tracking order of an elite trader (prices, sizes and fees as ``Decimal``).

    Decoded straight from Bitget's JSON (camelCase keys, every value a string); money that is
    not a finite number (``"NaN"``, ``"Infinity"``, ``"N/A"``) fails the decode, naming the
    field. Not tracked by the garbage collector (``gc=False``): it holds only scalars, so it
    cannot be part of a cycle, and a bot holding thousands of orders keeps its GC pauses short.
    """

    tracking_no: str
    open_order_id: str
    symbol: str
    pos_side: str
    open_leverage: Decimal
    open_price_avg: Decimal
    open_time: Annotated[int, _INT64]
    """Opening time, Unix ms."""
    open_size: Decimal
    preset_stop_surplus_price: Decimal | None = None
    """Take-profit price, or ``None`` when none is set."""
    preset_stop_loss_price: Decimal | None = None
    """Stop-loss price, or ``None`` when none is set."""
    open_fee: Decimal
    follow_count: Annotated[int, _INT64]

    def __post_init__(self) -> None:
        # Decimal accepts "NaN", "sNaN" and "Infinity"; money never is. Plain attribute checks
        # (the cheapest form, ~0.15 us a row); the field search only words the error.
        surplus, loss = self.preset_stop_surplus_price, self.preset_stop_loss_price
        if not (
            self.open_leverage.is_finite()
            and self.open_price_avg.is_finite()
            and self.open_size.is_finite()
            and self.open_fee.is_finite()
            and (surplus is None or surplus.is_finite())
            and (loss is None or loss.is_finite())
        ):
            raise ValueError(non_finite(self, _MONEY))


_MONEY = (
    "open_leverage",
    "open_price_avg",
    "open_size",
    "open_fee",
    "preset_stop_surplus_price",
    "preset_stop_loss_price",
)


class TrackingOrdersPage(msgspec.Struct, frozen=True, kw_only=True):
    """One page of current tracking orders, newest first, and the cursor to the next one."""

    tracking_list: list[TrackingOrder]
    end_id: str | None
    """Pass it verbatim as ``id_less_than`` (older page) or ``id_greater_than`` (newer page)."""


class ServerTime(msgspec.Struct, rename="camel"):
    """``data`` of ``GET /api/v2/public/time``."""

    server_time: Annotated[int, _INT64]


class TrackingPageWire(msgspec.Struct, rename="camel"):
    """``data`` of ``order-current-track`` as Bitget sends it: the rows are already the public
    `TrackingOrder` (no copy); only the list may be missing and the cursor a number or ``""``.
    """

    tracking_list: list[TrackingOrder] | None = None
    end_id: str | int | None = None


BLANK_AS_NULL = ("presetStopSurplusPrice", "presetStopLossPrice")
"""Keys Bitget sends as ``""`` when unset. ``TrackingOrder`` has no other key ending in
``Price``, so one pass over ``Price":""`` nulls both (see `ReplyDecoder`)."""


def to_page(wire: TrackingPageWire | None) -> TrackingOrdersPage:
    """The public page for a decoded wire page (``None`` data is an empty page). O(1): the rows
    are shared, not copied."""
    if wire is None:
        return TrackingOrdersPage(tracking_list=[], end_id=None)
    end_id = None if wire.end_id is None or wire.end_id == "" else str(wire.end_id)
    return TrackingOrdersPage(tracking_list=wire.tracking_list or [], end_id=end_id)


_PAGE_DECODER = ReplyDecoder(
    Envelope[TrackingPageWire], blank_as_null=BLANK_AS_NULL, fast_suffix="Price"
)


def decode_tracking_orders_page(body: bytes) -> TrackingOrdersPage:
    """The page in a raw ``order-current-track`` reply body (a recorded reply, a fixture).

    Raises `DecodeError` naming the field when the body is not a well-formed page (non-finite
    or non-numeric money included). The envelope's ``code`` is not checked: the clients do that.
    """
    try:
        envelope = _PAGE_DECODER.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise DecodeError(f"not a tracking-orders page: {exc}", exchange="bitget") from None
    return to_page(envelope.data)
