"""Deterministic generation of realistic orders (same seed, same orders)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .models import BitgetTrackingOrder, CoinWOrder

__all__ = [
    "BITGET_SYMBOLS",
    "COINW_INSTRUMENTS",
    "DATA_EPOCH_MS",
    "bitget_market",
    "bitget_uid",
    "coinw_market",
    "coinw_user_id",
    "generate_bitget_orders",
    "generate_coinw_orders",
    "make_bitget_order",
    "make_coinw_order",
]

DATA_EPOCH_MS = 1_767_225_600_000
"""2026-01-01T00:00:00Z: generated orders were opened in the weeks before this instant."""

_SNOWFLAKE_EPOCH_MS = 1_288_834_974_657
_COINW_FIRST_ID = 33_308_741_701_971_947


@dataclass(frozen=True, slots=True)
class _Market:
    name: str
    product_type: str
    price: Decimal
    price_places: int
    lot: Decimal
    weight: int


BITGET_SYMBOLS: tuple[_Market, ...] = (
    _Market("BTCUSDT", "USDT-FUTURES", Decimal("97250.4"), 1, Decimal("0.001"), 22),
    _Market("ETHUSDT", "USDT-FUTURES", Decimal("3412.37"), 2, Decimal("0.01"), 16),
    _Market("SOLUSDT", "USDT-FUTURES", Decimal("191.284"), 3, Decimal("0.1"), 10),
    _Market("XRPUSDT", "USDT-FUTURES", Decimal("2.3051"), 4, Decimal("1"), 8),
    _Market("DOGEUSDT", "USDT-FUTURES", Decimal("0.32417"), 5, Decimal("10"), 6),
    _Market("BNBUSDT", "USDT-FUTURES", Decimal("694.12"), 2, Decimal("0.01"), 5),
    _Market("LINKUSDT", "USDT-FUTURES", Decimal("22.417"), 3, Decimal("0.1"), 4),
    _Market("ADAUSDT", "USDT-FUTURES", Decimal("0.9514"), 4, Decimal("1"), 4),
    _Market("BTCUSD", "COIN-FUTURES", Decimal("97261.5"), 1, Decimal("0.001"), 8),
    _Market("ETHUSD", "COIN-FUTURES", Decimal("3413.02"), 2, Decimal("0.01"), 5),
    _Market("XRPUSD", "COIN-FUTURES", Decimal("2.3047"), 4, Decimal("1"), 2),
    _Market("BTCPERP", "USDC-FUTURES", Decimal("97244.9"), 1, Decimal("0.001"), 6),
    _Market("ETHPERP", "USDC-FUTURES", Decimal("3411.88"), 2, Decimal("0.01"), 4),
)
"""Bitget markets orders are drawn from: most USDT-FUTURES, some COIN- and USDC-FUTURES."""

COINW_INSTRUMENTS: tuple[_Market, ...] = (
    _Market("BTC", "", Decimal("85880.1"), 1, Decimal("0.001"), 30),
    _Market("ETH", "", Decimal("2204.37"), 2, Decimal("0.01"), 20),
    _Market("SOL", "", Decimal("141.552"), 3, Decimal("0.1"), 12),
    _Market("XRP", "", Decimal("2.5123"), 4, Decimal("1"), 10),
    _Market("DOGE", "", Decimal("0.20154"), 5, Decimal("10"), 8),
    _Market("1000PEPE", "", Decimal("0.0091442"), 7, Decimal("100"), 8),
)
"""CoinW futures instruments (base currencies) orders are drawn from."""

_BITGET_BY_SYMBOL = {market.name: market for market in BITGET_SYMBOLS}
_COINW_BY_NAME = {market.name: market for market in COINW_INSTRUMENTS}


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join([str(seed), *map(str, parts)]))


def _places(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _pick(rng: random.Random, markets: tuple[_Market, ...]) -> _Market:
    return rng.choices(markets, weights=[m.weight for m in markets])[0]


def _drift(rng: random.Random, price: Decimal, spread: float) -> Decimal:
    return price * Decimal(repr(round(1 + rng.uniform(-spread, spread), 6)))


def bitget_uid(seed: int, index: int) -> str:
    """The uid given to the ``index``-th Bitget account registered without one."""
    return str(_rng(seed, "bitget-uid", index).randrange(1_000_000_000, 9_999_999_999))


def coinw_user_id(seed: int, index: int) -> int:
    """The user id given to the ``index``-th CoinW account registered without one."""
    return _rng(seed, "coinw-user", index).randrange(1_000_000, 9_999_999)


def _snowflake(rng: random.Random, time_ms: int, taken: set[int]) -> str:
    while True:
        value = ((time_ms - _SNOWFLAKE_EPOCH_MS) << 22) | rng.getrandbits(22)
        if value not in taken:
            taken.add(value)
            return str(value)


def generate_bitget_orders(seed: int, uid: str, count: int) -> dict[str, BitgetTrackingOrder]:
    """``count`` current tracking orders of the trader ``uid``, keyed by trackingNo.

    Open times fall in the 30 days before :data:`DATA_EPOCH_MS`; a few share an open time with
    their neighbour, so ordering ties happen. About a fifth of the rows lack one or both preset
    stop prices. ``seq`` runs 1..count in (openTime, seq) order.
    """
    rng = _rng(seed, "bitget-orders", uid)
    span = 30 * 24 * 3600 * 1000
    times = sorted(DATA_EPOCH_MS - rng.randrange(span) for _ in range(count))
    for i in range(1, count):
        if rng.random() < 0.04:
            times[i] = times[i - 1]
    taken: set[int] = set()
    orders: dict[str, BitgetTrackingOrder] = {}
    for seq, open_time in enumerate(times, start=1):
        order = make_bitget_order(rng, seq, open_time, taken)
        orders[order.tracking_no] = order
    return orders


def bitget_market(symbol: str) -> _Market | None:
    """The generator's market of ``symbol`` (``None`` for a symbol it does not know)."""
    return _BITGET_BY_SYMBOL.get(symbol)


