"""Decoding cost of a reply: the SDK's msgspec path against a typical hand-written client.

The baseline is what a careful hand-written client does to get the same typed values:
``json.loads(body, parse_float=Decimal)`` (so prices do not pass through binary floats), then a
dataclass built field by field with ``int(...)`` and ``Decimal(str(...))``. Both paths must
produce equal values (checked before timing). Timings are ``timeit`` loops (GC off, as timeit
does), in interleaved rounds whose order alternates; reported as the median µs per reply and the
median of the per-round ratios.
"""

from __future__ import annotations

import json
import timeit
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

import msgspec

from exchange_async.bitget.endpoints import CURRENT_TRACK
from exchange_async.bitget.models import TrackingOrdersPage, to_page
from exchange_async.coinw.endpoints import ORDER_INFO
from exchange_async.coinw.models import OrderInfo
from exchange_async_sim import (
    generate_bitget_orders,
    generate_coinw_orders,
    render_order,
    render_tracking_order,
)

from ._common import Outcome, fmt, median, rotated

NAME = "decode"
ROWS = 50

# -- the replies -----------------------------------------------------------------------------


def coinw_body(rows: int = ROWS) -> tuple[bytes, list[int]]:
    """A CoinW ``GET /v1/perpum/order`` reply of ``rows`` orders, and their ids.

    Rows alternate between CoinW's two renderings: JSON numbers (fees still strings, as in
    CoinW's example) and every numeric field a string. Ids are 17 digits, above 2**53.
    """
    orders = generate_coinw_orders(3, 4_242_424, rows)
    data = [
        render_order(order, "numbers" if i % 2 == 0 else "strings")
        for i, order in enumerate(orders.values())
    ]
    body = msgspec.json.encode({"code": 0, "data": data, "msg": ""})
    return body, list(orders)


def bitget_body(rows: int = ROWS) -> bytes:
    """A Bitget ``order-current-track`` page of ``rows`` orders (every field a string)."""
    orders = sorted(
        generate_bitget_orders(3, "5551234567", rows).values(),
        key=lambda o: o.sort_key,
        reverse=True,
    )
    data = {
        "trackingList": [render_tracking_order(order) for order in orders],
        "endId": str(orders[-1].seq),
    }
    payload = {"code": "00000", "msg": "success", "requestTime": 1_767_225_600_123, "data": data}
    return msgspec.json.encode(payload)


# -- the SDK's paths -------------------------------------------------------------------------


def sdk_coinw(body: bytes) -> list[OrderInfo]:
    """What the SDK does with a CoinW reply body."""
    envelope = ORDER_INFO.decoder.decode(body)
    if str(envelope.code) != "0":
        raise ValueError(envelope.text)
    return envelope.data or []


def sdk_bitget(body: bytes) -> TrackingOrdersPage:
    """What the SDK does with a Bitget page body."""
    envelope = CURRENT_TRACK.decoder.decode(body)
    if envelope.code != "00000":
        raise ValueError(envelope.text)
    return to_page(envelope.data)


