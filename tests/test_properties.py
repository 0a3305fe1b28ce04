"""Property-based tests (hypothesis): whatever the bytes of a reply and whatever the values of
the arguments, the outcome is a model, a typed `ea.ExchangeError`, or a correctly encoded and
signed request; never another exception, never a hang. Examples are bounded so CI stays quick.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from support.rows import BITGET_ROW, COINW_ROW
from support.servers import ORDER, TRACK, base_url, hostile_server

import exchange_async as ea
from exchange_async._core.params import MAX_MS
from exchange_async.bitget.endpoints import CURRENT_TRACK
from exchange_async.bitget.models import decode_page, decode_tracking_orders_page
from exchange_async.coinw.endpoints import ORDER_INFO
from exchange_async.coinw.models import decode_order_info
from exchange_async_sim.testing import bitget_page, bitget_reply, coinw_reply, coinw_rows

DECODE = settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
REQUESTS = settings(
    max_examples=80,
    deadline=5000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- hostile bodies ------------------------------------------------------------------------------

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
ODD_NUMBERS = st.one_of(
    st.integers(min_value=-(10**500), max_value=10**500).map(str),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-99, 99), st.integers(-(10**6), 10**6)),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.text(alphabet="0123456789.-+eE_ ", max_size=12),
)


def _fields(row: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(row)
    return decoded


BITGET_FIELDS = list(_fields(BITGET_ROW))
BITGET_MONEY_WIRE = {
    key: b'"%s":"%s"' % (key.encode(), str(value).encode())
    for key, value in _fields(BITGET_ROW).items()
    if key in ("openLeverage", "openPriceAvg", "openSize", "openFee", "presetStopLossPrice")
}
COINW_FIELDS = list(_fields(COINW_ROW))


def _check_bitget(body: bytes) -> None:
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


def _check_coinw(body: bytes) -> None:
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


@DECODE
@given(st.binary(max_size=300))
def test_random_bytes(body: bytes) -> None:
    _check_bitget(body)
    _check_coinw(body)


@DECODE
@given(JSON)
def test_random_json(value: Any) -> None:
    body = msgspec.json.encode(value)
    _check_bitget(body)
    _check_coinw(body)
    _check_bitget(bitget_reply(value))
    _check_coinw(coinw_reply(value))


@DECODE
@given(st.sampled_from(BITGET_FIELDS), JSON | ODD_NUMBERS | NON_FINITE_TEXT)
def test_bitget_any_value_in_any_field(field: str, value: Any) -> None:
    row = _fields(BITGET_ROW)
    row[field] = value
    _check_bitget(bitget_page(row))


@DECODE
@given(st.sampled_from(COINW_FIELDS), JSON | ODD_NUMBERS | NON_FINITE_TEXT)
def test_coinw_any_value_in_any_field(field: str, value: Any) -> None:
    row = _fields(COINW_ROW)
    row[field] = value
    _check_coinw(coinw_rows(row))


MONEY_BITGET = ["openLeverage", "openPriceAvg", "openSize", "openFee", "presetStopLossPrice"]
MONEY_COINW = ["margin", "fee", "indexPrice", "stopLossPrice", "triggerPrice"]


@DECODE
@given(st.sampled_from(MONEY_BITGET), st.sampled_from(MONEY_COINW), NON_FINITE_TEXT)
def test_non_finite_money_is_always_refused(bitget: str, coinw: str, text: str) -> None:
    row = _fields(BITGET_ROW)
    row[bitget] = text
    with pytest.raises(ea.DecodeError):
        decode_tracking_orders_page(bitget_page(row))
    row = _fields(COINW_ROW)
    row[coinw] = text
    with pytest.raises(ea.DecodeError):
        decode_order_info(coinw_rows(row))


def _escaped(text: str, flips: list[bool]) -> bytes:
    """``text`` as a JSON string, some characters written as ``\\uXXXX`` escapes."""
    flips = flips + [False] * len(text)
    chars = [f"\\u{ord(c):04x}" if f else c for c, f in zip(text, flips, strict=False)]
    return ('"' + "".join(chars) + '"').encode()


@DECODE
@given(
    st.sampled_from(list(BITGET_MONEY_WIRE)),
    NON_FINITE_TEXT,
    st.lists(st.booleans(), max_size=12),
)
def test_non_finite_money_is_refused_however_it_is_escaped(
    field: str, text: str, flips: list[bool]
) -> None:
    # The guarantee must not rest on spotting "nan" in the raw bytes: "\u004eaN" is NaN too.
    body = BITGET_ROW.replace(
        BITGET_MONEY_WIRE[field], b'"' + field.encode() + b'":' + _escaped(text, flips)
    )
    with pytest.raises(ea.DecodeError):
        decode_tracking_orders_page(b'{"code":"00000","data":{"trackingList":[' + body + b"]}}")


SPACE = st.text(alphabet=" \t\r\n", max_size=3)


@DECODE
@given(SPACE, SPACE, SPACE, SPACE, st.booleans())
def test_blank_prices_are_none_in_any_json_layout(
    before: str, after: str, inside: str, between: str, pretty_first: bool
) -> None:
    inside = " " * len(inside)  # a JSON string may hold spaces, never raw tabs or newlines
    blank = f'"presetStopLossPrice"{before}:{after}"{inside}"'.encode()
    row = BITGET_ROW.replace(b'"presetStopLossPrice":"25855.16"', blank)
    first = BITGET_ROW.replace(b'":"', b'": "') if pretty_first else BITGET_ROW
    body = b'{"code":"00000","data":{"trackingList":[' + first + b"," + between.encode() + row
    orders = decode_tracking_orders_page(body + b'],"endId":"1"}}').tracking_list
    assert orders[0].preset_stop_loss_price == Decimal("25855.16")
    assert orders[1].preset_stop_loss_price is None
    assert orders[1].preset_stop_surplus_price == Decimal("27561.34")


HISTORY_ROW = json.dumps(
    {
        "trackingNo": "1076520016396840961",
        "symbol": "BTCUSDT",
        "productType": "usdt-futures",
        "openOrderId": "1",
        "closeOrderId": "2",
        "posSide": "long",
        "openLeverage": "20",
        "openPriceAvg": "26248.9",
        "openTime": "1695801595658",
        "closeTime": "1695801643852",
        "closePriceAvg": "26301.1",
        "stopType": "",
        "achievedPL": "5.22",
        "openFee": "-1.574934",
        "closeFee": "-1.578066",
        "openSize": "0.1",
        "closeSize": "0.1",
        "cTime": "1695801595658",
    }
)
HISTORY_MONEY = [
    "openLeverage",
    "openPriceAvg",
    "closePriceAvg",
    "achievedPL",
    "openFee",
    "closeFee",
    "openSize",
    "closeSize",
    "openAvgPrice",
    "closeAvgPrice",
]


@DECODE
@given(st.sampled_from(list(json.loads(HISTORY_ROW))), JSON | ODD_NUMBERS | NON_FINITE_TEXT)
def test_history_any_value_in_any_field(field: str, value: Any) -> None:
    row = json.loads(HISTORY_ROW)
    row[field] = value
    body = bitget_page(row)
    try:
        page = decode_page(ea.HistoryTrackingOrdersPage, body)
    except ea.DecodeError:
        return
    (order,) = page.tracking_list
    for name in (
        "open_leverage",
        "open_price_avg",
        "close_price_avg",
        "achieved_pl",
        "open_fee",
        "close_fee",
        "open_size",
        "close_size",
    ):
        assert type(getattr(order, name)) is Decimal and getattr(order, name).is_finite()
    assert order.stop_type is None or (order.stop_type.strip() and type(order.stop_type) is str)
    assert type(order.close_time) is int and 0 <= order.close_time < 2**63


@DECODE
@given(st.sampled_from(HISTORY_MONEY), NON_FINITE_TEXT)
def test_history_non_finite_money_is_always_refused(field: str, text: str) -> None:
    row = json.loads(HISTORY_ROW)
    if field.endswith("AvgPrice"):  # the table's spelling instead of the example's
        row[field] = row.pop(field.replace("AvgPrice", "PriceAvg"))
    row[field] = text
    body = bitget_page(row)
    with pytest.raises(ea.DecodeError):
        decode_page(ea.HistoryTrackingOrdersPage, body)


@DECODE
@given(st.integers(min_value=1, max_value=5000), st.sampled_from("[{"), st.integers(0, 3))
def test_deep_nesting_anywhere(depth: int, bracket: str, where: int) -> None:
    if bracket == "[":
        nested = "[" * depth + "1" + "]" * depth
    else:
        nested = '{"k":' * depth + "1" + "}" * depth
    row = BITGET_ROW.decode()
    spots = [
        '{"deep":' + nested + ',"code":"00000","data":{"trackingList":[' + row + "]}}",
        '{"code":"00000","data":{"deep":' + nested + ',"trackingList":[' + row + "]}}",
        '{"code":"00000","data":{"trackingList":[' + row[:-1] + ',"deep":' + nested + "}]}}",
        '{"code":"00000","data":{"trackingList":[' + row + ']},"msg":' + nested + "}",
    ]
    _check_bitget(spots[where].encode())


@DECODE
@given(st.text(max_size=40))
def test_unicode_strings_round_trip(text: str) -> None:
    row = _fields(BITGET_ROW)
    row["symbol"] = text
    row["trackingNo"] = text
    (order,) = decode_tracking_orders_page(bitget_page(row)).tracking_list
    assert order.symbol == text and order.tracking_no == text


@DECODE
@given(st.integers(min_value=0, max_value=2**63 - 1), st.booleans())
def test_coinw_ids_exact(order_id: int, as_string: bool) -> None:
    row = _fields(COINW_ROW)
    row["id"] = str(order_id) if as_string else order_id
    (order,) = decode_order_info(coinw_rows(row))
    assert order.id == order_id


# -- every argument, every type --------------------------------------------------------------------

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
CASE = st.sampled_from([str.lower, str.upper, str.title, lambda s: s])


def _maybe(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly valid values (so that requests do get sent), sometimes anything at all."""
    return st.integers(0, 5).flatmap(lambda i: ANY if i == 0 else valid)


