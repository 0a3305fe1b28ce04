"""Bitget reply models: the public types users get, decoded straight from the wire."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

import msgspec

from .._core.pipeline.decoder import BLANK_IS_NULL, ReplyDecoder, also_spelled, non_finite
from .._core.pipeline.reply import Envelope
from .._errors import DecodeError

__all__ = [
    "HistoryTrackingOrder",
    "HistoryTrackingOrdersPage",
    "PosSide",
    "ProductType",
    "ServerTime",
    "TrackingOrder",
    "TrackingOrdersPage",
    "TrackingPage",
    "decode_page",
    "decode_tracking_orders_page",
]

_INT64 = msgspec.Meta(ge=0, le=2**63 - 1)
"""Ids, counts and ms timestamps: never negative, never beyond what Bitget stores."""

Row = TypeVar("Row")


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


class TrackingPage(msgspec.Struct, Generic[Row], frozen=True, kw_only=True, rename="camel"):
    """One page of a copy-trading cursor endpoint (``data.trackingList``, ``data.endId``).

    The reply decodes straight into it: no row is copied. Every such endpoint's page is a
    subclass naming its row type, e.g. ``TrackingOrdersPage(TrackingPage[TrackingOrder])``.
    """

    if TYPE_CHECKING:
        tracking_list: list[Row] = []
        """The page's rows, newest first (``[]`` when there are none)."""
        end_id: str | None = None
        """Pass it verbatim as ``id_less_than`` (older page) or ``id_greater_than`` (newer)."""
    else:
        # On the wire the list may be null and the cursor a number or ""; __post_init__ gives
        # every page the public types above, once per page.
        tracking_list: list[Row] | None = []
        end_id: str | int | None = None

    def __post_init__(self) -> None:
        if self.tracking_list is None:
            msgspec.structs.force_setattr(self, "tracking_list", [])
        end_id = self.end_id
        if end_id == "":
            msgspec.structs.force_setattr(self, "end_id", None)
        elif end_id is not None and type(end_id) is not str:
            msgspec.structs.force_setattr(self, "end_id", str(end_id))


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
    preset_stop_surplus_price: Annotated[Decimal | None, BLANK_IS_NULL] = None
    """Take-profit price, or ``None`` when none is set (Bitget sends ``""``)."""
    preset_stop_loss_price: Annotated[Decimal | None, BLANK_IS_NULL] = None
    """Stop-loss price, or ``None`` when none is set (Bitget sends ``""``)."""
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


class TrackingOrdersPage(TrackingPage[TrackingOrder], frozen=True, kw_only=True):
    """One page of current tracking orders, newest first, and the cursor to the next one."""


class HistoryTrackingOrder(msgspec.Struct, frozen=True, kw_only=True, rename="camel", gc=False):
    """One closed (history) tracking order of an elite trader: how it opened and closed.

    Decoded like `TrackingOrder`: every value arrives as a string; money is an exact, finite
    ``Decimal``; times are Unix ms. Bitget's docs spell the average prices two ways
    (``openPriceAvg`` in the example, ``openAvgPrice`` in the table): both are accepted.
    """

    tracking_no: str
    symbol: str
    product_type: str
    """As Bitget sends it (its example shows ``usdt-futures``, lower case)."""
    open_order_id: str
    close_order_id: str
    pos_side: str
    """``"long"`` or ``"short"`` (compare with `PosSide`)."""
    open_leverage: Decimal
    open_price_avg: Annotated[Decimal, also_spelled("openAvgPrice")]
    """Average open price, in the quote currency."""
    open_time: Annotated[int, _INT64]
    """Opening time, Unix ms."""
    close_time: Annotated[int, _INT64]
    """Closing time, Unix ms."""
    close_price_avg: Annotated[Decimal, also_spelled("closeAvgPrice")]
    """Average close price, in the quote currency."""
    stop_type: Annotated[str | None, BLANK_IS_NULL] = None
    """``"profit"`` or ``"loss"`` when a preset stop closed it; ``None`` otherwise."""
    achieved_pl: Decimal = msgspec.field(name="achievedPL")
    """Realised profit (negative: a loss), in the margin coin."""
    open_fee: Decimal
    close_fee: Decimal
    open_size: Decimal
    close_size: Decimal
    c_time: Annotated[int, _INT64]
    """When Bitget created the tracking record, Unix ms."""

    def __post_init__(self) -> None:
        if not (
            self.open_leverage.is_finite()
            and self.open_price_avg.is_finite()
            and self.close_price_avg.is_finite()
            and self.achieved_pl.is_finite()
            and self.open_fee.is_finite()
            and self.close_fee.is_finite()
            and self.open_size.is_finite()
            and self.close_size.is_finite()
        ):
            raise ValueError(non_finite(self, _HISTORY_MONEY))
        if self.stop_type is not None and self.stop_type.isspace():  # "" is null on the wire
            msgspec.structs.force_setattr(self, "stop_type", None)


_HISTORY_MONEY = (
    "open_leverage",
    "open_price_avg",
    "close_price_avg",
    "achieved_pl",
    "open_fee",
    "close_fee",
    "open_size",
    "close_size",
)


class HistoryTrackingOrdersPage(TrackingPage[HistoryTrackingOrder], frozen=True, kw_only=True):
    """One page of history tracking orders (newest first unless asked otherwise)."""


class ServerTime(msgspec.Struct, rename="camel"):
    """``data`` of ``GET /api/v2/public/time``."""

    server_time: Annotated[int, _INT64]


PageT = TypeVar("PageT", bound=TrackingPage[Any])

_DECODERS: dict[type[Any], ReplyDecoder[Envelope[Any]]] = {}


def decode_page(page_type: type[PageT], body: bytes) -> PageT:
    """The ``page_type`` page (e.g. `TrackingOrdersPage`) in a raw reply body of its endpoint
    (a recorded reply, a fixture).

    Raises `DecodeError` naming the field when the body is not a well-formed page (non-finite
    or non-numeric money included). The envelope's ``code`` is not checked: the clients do that.
    """
    decoder = _DECODERS.get(page_type)
    if decoder is None:
        decoder = _DECODERS[page_type] = ReplyDecoder(Envelope[page_type])  # type: ignore[valid-type]
    try:
        envelope = decoder.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise DecodeError(f"not a {page_type.__name__}: {exc}", exchange="bitget") from None
    page: PageT | None = envelope.data
    return page_type() if page is None else page


def decode_tracking_orders_page(body: bytes) -> TrackingOrdersPage:
    """``decode_page(TrackingOrdersPage, body)``: an ``order-current-track`` reply's page."""
    return decode_page(TrackingOrdersPage, body)
