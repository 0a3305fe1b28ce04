"""Bitget's ``order-history-track``: an elite trader's closed tracking orders, cursor-paged.

The rows are generated deterministically from the seed (:func:`generate_bitget_history`),
rendered as Bitget sends them (every field a string, ``stopType`` ``""`` when no preset stop
closed the position) and served newest first, or oldest first with ``order=asc``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .accounts import BitgetAccount
from .bitget_query import (
    PrivateCall,
    bad_param,
    cursor,
    limit_param,
    optional,
    product_type,
    time_range,
)
from .data import BITGET_SYMBOLS, DATA_EPOCH_MS, _drift, _pick, _places, _rng, _snowflake
from .models import BitgetHistoryOrder
from .wire import plain

__all__ = [
    "HISTORY_PATH",
    "generate_bitget_history",
    "history_tracking_orders",
    "render_history_order",
]

HISTORY_PATH = "/api/v2/copy/mix-trader/order-history-track"

_DAY_MS = 24 * 3600 * 1000


def generate_bitget_history(seed: int, uid: str, count: int) -> dict[str, BitgetHistoryOrder]:
    """``count`` closed tracking orders of the trader ``uid``, keyed by trackingNo.

    Created in the 80 days before :data:`~exchange_async_sim.data.DATA_EPOCH_MS`, a few
    sharing a creation time with their neighbour (ordering ties); each closed minutes to days
    after it opened. About a third closed on a preset stop (``stopType`` ``profit`` / ``loss``).
    ``seq`` runs 1..count in (cTime, seq) order.
    """
    rng = _rng(seed, "bitget-history", uid)
    times = sorted(DATA_EPOCH_MS - rng.randrange(80 * _DAY_MS) for _ in range(count))
    for i in range(1, count):
        if rng.random() < 0.04:
            times[i] = times[i - 1]
    taken: set[int] = set()
    rows = (_history_row(rng, seq, c_time, taken) for seq, c_time in enumerate(times, start=1))
    return {row.tracking_no: row for row in rows}


def _history_row(rng: random.Random, seq: int, c_time: int, taken: set[int]) -> BitgetHistoryOrder:
    market = _pick(rng, BITGET_SYMBOLS)
    places = market.price_places + rng.randint(0, 3)
    opened = _places(_drift(rng, market.price, 0.08), places)
    closed = _places(_drift(rng, opened, 0.05), places)
    size = _places(market.lot * rng.randint(1, 1500), 16)
    side = rng.choice(("long", "short"))
    gain = (closed - opened) * size * (1 if side == "long" else -1)
    coin = market.product_type == "COIN-FUTURES"
    open_fee = -max(
        _places((size if coin else opened * size) * Decimal("0.0006"), 8), Decimal("1e-8")
    )
    close_fee = -max(
        _places((size if coin else closed * size) * Decimal("0.0006"), 8), Decimal("1e-8")
    )
    open_time = c_time + rng.randint(0, 900)
    stop = rng.choice((None, None, "profit" if gain > 0 else "loss"))
    return BitgetHistoryOrder(
        seq=seq,
        tracking_no=_snowflake(rng, c_time, taken),
        symbol=market.name,
        product_type=market.product_type.lower(),
        open_order_id=_snowflake(rng, c_time - rng.randint(3, 900), taken),
        close_order_id=_snowflake(rng, open_time + 60_000, taken),
        pos_side=side,
        open_leverage=rng.choice((2, 3, 5, 10, 10, 20, 20, 25, 50, 75, 100, 125)),
        open_avg_price=opened,
        open_time=open_time,
        close_time=open_time + rng.randint(60_000, 5 * _DAY_MS),
        close_avg_price=closed,
        stop_type=stop,
        achieved_pl=_places(gain, 8).normalize(),
        open_fee=open_fee.normalize(),
        close_fee=close_fee.normalize(),
        open_size=size,
        close_size=size,
        c_time=c_time,
    )


def render_history_order(order: BitgetHistoryOrder, spelling: str = "example") -> dict[str, str]:
    """A history row as Bitget sends it: every field a string, ``stopType`` ``""`` when unset.

    ``spelling`` ``"example"`` names the averages ``openPriceAvg`` / ``closePriceAvg`` (the
    docs' response example), ``"table"`` ``openAvgPrice`` / ``closeAvgPrice`` (their table).
    """
    example = spelling == "example"
    return {
        "trackingNo": order.tracking_no,
        "symbol": order.symbol,
        "productType": order.product_type,
        "openOrderId": order.open_order_id,
        "closeOrderId": order.close_order_id,
        "posSide": order.pos_side,
        "openLeverage": str(order.open_leverage),
        "openPriceAvg" if example else "openAvgPrice": plain(order.open_avg_price),
        "openTime": str(order.open_time),
        "closeTime": str(order.close_time),
        "closePriceAvg" if example else "closeAvgPrice": plain(order.close_avg_price),
        "stopType": order.stop_type or "",
        "achievedPL": plain(order.achieved_pl),
        "openFee": plain(order.open_fee),
        "closeFee": plain(order.close_fee),
        "openSize": plain(order.open_size),
        "closeSize": plain(order.close_size),
        "cTime": str(order.c_time),
    }


def history_tracking_orders(
    account: BitgetAccount, query: Mapping[str, str], call: PrivateCall
) -> dict[str, Any]:
    """``GET /api/v2/copy/mix-trader/order-history-track``: a page of closed tracking orders.

    ``order`` ``desc`` (default): newest first by (cTime, seq); ``asc``: oldest first.
    ``idLessThan=C`` keeps rows older than the row ``C`` stood for, ``idGreaterThan=C`` rows
    newer; the page holds the ``limit`` (1..100, default 20) such rows nearest the cursor, in
    the asked order. ``endId`` is the ``seq`` of the page's row farthest from where paging
    started (the last row, or the first when walking against the asked order), ``null`` for
    an empty page; only cursors this server issued to the account are accepted.
    """
    product = product_type(query)
    limit = limit_param(query, 100)
    start, end = time_range(query)
    order = (optional(query, "order") or "desc").lower()
    if order not in ("asc", "desc"):
        raise bad_param("order")
    older_than = cursor(account.history_cursors, query, "idLessThan")
    newer_than = cursor(account.history_cursors, query, "idGreaterThan")
    symbol = optional(query, "symbol")
    symbol = None if symbol is None else symbol.upper()
    rows = [
        row
        for row in account.history.values()
        if row.product_type.upper() == product
        and (symbol is None or row.symbol == symbol)
        and (start is None or row.c_time >= start)
        and (end is None or row.c_time <= end)
        and (older_than is None or row.sort_key < older_than)
        and (newer_than is None or row.sort_key > newer_than)
    ]
    # Walk away from the cursor: older rows for idLessThan (alone or with idGreaterThan),
    # newer ones for idGreaterThan alone; without a cursor, in the asked order.
    if older_than is not None or newer_than is not None:
        newer = older_than is None
    else:
        newer = order == "asc"
    rows.sort(key=lambda row: row.sort_key, reverse=not newer)
    page = rows[:limit]
    last = page[-1] if page else None
    if (order == "asc") != newer:
        page.reverse()
    end_id: str | None = None
    if last is not None:
        account.history_cursors[last.seq] = last.sort_key
        end_id = str(last.seq)
    if call.repeat_cursor:
        end_id = optional(query, "idLessThan") or optional(query, "idGreaterThan") or end_id
    spelling = account.history_spelling
    return {"trackingList": [render_history_order(r, spelling) for r in page], "endId": end_id}