PRODUCT = _maybe(
    st.builds(lambda f, v: f(v), CASE, st.sampled_from([p.value for p in ea.ProductType]))
)
SYMBOL = _maybe(st.sampled_from(["BTCUSDT", "ethusdt", "1000PEPEUSDT"]))
TIME_MS = _maybe(st.integers(min_value=0, max_value=MAX_MS))
LIMIT = _maybe(st.integers(min_value=1, max_value=50))
CURSOR = _maybe(st.text(alphabet="0123456789abcXYZ_-.", min_size=1, max_size=20))
POSITION = _maybe(
    st.builds(lambda f, v: f(v), CASE, st.sampled_from([p.value for p in ea.PositionType]))
)
INSTRUMENT = _maybe(st.sampled_from(["BTC", "eth", "1000PEPE"]))
IDS = _maybe(
    st.lists(
        st.integers(min_value=1, max_value=2**63 - 1)
        | st.integers(min_value=1, max_value=10**18).map(str),
        max_size=45,
    )
)

_keys = itertools.count()


def _signature(secret: str, request: dict[str, str], timestamp: str) -> str:
    prehash = f"{timestamp}GET{request['raw_path']}"
    digest = hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@pytest.fixture
async def echo() -> AsyncIterator[tuple[TestServer, list[dict[str, Any]]]]:
    """A server that records every request and answers an empty success."""
    seen: list[dict[str, Any]] = []

    async def track(request: web.Request) -> web.Response:
        seen.append({"raw_path": request.raw_path, "headers": dict(request.headers)})
        return web.Response(body=bitget_page(end_id=None), content_type="application/json")

    async def order(request: web.Request) -> web.Response:
        seen.append({"raw_path": request.raw_path, "headers": dict(request.headers)})
        return web.Response(body=coinw_rows(), content_type="application/json")

    async with hostile_server({TRACK: track, ORDER: order}) as server:
        yield server, seen