def make_bitget_order(
    rng: random.Random,
    seq: int,
    open_time: int,
    taken: set[int],
    id_time: int | None = None,
) -> BitgetTrackingOrder:
    """One tracking order opened at ``open_time`` with position ``seq``, drawn from ``rng``.

    ``taken`` holds the snowflake ids already used (trackingNo and openOrderId as ints); the
    new order's ids are added to it. The ids embed ``id_time`` (default ``open_time``), so a
    caller that wants ids independent of the wall clock passes a time of its own.
    """
    market = _pick(rng, BITGET_SYMBOLS)
    extra = rng.randint(0, 4)
    price = _places(_drift(rng, market.price, 0.06), market.price_places + extra)
    size = _places(market.lot * rng.randint(1, 1500), 16)
    side = rng.choice(("long", "short"))
    up = Decimal(repr(round(rng.uniform(0.01, 0.2), 4)))
    down = Decimal(repr(round(rng.uniform(0.005, 0.1), 4)))
    high = _places(price * (1 + up), market.price_places)
    low = _places(price * (1 - down), market.price_places)
    surplus: Decimal | None = high if side == "long" else low
    loss: Decimal | None = low if side == "long" else high
    roll = rng.random()
    if roll < 0.08:
        surplus = None
    elif roll < 0.16:
        loss = None
    elif roll < 0.22:
        surplus = loss = None
    notional = price * size
    if market.product_type == "COIN-FUTURES":
        notional = size
    fee = -max(_places(notional * Decimal("0.0006"), 8), Decimal("0.00000001"))
    stamp = open_time if id_time is None else id_time
    tracking_no = _snowflake(rng, stamp, taken)
    order_id = _snowflake(rng, stamp - rng.randint(3, 900), taken)
    return BitgetTrackingOrder(
        seq=seq,
        tracking_no=tracking_no,
        open_order_id=order_id,
        symbol=market.name,
        product_type=market.product_type,
        pos_side=side,
        open_leverage=rng.choice((2, 3, 5, 10, 10, 20, 20, 25, 50, 75, 100, 125)),
        open_price_avg=price,
        open_time=open_time,
        open_size=size,
        preset_stop_surplus_price=surplus,
        preset_stop_loss_price=loss,
        open_fee=fee.normalize(),
        follow_count=rng.choice((0, 0, 1, 2, 3, 5, 8, 13, 21, 40, 77)),
    )


_COINW_POS_TYPES = (
    ("plan", 40),
    ("execute", 15),
    ("planTrigger", 10),
    ("moveStop", 15),
    ("stopProfitLoss", 20),
)


def _rate(price: Decimal | None, base: Decimal) -> Decimal | None:
    if price is None:
        return None
    return _places(abs(price - base) / base, 8).normalize()


def generate_coinw_orders(seed: int, user_id: int, count: int) -> dict[int, CoinWOrder]:
    """``count`` open (unfilled) futures orders of ``user_id``, keyed by order id.

    Ids are odd 17-digit integers from 33308741701971947 upwards: above 2**53 and none of them
    survives a round trip through a float. Optional fields are sometimes ``None`` (sent as
    ``null``) and sometimes left out of the reply altogether.
    """
    rng = _rng(seed, "coinw-orders", user_id)
    order_id = _COINW_FIRST_ID + 2 * rng.randrange(50_000_000)
    created = DATA_EPOCH_MS - 7 * 24 * 3600 * 1000
    orders: dict[int, CoinWOrder] = {}
    for _ in range(count):
        order_id += 2 * rng.randint(1_000, 4_000_000)
        created += rng.randint(1_000, 9_000_000)
        orders[order_id] = make_coinw_order(rng, user_id, order_id, created)
    return orders


def coinw_market(instrument: str) -> _Market | None:
    """The generator's market of ``instrument`` (``None`` for one it does not know)."""
    return _COINW_BY_NAME.get(instrument)


