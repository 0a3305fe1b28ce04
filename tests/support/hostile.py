"""Hostile values the tests share: hypothesis settings and strategies (any JSON, non-finite and
odd numbers, any argument of any type), the hostile values tried one by one, and the checks that
a body decodes to models or fails with a typed `DecodeError` (never another exception)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, timedelta, timezone
from decimal import Decimal
from typing import Any

import msgspec
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

import exchange_async as ea
from exchange_async.bitget.endpoints import CURRENT_TRACK
from exchange_async.bitget.models import decode_tracking_orders_page
from exchange_async.coinw.endpoints import ORDER_INFO
from exchange_async.coinw.models import decode_order_info

DECODE = settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
"""Settings of the decoding properties: bounded so the suite stays quick."""
REQUESTS = settings(
    max_examples=80,
    deadline=5000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
"""Settings of the properties that send requests to a local server."""

HUGE = 2**70
"""An int past every argument's range (but short enough to print)."""
GIANT = 10**5000
"""An int of 5,001 digits: past Python's int-to-str limit (``str()`` of it raises)."""
GIANT_INTS = st.sampled_from([GIANT, -GIANT, GIANT + 7]) | st.integers(min_value=10**80)
"""Ints above every argument's range (a cursor or instrument may be up to 64 digits long)."""

NON_FINITE = [b'"NaN"', b'"nan"', b'"sNaN"', b'"-sNaN"', b'"Infinity"', b'"-inf"', b'"+Inf"']
"""Non-finite decimals as the wire may spell them (each must be refused in a money field)."""
NON_NUMERIC = [b'"N/A"', b'"abc"', b'"1,5"', b'"0x10"', b"true", b"{}", b"[]"]
"""Values no money field may take."""

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
"""Any JSON value (small)."""
NON_FINITE_TEXT = st.builds(
    lambda sign, word, digits: sign + word + digits,
    st.sampled_from(["", "+", "-", " ", "\t"]),
    st.sampled_from(["nan", "snan", "inf", "infinity"]).flatmap(
        lambda w: st.builds(
            lambda flips: "".join(c.upper() if f else c for c, f in zip(w, flips, strict=False)),
            st.lists(st.booleans(), min_size=len(w), max_size=len(w)),
        )
    ),
    st.sampled_from(["", "0", "123"]),
)
"""``NaN``, ``-sNaN123``, ``\\tINFinity`` and the like, as text."""
ODD_NUMBERS = st.one_of(
    st.integers(min_value=-(10**500), max_value=10**500).map(str),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-99, 99), st.integers(-(10**6), 10**6)),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.text(alphabet="0123456789.-+eE_ ", max_size=12),
)
"""Numbers as text: huge, with exponents, odd characters."""


def fields(row: bytes) -> dict[str, Any]:
    """A JSON row as a dict, to change a value in."""
    decoded: dict[str, Any] = json.loads(row)
    return decoded


def names_field(error: Exception, snake: str) -> bool:
    """Whether ``error`` names the field ``snake`` (in either spelling)."""
    camel = snake.split("_")[0] + "".join(p.title() for p in snake.split("_")[1:])
    text = str(error)
    return snake in text or camel in text


def check_bitget(body: bytes) -> None:
    """``body`` is a page of well-typed, finite tracking orders, or a `DecodeError`."""
    try:
        page = decode_tracking_orders_page(body)
    except ea.DecodeError:
        pass
    else:
        for order in page.tracking_list:
            assert type(order) is ea.TrackingOrder
            for name in ("open_leverage", "open_price_avg", "open_size", "open_fee"):
                assert getattr(order, name).is_finite()
            for price in (order.preset_stop_surplus_price, order.preset_stop_loss_price):
                assert price is None or (type(price) is Decimal and price.is_finite())
            assert type(order.open_time) is int and 0 <= order.open_time < 2**63
    # The pipeline maps this one type (and only it) to DecodeError.
    with contextlib.suppress(msgspec.DecodeError):
        CURRENT_TRACK.decoder.decode(body)


def check_coinw(body: bytes) -> None:
    """``body`` is a list of well-typed CoinW orders with finite money, or a `DecodeError`."""
    try:
        orders = decode_order_info(body)
    except ea.DecodeError:
        pass
    else:
        for order in orders:
            assert type(order) is ea.OrderInfo and type(order.id) is int
            assert order.margin.is_finite() and order.fee.is_finite()
    with contextlib.suppress(msgspec.DecodeError):
        ORDER_INFO.decoder.decode(body)


MONEY_BITGET = ["openLeverage", "openPriceAvg", "openSize", "openFee", "presetStopLossPrice"]
"""Money fields of a Bitget tracking order (wire names)."""
MONEY_COINW = ["margin", "fee", "indexPrice", "stopLossPrice", "triggerPrice"]
"""Money fields of a CoinW order (wire names)."""


ANY = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(),
    st.text(max_size=12),
    st.binary(max_size=6),
    st.lists(st.integers(min_value=-5, max_value=5) | st.text(max_size=3), max_size=3),
    st.datetimes(),
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(timezones=st.sampled_from([timezone(timedelta(hours=h)) for h in (-12, 5, 14)])),
    st.just(object()),
)
"""A value of any type an argument might be given."""


def maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly valid values (so that requests do get sent), sometimes anything at all."""
    return st.integers(0, 5).flatmap(lambda i: ANY if i == 0 else valid)