def _query(raw_path: str) -> list[tuple[str, str]]:
    _, _, query = raw_path.partition("?")
    return [tuple(part.split("=", 1)) for part in query.split("&") if part]  # type: ignore[misc]


@REQUESTS
@given(
    product=PRODUCT,
    symbol=st.none() | SYMBOL,
    start=st.none() | TIME_MS,
    end=st.none() | TIME_MS,
    limit=st.none() | LIMIT,
    cursor=st.none() | CURSOR,
)
async def test_bitget_arguments_give_a_validation_error_or_a_signed_request(
    echo: tuple[TestServer, list[dict[str, Any]]],
    product: Any,
    symbol: Any,
    start: Any,
    end: Any,
    limit: Any,
    cursor: Any,
) -> None:
    server, seen = echo
    key, secret, passphrase = f"bg-prop-{next(_keys)}", "prop-secret-bitget", "prop-pass"
    credentials = ea.BitgetCredentials(key, secret, passphrase)
    before = len(seen)
    async with (
        asyncio.timeout(5),
        ea.BitgetClient(credentials, base_url=base_url(server)) as client,
    ):
        try:
            page = await client.get_current_tracking_orders(
                product,
                symbol=symbol,
                start_time=start,
                end_time=end,
                limit=limit,
                id_less_than=cursor,
            )
        except ea.ValidationError as _e:
            assert len(seen) == before
            event(f"refused: {str(_e).split(' ')[0]}")
            return
    event("sent")
    assert page.tracking_list == []
    (request,) = seen[before:]
    headers = request["headers"]
    assert request["raw_path"].startswith(TRACK + "?")
    assert headers["ACCESS-KEY"] == key and headers["ACCESS-PASSPHRASE"] == passphrase
    assert headers["ACCESS-SIGN"] == _signature(secret, request, headers["ACCESS-TIMESTAMP"])
    query = _query(request["raw_path"])
    assert [k for k, _ in query] == sorted(k for k, _ in query)
    sent = dict(query)
    assert sent["productType"] == str(product).upper() or sent["productType"] == product.value
    if symbol is not None:
        assert sent["symbol"] == str(symbol).upper()
    if limit is not None:
        assert sent["limit"] == str(limit)
    if cursor is not None:
        assert sent["idLessThan"] == str(cursor)
    for name, value in (("startTime", start), ("endTime", end)):
        if value is None:
            assert name not in sent
        elif isinstance(value, datetime):
            assert int(sent[name]) == (value - datetime(1970, 1, 1, tzinfo=UTC)) // (
                timedelta(milliseconds=1)
            )
        else:
            assert sent[name] == str(value)