# -- the hand-written baseline ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HandOrder:
    """A CoinW order as a hand-written client would model it (same fields as `OrderInfo`)."""

    id: int
    user_id: int
    created_date: int
    updated_date: int
    contract_type: int
    position_model: int
    quantity_unit: int
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
    instrument: str
    liquidate_by: str
    order_status: str
    original_type: str
    pos_type: str
    status: str
    source: str
    trigger_type: int | None
    stop_loss_price: Decimal | None
    stop_loss_rate: Decimal | None
    stop_profit_price: Decimal | None
    stop_profit_rate: Decimal | None
    stop_loss_order_price: Decimal | None
    stop_profit_order_price: Decimal | None
    trigger_price: Decimal | None
    third_order_id: str | None


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _opt_dec(value: Any) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def _opt_int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _hand_order(r: Mapping[str, Any]) -> HandOrder:
    return HandOrder(
        id=int(r["id"]),
        user_id=int(r["userId"]),
        created_date=int(r["createdDate"]),
        updated_date=int(r["updatedDate"]),
        contract_type=int(r["contractType"]),
        position_model=int(r["positionModel"]),
        quantity_unit=int(r["quantityUnit"]),
        base_size=_dec(r["baseSize"]),
        current_piece=_dec(r["currentPiece"]),
        fee=_dec(r["fee"]),
        frozen_fee=_dec(r["frozenFee"]),
        index_price=_dec(r["indexPrice"]),
        leverage=_dec(r["leverage"]),
        maker_fee=_dec(r["makerFee"]),
        taker_fee=_dec(r["takerFee"]),
        margin=_dec(r["margin"]),
        order_price=_dec(r["orderPrice"]),
        position_margin=_dec(r["positionMargin"]),
        quantity=_dec(r["quantity"]),
        total_piece=_dec(r["totalPiece"]),
        direction=r["direction"],
        instrument=r["instrument"],
        liquidate_by=r["liquidateBy"],
        order_status=r["orderStatus"],
        original_type=r["originalType"],
        pos_type=r["posType"],
        status=r["status"],
        source=r["source"],
        trigger_type=_opt_int(r.get("triggerType")),
        stop_loss_price=_opt_dec(r.get("stopLossPrice")),
        stop_loss_rate=_opt_dec(r.get("stopLossRate")),
        stop_profit_price=_opt_dec(r.get("stopProfitPrice")),
        stop_profit_rate=_opt_dec(r.get("stopProfitRate")),
        stop_loss_order_price=_opt_dec(r.get("stopLossOrderPrice")),
        stop_profit_order_price=_opt_dec(r.get("stopProfitOrderPrice")),
        trigger_price=_opt_dec(r.get("triggerPrice")),
        third_order_id=r.get("thirdOrderId"),
    )


def hand_coinw(body: bytes) -> list[HandOrder]:
    """A typical hand-written client: ``json.loads`` with Decimal floats, then field by field."""
    payload = json.loads(body, parse_float=Decimal)
    if payload.get("code") != 0:
        raise ValueError(payload.get("msg") or payload.get("message"))
    return [_hand_order(row) for row in payload.get("data") or ()]


@dataclass(frozen=True, slots=True)
class HandTrackingOrder:
    """A Bitget tracking order as a hand-written client would model it."""

    tracking_no: str
    open_order_id: str
    symbol: str
    pos_side: str
    open_leverage: Decimal
    open_price_avg: Decimal
    open_time: int
    open_size: Decimal
    preset_stop_surplus_price: Decimal | None
    preset_stop_loss_price: Decimal | None
    open_fee: Decimal
    follow_count: int


@dataclass(frozen=True, slots=True)
class HandPage:
    """A Bitget page as a hand-written client would model it."""

    tracking_list: list[HandTrackingOrder]
    end_id: str | None


def hand_bitget(body: bytes) -> HandPage:
    """A typical hand-written client: ``json.loads``, then field by field."""
    payload = json.loads(body, parse_float=Decimal)
    if payload.get("code") != "00000":
        raise ValueError(payload.get("msg"))
    data = payload.get("data") or {}
    rows = [
        HandTrackingOrder(
            tracking_no=r["trackingNo"],
            open_order_id=r["openOrderId"],
            symbol=r["symbol"],
            pos_side=r["posSide"],
            open_leverage=_dec(r["openLeverage"]),
            open_price_avg=_dec(r["openPriceAvg"]),
            open_time=int(r["openTime"]),
            open_size=_dec(r["openSize"]),
            preset_stop_surplus_price=_opt_dec(r.get("presetStopSurplusPrice")),
            preset_stop_loss_price=_opt_dec(r.get("presetStopLossPrice")),
            open_fee=_dec(r["openFee"]),
            follow_count=int(r["followCount"]),
        )
        for r in data.get("trackingList") or ()
    ]
    end_id = data.get("endId")
    return HandPage(tracking_list=rows, end_id=None if end_id in (None, "") else str(end_id))


# -- correctness -----------------------------------------------------------------------------


def _same(label: str, sdk: msgspec.Struct, hand: Any) -> list[str]:
    """Field-by-field differences: value, type, and Decimal digits (``1.50`` is not ``1.5``)."""
    problems = []
    for f in fields(hand):
        a, b = getattr(sdk, f.name), getattr(hand, f.name)
        if a != b or type(a) is not type(b) or str(a) != str(b):
            problems.append(f"{label}.{f.name}: SDK {a!r} vs baseline {b!r}")
    return problems


