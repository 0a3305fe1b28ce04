"""Orders that open, change and close over time, deterministically from the seed.

A :class:`MutationBook` holds what one account's mutations need between calls (its own
``random.Random``, the order count it stays near, the highest ids handed out); the
``mutate_*`` functions apply one mutation to an account's orders, synchronously, so a request
handled on the same event loop never sees half of one.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal

from .accounts import BitgetAccount, CoinWAccount
from .data import (
    DATA_EPOCH_MS,
    _drift,
    _places,
    bitget_market,
    coinw_market,
    make_bitget_order,
    make_coinw_order,
)
from .models import BitgetHistoryOrder, BitgetTrackingOrder, CoinWOrder

__all__ = [
    "CLOSED_COINW_KEPT",
    "Mutation",
    "MutationBook",
    "MutationKind",
    "close_bitget_order",
    "mutate_bitget",
    "mutate_coinw",
]

MutationKind = Literal["opened", "changed", "closed"]
"""What happened to an order."""

CLOSED_COINW_KEPT = 200
"""How many closed (``Finish`` / ``Cancel``) orders a CoinW account keeps in its ``orders``
dict before the oldest are deleted; they are never served either way."""

_BITGET_CHANGEABLE = ("preset_stop_surplus_price", "preset_stop_loss_price", "follow_count")


@dataclass(frozen=True, slots=True)
class Mutation:
    """One change to an account's orders, as :meth:`Simulator.mutate` applied it.

    ``time`` is ``time.monotonic()`` when it was applied; ``account`` the Bitget uid or the
    CoinW user id (as a string); ``key`` the Bitget ``trackingNo`` or the CoinW order id (as a
    string). ``fields`` names, in snake case, every field a ``"changed"`` mutation changed
    (empty for ``"opened"`` and ``"closed"``). ``pos_type`` is the CoinW order's ``posType``
    (``None`` on Bitget), ``product_type`` the Bitget order's product type (``None`` on CoinW).
    """

    time: float
    exchange: Literal["bitget", "coinw"]
    account: str
    kind: MutationKind
    key: str
    fields: tuple[str, ...] = ()
    pos_type: str | None = None
    product_type: str | None = None


@dataclass(eq=False, slots=True)
class MutationBook:
    """Mutation state of one account: its random stream and high-water marks.

    ``target`` is the order count mutations keep the account near (its open orders when the
    book was made). ``last_seq`` / ``last_time`` (Bitget) and ``last_id`` (CoinW) only grow, so
    a new order is newer than anything the account had, cursors included. ``closed`` lists
    closed CoinW orders still kept in the account's dict, oldest first.
    """

    exchange: Literal["bitget", "coinw"]
    account: str
    rng: random.Random
    target: int
    last_seq: int = 0
    last_time: int = 0
    last_id: int = 0
    closed: deque[int] = field(default_factory=deque)


def choose_kind(rng: random.Random, size: int, target: int) -> MutationKind:
    """Open, change or close, leaning towards opens below ``target`` and closes above it."""
    if size == 0:
        return "opened"
    spread = max(3.0, target * 0.15)
    lean = max(-1.0, min(1.0, (target - size) / spread))
    p_open = 0.3 + 0.25 * lean
    p_close = 0.3 - 0.25 * lean
    roll = rng.random()
    if roll < p_open:
        return "opened"
    if roll < p_open + p_close:
        return "closed"
    return "changed"


def _exponent_places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 4


# -- Bitget -----------------------------------------------------------------------------------


def mutate_bitget(book: MutationBook, account: BitgetAccount, now_ms: int, t: float) -> Mutation:
    """Apply one mutation to ``account``'s current tracking orders (shared by its uid).

    Opened: a new order with a ``seq`` above every row and cursor so far and an ``openTime``
    of ``max(now_ms, newest open time seen)``, so it sorts first and never inside an older
    page; its trackingNo and openOrderId are snowflakes of a time derived from ``seq``, not
    from the clock, so they repeat from run to run. Changed: one to three of
    ``presetStopSurplusPrice``, ``presetStopLossPrice`` (set, moved or cleared) and
    ``followCount``; sort keys never change. Closed: the row moves to the account's history
    (:func:`close_bitget_order`). Orders are replaced, never modified in place.
    """
    rng = book.rng
    orders = account.orders
    kind = choose_kind(rng, len(orders), book.target)
    if kind == "opened":
        seq = max(book.last_seq, account.next_seq() - 1) + 1
        newest = max((order.open_time for order in orders.values()), default=0)
        newest = max(newest, max((key[0] for key in account.cursor_positions.values()), default=0))
        open_time = max(now_ms, newest, book.last_time)
        taken: set[int] = set()
        for order in orders.values():
            for text in (order.tracking_no, order.open_order_id):
                if text.isdigit():
                    taken.add(int(text))
        new = make_bitget_order(rng, seq, open_time, taken, DATA_EPOCH_MS + seq * 1000)
        orders[new.tracking_no] = new
        book.last_seq, book.last_time = seq, open_time
        return Mutation(
            t, "bitget", book.account, "opened", new.tracking_no, product_type=new.product_type
        )
    key = rng.choice(list(orders))
    order = orders[key]
    if kind == "closed":
        del orders[key]
        closed = close_bitget_order(rng, order, now_ms, account)
        account.history[closed.tracking_no] = closed
        return Mutation(t, "bitget", book.account, "closed", key, product_type=order.product_type)
    changed, fields = _change_bitget(rng, order)
    orders[key] = changed
    return Mutation(
        t, "bitget", book.account, "changed", key, fields, product_type=order.product_type
    )


def close_bitget_order(
    rng: random.Random, order: BitgetTrackingOrder, now_ms: int, account: BitgetAccount
) -> BitgetHistoryOrder:
    """The history row of ``order`` closed at ``now_ms`` (or just after it opened), at a price
    near its open price; ``stopType`` set when a preset stop would have closed it."""
    market = bitget_market(order.symbol)
    places = market.price_places if market else _exponent_places(order.open_price_avg)
    price = _places(_drift(rng, order.open_price_avg, 0.03), places)
    side = 1 if order.pos_side == "long" else -1
    gain = (price - order.open_price_avg) * order.open_size * side
    stop = None
    if order.preset_stop_surplus_price is not None and rng.random() < 0.3:
        stop, price = "profit", order.preset_stop_surplus_price
        gain = (price - order.open_price_avg) * order.open_size * side
    seq = max((row.seq for row in account.history.values()), default=0) + 1
    return BitgetHistoryOrder(
        seq=seq,
        tracking_no=order.tracking_no,
        symbol=order.symbol,
        product_type=order.product_type.lower(),
        open_order_id=order.open_order_id,
        close_order_id=str(int(order.open_order_id) + 1 + rng.getrandbits(20)),
        pos_side=order.pos_side,
        open_leverage=order.open_leverage,
        open_avg_price=order.open_price_avg,
        open_time=order.open_time,
        close_time=max(now_ms, order.open_time + 1),
        close_avg_price=price,
        stop_type=stop,
        achieved_pl=_places(gain, 8).normalize(),
        open_fee=order.open_fee,
        close_fee=-max(
            _places(abs(price * order.open_size) * Decimal("0.0006"), 8), Decimal("1e-8")
        ),
        open_size=order.open_size,
        close_size=order.open_size,
        c_time=order.open_time,
    )


def _change_bitget(
    rng: random.Random, order: BitgetTrackingOrder
) -> tuple[BitgetTrackingOrder, tuple[str, ...]]:
    picked = set(rng.sample(_BITGET_CHANGEABLE, rng.choice((1, 1, 1, 2, 2, 3))))
    market = bitget_market(order.symbol)
    places = market.price_places if market else _exponent_places(order.open_price_avg)
    changes: dict[str, Any] = {}
    for name in _BITGET_CHANGEABLE:
        if name not in picked:
            continue
        if name == "follow_count":
            count = max(0, order.follow_count + rng.choice((-3, -2, -1, 1, 1, 2, 3, 5)))
            changes[name] = count if count != order.follow_count else count + 1
            continue
        current: Decimal | None = getattr(order, name)
        above = (name == "preset_stop_surplus_price") == (order.pos_side == "long")
        changes[name] = _new_stop(rng, order.open_price_avg, current, above, places)
    return replace(order, **changes), tuple(changes)


def _new_stop(
    rng: random.Random, price: Decimal, current: Decimal | None, above: bool, places: int
) -> Decimal | None:
    if current is not None and rng.random() < 0.15:
        return None
    for _ in range(8):
        move = Decimal(repr(round(rng.uniform(0.005, 0.2), 4)))
        value = _places(price * (1 + move) if above else price * (1 - move), places)
        if value > 0 and value != current:
            return value
    tick = Decimal(1).scaleb(-places)
    return None if current is not None else _places(price, places) + tick


# -- CoinW ------------------------------------------------------------------------------------


def mutate_coinw(book: MutationBook, account: CoinWAccount, now_ms: int, t: float) -> Mutation:
    """Apply one mutation to ``account``'s open orders.

    Opened: a new order, id above every id the account had, ``createdDate`` =
    ``updatedDate`` = ``now_ms``. Changed (``updatedDate`` always moves forward, and is listed
    in ``fields``): a partial fill (``currentPiece`` down, ``fee`` up, ``orderStatus``
    ``unFinish`` -> ``part``), a new ``triggerPrice`` (plan orders), or new stop prices
    (``stopProfitPrice`` / ``stopLossPrice``, their rates, and their order prices when set).
    Closed: ``orderStatus`` becomes ``Finish`` (``currentPiece`` 0, full fee) or ``Cancel``;
    the order stays in ``account.orders`` (the newest :data:`CLOSED_COINW_KEPT` closed ones
    do) but is no longer served. Orders are replaced, never modified in place.
    """
    rng = book.rng
    orders = account.orders
    open_ids = [order_id for order_id, order in orders.items() if order.is_open]
    kind = choose_kind(rng, len(open_ids), book.target)
    if kind == "opened":
        last = max(book.last_id, max(orders, default=0))
        order_id = last + 2 * rng.randint(1_000, 4_000_000)
        created = max(now_ms, book.last_time)
        new = replace(
            make_coinw_order(rng, account.user_id, order_id, created), updated_date=created
        )
        orders[order_id] = new
        book.last_id, book.last_time = order_id, created
        return Mutation(t, "coinw", book.account, "opened", str(order_id), pos_type=new.pos_type)
    order_id = rng.choice(open_ids)
    order = orders[order_id]
    updated = max(now_ms, order.updated_date + 1)
    if kind == "closed":
        if rng.random() < 0.5:
            closed = replace(
                order,
                order_status="Finish",
                current_piece=Decimal(0),
                fee=_fee(order, Decimal(0)),
                updated_date=updated,
            )
        else:
            closed = replace(order, order_status="Cancel", updated_date=updated)
        orders[order_id] = closed
        book.closed.append(order_id)
        while len(book.closed) > CLOSED_COINW_KEPT:
            old = book.closed.popleft()
            gone = orders.get(old)
            if gone is not None and not gone.is_open:
                del orders[old]
        return Mutation(t, "coinw", book.account, "closed", str(order_id), pos_type=order.pos_type)
    changed, fields = _change_coinw(rng, order, updated)
    orders[order_id] = changed
    return Mutation(
        t, "coinw", book.account, "changed", str(order_id), fields, pos_type=order.pos_type
    )


def _fee(order: CoinWOrder, remaining: Decimal) -> Decimal:
    notional = order.order_price * order.base_size
    total = order.total_piece or Decimal(1)
    return _places(notional * Decimal("0.0006") * (total - remaining) / total, 4).normalize()


def _change_coinw(
    rng: random.Random, order: CoinWOrder, updated: int
) -> tuple[CoinWOrder, tuple[str, ...]]:
    options = ["stops"]
    if order.current_piece >= 2:
        options.append("fill")
    if order.pos_type in ("plan", "planTrigger"):
        options.append("trigger")
    what = rng.choice(options)
    market = coinw_market(order.instrument)
    places = market.price_places if market else _exponent_places(order.order_price)
    price = order.order_price
    omitted = set(order.omitted)
    changes: dict[str, Any] = {}

    def put(name: str, value: Any, wire: tuple[str, ...] = ()) -> None:
        if value != getattr(order, name):
            changes[name] = value
        omitted.difference_update(wire)

    if what == "fill":
        remaining = order.current_piece - rng.randint(1, int(order.current_piece) - 1)
        put("current_piece", remaining)
        put("fee", _fee(order, remaining))
        if order.order_status.lower() == "unfinish":
            put("order_status", "part")
    elif what == "trigger":
        trigger = order.trigger_price
        for _ in range(8):
            trigger = _places(_drift(rng, price, 0.01), places)
            if trigger > 0 and trigger != order.trigger_price:
                break
        put("trigger_price", trigger, ("triggerPrice",))
    else:
        factor = Decimal(repr(round(rng.uniform(0.01, 0.12), 3)))
        profit = _places(price * (1 + factor), places)
        loss = _places(price * (1 - factor / 2), places)
        if order.direction == "short":
            profit, loss = loss, profit
        put("stop_profit_price", profit, ("stopProfitPrice", "stopProfitRate"))
        put("stop_profit_rate", _rate(profit, price))
        put("stop_loss_price", loss, ("stopLossPrice", "stopLossRate"))
        put("stop_loss_rate", _rate(loss, price))
        if order.stop_profit_order_price is not None:
            put("stop_profit_order_price", profit)
        if order.stop_loss_order_price is not None:
            put("stop_loss_order_price", loss)
    changes["updated_date"] = updated
    fields = tuple(changes)
    if omitted != order.omitted:
        changes["omitted"] = frozenset(omitted)
    return replace(order, **changes), fields


def _rate(value: Decimal, base: Decimal) -> Decimal:
    return _places(abs(value - base) / base, 8).normalize()