@REQUESTS
@given(position=POSITION, instrument=st.none() | INSTRUMENT, ids=st.none() | IDS)
async def test_coinw_arguments_give_a_validation_error_or_signed_requests(
    echo: tuple[TestServer, list[dict[str, Any]]], position: Any, instrument: Any, ids: Any
) -> None:
    server, seen = echo
    key, secret = f"cw-prop-{next(_keys)}", "prop-secret-coinw"
    before = len(seen)
    async with (
        asyncio.timeout(5),
        ea.CoinWClient(ea.CoinWCredentials(key, secret), base_url=base_url(server)) as client,
    ):
        try:
            orders = await client.get_order_info(position, instrument=instrument, source_ids=ids)
        except ea.ValidationError as _e:
            assert len(seen) == before
            event(f"refused: {str(_e).split(' ')[0]}")
            return
    event("sent")
    assert orders == []
    requests = seen[before:]
    wanted = list(dict.fromkeys(int(i) for i in ids)) if ids is not None else None
    if wanted == []:
        assert requests == []
        return
    sent_ids: list[int] = []
    for request in requests:
        headers = request["headers"]
        assert headers["api_key"] == key
        assert headers["sign"] == _signature(secret, request, headers["timestamp"])
        sent = dict(_query(request["raw_path"]))
        assert sent["positionType"].lower() == str(position).lower()
        if instrument is not None:
            assert sent["instrument"] == str(instrument).upper()
        if wanted is not None:
            chunk = [int(i) for i in sent["sourceIds"].split(",")]
            assert 1 <= len(chunk) <= 20
            sent_ids += chunk
    if wanted is not None:
        assert sorted(sent_ids) == sorted(wanted)