def check_equal() -> list[str]:
    """Every value both paths produce, compared; also the ids against the generated truth."""
    problems: list[str] = []
    body, ids = coinw_body()
    sdk_rows, hand_rows = sdk_coinw(body), hand_coinw(body)
    if len(sdk_rows) != len(hand_rows) or len(sdk_rows) != ROWS:
        problems.append(f"coinw: {len(sdk_rows)} SDK rows vs {len(hand_rows)} baseline rows")
    for i, (order, hand) in enumerate(zip(sdk_rows, hand_rows, strict=False)):
        problems += _same(f"coinw[{i}]", order, hand)
    if [o.id for o in sdk_rows] != ids:
        problems.append("coinw: SDK ids differ from the ids the server sent")
    if not any(i > 2**53 for i in ids):
        problems.append("coinw: test data has no id above 2**53")
    page, hand_page = sdk_bitget(bitget_body()), hand_bitget(bitget_body())
    if page.end_id != hand_page.end_id:
        problems.append(f"bitget: end_id {page.end_id!r} vs {hand_page.end_id!r}")
    if len(page.tracking_list) != len(hand_page.tracking_list) or len(page.tracking_list) != ROWS:
        problems.append("bitget: row counts differ")
    for i, (row, hand_row) in enumerate(
        zip(page.tracking_list, hand_page.tracking_list, strict=False)
    ):
        problems += _same(f"bitget[{i}]", row, hand_row)
    return problems


# -- timing ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pair:
    """One reply decoded two ways."""

    name: str
    body: bytes
    sdk: Callable[[bytes], object]
    hand: Callable[[bytes], object]


def _per_call_us(fn: Callable[[bytes], object], body: bytes, number: int) -> float:
    return timeit.Timer(lambda: fn(body)).timeit(number) / number * 1e6


def _calibrate(pair: Pair, target: float) -> int:
    """Loops per measurement so that the slower path takes about ``target`` seconds."""
    sdk = timeit.Timer(lambda: pair.sdk(pair.body)).timeit(20)
    hand = timeit.Timer(lambda: pair.hand(pair.body)).timeit(20)
    return max(10, int(target / (max(sdk, hand) / 20)))


def run(quick: bool = False) -> Outcome:
    """Both replies, both paths, in interleaved rounds."""
    rounds = 3 if quick else 9
    target = 0.04 if quick else 0.15
    outcome = Outcome(
        name=NAME,
        title=f"Decoding a {ROWS}-order reply: {rounds} interleaved rounds of timeit loops",
        columns=[
            "reply",
            "SDK µs/reply",
            "baseline µs/reply",
            "baseline / SDK (speed-up)",
            "values equal",
        ],
    )
    problems = check_equal()
    outcome.problems += problems[:10]
    body, _ = coinw_body()
    pairs = [
        Pair(f"CoinW, {ROWS} orders ({len(body)} B)", body, sdk_coinw, hand_coinw),
        Pair(
            f"Bitget, {ROWS} tracking orders ({len(bitget_body())} B)",
            bitget_body(),
            sdk_bitget,
            hand_bitget,
        ),
    ]
    outcome.data = {"rounds": rounds, "rows": ROWS, "values_equal": not problems, "replies": []}
    for pair in pairs:
        number = _calibrate(pair, target)
        sdk_us: list[float] = []
        hand_us: list[float] = []
        for r in range(rounds):
            for which in rotated(["sdk", "hand"], r):
                if which == "sdk":
                    sdk_us.append(_per_call_us(pair.sdk, pair.body, number))
                else:
                    hand_us.append(_per_call_us(pair.hand, pair.body, number))
        ratio = median(h / s for h, s in zip(hand_us, sdk_us, strict=True))
        outcome.rows.append(
            [
                pair.name,
                fmt(median(sdk_us), 1),
                fmt(median(hand_us), 1),
                f"{ratio:.2f}×",
                "yes" if not problems else "NO",
            ]
        )
        outcome.data["replies"].append(
            {
                "name": pair.name,
                "body_bytes": len(pair.body),
                "loops_per_measurement": number,
                "sdk_us_per_reply": sdk_us,
                "baseline_us_per_reply": hand_us,
                "sdk_us_median": median(sdk_us),
                "baseline_us_median": median(hand_us),
                "speedup_median_of_round_ratios": ratio,
            }
        )
    outcome.notes.append(
        "baseline: json.loads(parse_float=Decimal) + dataclass built field by field; "
        "SDK: the endpoint's msgspec decoder (+ to_page for Bitget)."
    )
    return outcome