def _trigger(
    rng: random.Random, pos_type: str, price: Decimal, places: int
) -> tuple[Decimal | None, int | None]:
    """(triggerPrice, triggerType) of a plan order; ``(None, None)`` for the others."""
    if pos_type not in ("plan", "planTrigger"):
        return None, None
    return _places(_drift(rng, price, 0.01), places), rng.choice((0, 1))


def _stops(
    rng: random.Random, price: Decimal, direction: str, places: int
) -> tuple[Decimal | None, Decimal | None]:
    """(stopProfitPrice, stopLossPrice), both set for seven orders in ten."""
    if rng.random() >= 0.7:
        return None, None
    factor = Decimal(repr(round(rng.uniform(0.01, 0.12), 3)))
    profit = _places(price * (1 + factor), places)
    loss = _places(price * (1 - factor / 2), places)
    return (loss, profit) if direction == "short" else (profit, loss)


def _omitted(rng: random.Random, optional: Mapping[str, object], limit_prices: bool) -> set[str]:
    """Wire names left out of the reply: about half of the unset optional fields."""
    omitted = {name for name, value in optional.items() if value is None and rng.random() < 0.5}
    if "stopLossPrice" in omitted:
        omitted.add("stopLossRate")
    if "stopProfitPrice" in omitted:
        omitted.add("stopProfitRate")
    if not limit_prices:
        omitted.update(("stopLossOrderPrice", "stopProfitOrderPrice"))
    return omitted


def make_coinw_order(rng: random.Random, user_id: int, order_id: int, created: int) -> CoinWOrder:
    """One open order ``order_id`` of ``user_id`` created at ``created``, drawn from ``rng``."""
    kinds = [kind for kind, _ in _COINW_POS_TYPES]
    weights = [weight for _, weight in _COINW_POS_TYPES]
    market = _pick(rng, COINW_INSTRUMENTS)
    pos_type = rng.choices(kinds, weights=weights)[0]
    direction = rng.choice(("long", "short"))
    leverage = rng.choice((1, 2, 3, 5, 10, 20, 50, 100))
    index_price = _places(_drift(rng, market.price, 0.02), market.price_places)
    order_price = _places(_drift(rng, index_price, 0.04), market.price_places)
    total = rng.randint(1, 400)
    partial = rng.random() < 0.2
    current = rng.randint(1, total - 1) if partial and total > 1 else total
    base_size = _places(market.lot * total, 8).normalize()
    unit = rng.choice((0, 1, 2))
    notional = order_price * base_size
    quantity = {
        0: _places(notional, 2).normalize(),
        1: Decimal(total),
        2: base_size,
    }[unit]
    margin = _places(notional / leverage, 2).normalize()
    trigger_price, trigger_type = _trigger(rng, pos_type, order_price, market.price_places)
    stop_profit, stop_loss = _stops(rng, order_price, direction, market.price_places)
    third = f"{rng.randint(100, 999)}-{rng.randint(1, 99)}-{total}" if rng.random() < 0.5 else None
    limit_prices = stop_loss is not None and rng.random() < 0.25
    optional = {
        "stopLossPrice": stop_loss,
        "stopProfitPrice": stop_profit,
        "thirdOrderId": third,
        "triggerPrice": trigger_price,
        "triggerType": trigger_type,
    }
    omitted = _omitted(rng, optional, limit_prices)
    return CoinWOrder(
        id=order_id,
        user_id=user_id,
        instrument=market.name,
        direction=direction,
        base_size=base_size,
        contract_type=1,
        created_date=created,
        updated_date=created + rng.randint(0, 600_000),
        current_piece=Decimal(current),
        total_piece=Decimal(total),
        fee=_places(notional * Decimal("0.0006") * (total - current) / total, 4).normalize()
        if partial
        else Decimal(0),
        frozen_fee=_places(notional * Decimal("0.0002"), 4).normalize(),
        index_price=index_price,
        leverage=leverage,
        liquidate_by="manual",
        maker_fee=Decimal("0.0001"),
        taker_fee=Decimal("0.0006"),
        margin=margin,
        order_price=order_price,
        order_status="part" if current != total else "unFinish",
        original_type="plan" if pos_type == "planTrigger" else pos_type,
        pos_type=pos_type,
        position_margin=margin,
        position_model=rng.choice((0, 1)),
        quantity=quantity,
        quantity_unit=unit,
        source=rng.choice(("api", "api", "web")),
        status="open",
        stop_loss_price=stop_loss,
        stop_loss_rate=_rate(stop_loss, order_price),
        stop_profit_price=stop_profit,
        stop_profit_rate=_rate(stop_profit, order_price),
        stop_loss_order_price=stop_loss if limit_prices else None,
        stop_profit_order_price=stop_profit if limit_prices else None,
        third_order_id=third,
        trigger_price=trigger_price,
        trigger_type=trigger_type,
        omitted=frozenset(omitted),
    )