OPTION_VALUES = _maybe(st.floats(min_value=0.001, max_value=1000) | st.integers(1, 100))


@settings(max_examples=200, deadline=2000)
@given(
    timeout=OPTION_VALUES,
    margin=_maybe(st.floats(min_value=0, max_value=1)),
    max_rate_wait=st.none() | OPTION_VALUES,
    uid=st.none() | _maybe(st.integers(1, 10**12)),
    url=_maybe(st.sampled_from(["https://api.bitget.com", "http://127.0.0.1:1"]))
    | st.text(max_size=30),
    demo=_maybe(st.booleans()),
)
def test_client_options_give_a_validation_error_or_a_client(
    timeout: Any, margin: Any, max_rate_wait: Any, uid: Any, url: Any, demo: Any
) -> None:
    credentials = ea.BitgetCredentials("bg-key-options", "bg-secret-options", "bg-pass")
    try:
        client = ea.BitgetClient(
            credentials,
            base_url=url,
            timeout=timeout,
            rate_limit_margin=margin,
            max_rate_wait=max_rate_wait,
            uid=uid,
            demo_trading=demo,
        )
    except ea.ValidationError as error:
        message = str(error)
    else:
        message = repr(client)
    assert "bg-secret-options" not in message


@settings(max_examples=200, deadline=2000)
@given(
    max_attempts=_maybe(st.integers(1, 10)),
    base_delay=_maybe(st.floats(0, 10)),
    interval=st.none() | _maybe(st.floats(0, 10)),
    backoff=_maybe(st.floats(0.01, 5)),
    max_pending=_maybe(st.integers(1, 10_000)),
)
def test_retry_and_poller_options(
    max_attempts: Any, base_delay: Any, interval: Any, backoff: Any, max_pending: Any
) -> None:
    try:
        retry = ea.RetryPolicy(max_attempts=max_attempts, base_delay=base_delay)
        ea.Poller(interval=interval, backoff=backoff, max_pending=max_pending, retry=retry)
    except ea.ValidationError:
        pass


@settings(max_examples=200, deadline=2000)
@given(st.text(max_size=20), st.text(max_size=20), st.text(max_size=20))
def test_credentials_never_show_their_secrets(key: Any, secret: str, passphrase: str) -> None:
    secret, passphrase = "SECRET-" + secret, "PASSPHRASE-" + passphrase
    try:
        credentials = ea.BitgetCredentials(key, secret, passphrase)
    except ea.ValidationError as error:
        texts = [str(error), repr(error)]
    else:
        texts = [repr(credentials), str(credentials)]
    for text in texts:
        assert secret not in text and passphrase not in text
    if texts[0].startswith("BitgetCredentials") and len(key) > 8:
        assert key not in texts[0]


def test_decimal_values_are_exact() -> None:
    row = _fields(BITGET_ROW)
    row["openPriceAvg"] = "0.1000000000000000055511151231257827"
    (order,) = decode_tracking_orders_page(bitget_page(row)).tracking_list
    assert order.open_price_avg == Decimal("0.1000000000000000055511151231257827")
