"""Every argument of every public call, of any type: the outcome is a `ValidationError` or a
correctly encoded and signed request (checked against a real local server that records it).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import math
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from conftest import BITGET_KEY, BITGET_PASS, BITGET_SECRET
from hypothesis import event, given, settings
from hypothesis import strategies as st
from support.bitget_memory import bitget_server, client, order, reply
from support.clients import bitget_client as _bitget
from support.clients import coinw_client as _coinw
from support.hostile import GIANT_INTS, HUGE, REQUESTS, maybe
from support.servers import ORDER, TRACK, base_url, hostile_server

import exchange_async as ea
from exchange_async._core.params import MAX_MS
from exchange_async._core.transport import TransportRequest, TransportResponse
from exchange_async._core.transport.memory import MemoryTransport
from exchange_async.coinw.client import MAX_SOURCE_IDS
from exchange_async_sim import Simulator
from exchange_async_sim.testing import bitget_page, coinw_rows

CASE = st.sampled_from([str.lower, str.upper, str.title, lambda s: s])


PRODUCT = maybe(
    st.builds(lambda f, v: f(v), CASE, st.sampled_from([p.value for p in ea.ProductType]))
)


SYMBOL = maybe(st.sampled_from(["BTCUSDT", "ethusdt", "1000PEPEUSDT"]))


TIME_MS = maybe(st.integers(min_value=0, max_value=MAX_MS))


LIMIT = maybe(st.integers(min_value=1, max_value=50))


CURSOR = maybe(st.text(alphabet="0123456789abcXYZ_-.", min_size=1, max_size=20))


POSITION = maybe(
    st.builds(lambda f, v: f(v), CASE, st.sampled_from([p.value for p in ea.PositionType]))
)


INSTRUMENT = maybe(st.sampled_from(["BTC", "eth", "1000PEPE"]))


IDS = maybe(
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


NAIVE = datetime(2024, 1, 1)


def _boom() -> Iterator[int]:
    yield 1
    raise KeyError("the caller's own bug")


BITGET_BAD: list[tuple[str, dict[str, Any]]] = [
    ("product_type", {"product_type": None}),
    ("product_type", {"product_type": 1}),
    ("product_type", {"product_type": b"USDT-FUTURES"}),
    ("product_type", {"product_type": "SPOT"}),
    ("symbol", {"symbol": 1.5}),
    ("symbol", {"symbol": "BTC/USDT"}),
    ("symbol", {"symbol": ""}),
    ("symbol", {"symbol": "BTC\nUSDT"}),
    ("symbol", {"symbol": "B" * 41}),
    ("symbol", {"symbol": -5}),
    ("start_time", {"start_time": NAIVE}),
    ("start_time", {"start_time": 1.7e12}),
    ("start_time", {"start_time": True}),
    ("start_time", {"start_time": HUGE}),
    ("start_time", {"start_time": -1}),
    ("start_time", {"start_time": "1700000000000"}),
    ("start_time", {"start_time": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))}),
    ("end_time", {"end_time": float("nan")}),
    ("end_time", {"end_time": 10**20}),
    ("start_time", {"start_time": 2_000, "end_time": 1_000}),
    ("limit", {"limit": 0}),
    ("limit", {"limit": 51}),
    ("limit", {"limit": 1.5}),
    ("limit", {"limit": True}),
    ("limit", {"limit": "10"}),
    ("limit", {"limit": HUGE}),
    ("id_less_than", {"id_less_than": "1 OR 1"}),
    ("id_less_than", {"id_less_than": 1.5}),
    ("id_less_than", {"id_less_than": True}),
    ("id_less_than", {"id_less_than": -1}),
    ("id_greater_than", {"id_greater_than": ["1"]}),
    ("id_less_than", {"id_less_than": "1", "id_greater_than": "2"}),
]


@pytest.mark.parametrize(("name", "kwargs"), BITGET_BAD)
async def test_bitget_bad_arguments(
    bitget: ea.BitgetClient, sim: Simulator, name: str, kwargs: dict[str, Any]
) -> None:
    args = {"product_type": "USDT-FUTURES", **kwargs}
    product_type = args.pop("product_type")
    with pytest.raises(ea.ValidationError, match=name):
        await bitget.get_current_tracking_orders(product_type, **args)
    assert sim.arrivals == []


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("page_size", {"page_size": 0}),
        ("page_size", {"page_size": "50"}),
        ("page_size", {"page_size": 50.0}),
        ("start_time", {"start_time": NAIVE}),
        ("symbol", {"symbol": object()}),
    ],
)
async def test_bitget_bad_paging_arguments(
    bitget: ea.BitgetClient, sim: Simulator, name: str, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ea.ValidationError, match=name):
        async for _ in bitget.iter_current_tracking_orders("USDT-FUTURES", **kwargs):
            pass
    assert sim.arrivals == []


COINW_BAD: list[tuple[str, dict[str, Any]]] = [
    ("position_type", {"position_type": 3}),
    ("position_type", {"position_type": ["plan"]}),
    ("instrument", {"instrument": 1.5}),
    ("instrument", {"instrument": "BTC USDT"}),
    ("instrument", {"instrument": "X" * 31}),
    ("source_ids", {"source_ids": True}),
    ("source_ids", {"source_ids": 5}),
    ("source_ids", {"source_ids": 5.0}),
    ("source_ids", {"source_ids": "1,2"}),
    ("source_ids", {"source_ids": b"12"}),
    ("source_ids", {"source_ids": {1: 2}}),
    ("source_ids", {"source_ids": [[1, 2]]}),
    ("source_ids", {"source_ids": [1.0]}),
    ("source_ids", {"source_ids": [math.nan]}),
    ("source_ids", {"source_ids": [True]}),
    ("source_ids", {"source_ids": [None]}),
    ("source_ids", {"source_ids": [HUGE]}),
    ("source_ids", {"source_ids": ["9" * 400]}),
    ("source_ids", {"source_ids": [0]}),
    ("source_ids", {"source_ids": ["１２"]}),  # full-width digits: not ASCII
    ("source_ids", {"source_ids": [b"12"]}),
    ("source_ids", {"source_ids": _boom()}),
]


@pytest.mark.parametrize(("name", "kwargs"), COINW_BAD)
async def test_coinw_bad_arguments(
    coinw: ea.CoinWClient, sim: Simulator, name: str, kwargs: dict[str, Any]
) -> None:
    args = {"position_type": "plan", **kwargs}
    with pytest.raises(ea.ValidationError, match=name):
        await coinw.get_order_info(**args)
    assert sim.arrivals == []


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("product_types", {"product_types": None}),
        ("product_types", {"product_types": 5}),
        ("product_types", {"product_types": []}),
        ("product_types", {"product_types": ["SPOT"]}),
        ("product_types", {"product_types": _boom()}),
        ("interval", {"interval": "1"}),
        ("interval", {"interval": math.nan}),
        ("base_url", {"base_url": "http://example.com"}),
        ("uid", {"uid": 1.5}),
        ("symbol", {"symbol": 1.5}),
    ],
)
def test_poller_account_arguments(name: str, kwargs: dict[str, Any]) -> None:
    poller = ea.Poller()
    credentials = ea.BitgetCredentials(BITGET_KEY, BITGET_SECRET, BITGET_PASS)
    with pytest.raises(ea.ValidationError, match=name):
        poller.add_bitget("desk", credentials, **kwargs)
    assert poller.accounts == {}


def test_times_are_exact_milliseconds() -> None:
    from exchange_async._core.params import to_ms

    moment = datetime(2024, 3, 1, 12, 0, 0, 123_000, tzinfo=UTC)
    assert to_ms("t", moment) == 1_709_294_400_123
    late = datetime(2286, 11, 20, 17, 46, 39, 999_000, tzinfo=UTC)  # float would round this
    assert to_ms("t", late) == 9_999_999_999_999


BITGET_INT_ARGUMENTS = ["id_less_than", "id_greater_than", "start_time", "end_time", "limit"]


@pytest.mark.parametrize("name", BITGET_INT_ARGUMENTS)
@settings(max_examples=10, deadline=None)
@given(value=GIANT_INTS)
def test_a_huge_int_is_a_validation_error_for_every_bitget_argument(name: str, value: Any) -> None:
    def refuse(request: ea.TransportRequest) -> ea.TransportResponse:
        raise AssertionError("nothing may be sent")

    async def call() -> None:
        async with _bitget(transport=ea.MemoryTransport(refuse)) as client:
            with pytest.raises(ea.ValidationError, match=name):
                await client.get_current_tracking_orders("USDT-FUTURES", **{name: value})
            with pytest.raises(ea.ValidationError, match="page_size"):
                client.iter_current_tracking_orders("USDT-FUTURES", page_size=value)

    asyncio.run(call())


@pytest.mark.parametrize("name", ["instrument", "source_ids"])
@settings(max_examples=10, deadline=None)
@given(value=GIANT_INTS)
def test_a_huge_int_is_a_validation_error_for_every_coinw_argument(name: str, value: int) -> None:
    def refuse(request: ea.TransportRequest) -> ea.TransportResponse:
        raise AssertionError("nothing may be sent")

    argument: Any = [1, value] if name == "source_ids" else value

    async def call() -> None:
        async with _coinw(transport=ea.MemoryTransport(refuse)) as client:
            with pytest.raises(ea.ValidationError, match=name):
                await client.get_order_info("plan", **{name: argument})

    asyncio.run(call())


def _never_called(request: TransportRequest) -> TransportResponse:
    raise AssertionError("nothing may be sent")


@pytest.mark.parametrize(
    "ids",
    [
        itertools.count(1),  # endless: list() of it never returned (and ate all memory)
        range(1, MAX_SOURCE_IDS + 2),
    ],
    ids=["endless", "one-too-many"],
)
async def test_too_many_source_ids_is_a_validation_error(ids: object) -> None:
    transport = MemoryTransport(_never_called)
    async with ea.CoinWClient(
        ea.CoinWCredentials("cw-key-ids", "cw-secret-ids"),
        base_url="http://127.0.0.1:1",
        transport=transport,
    ) as client:
        with pytest.raises(ea.ValidationError, match="at most"):
            await asyncio.wait_for(client.get_order_info("plan", source_ids=ids), 10)  # type: ignore[arg-type]
    assert transport.requests == []


async def test_the_most_source_ids_are_sent() -> None:
    sent: list[int] = []

    def answer(request: TransportRequest) -> TransportResponse:
        query = request.url.split("sourceIds=", 1)[1].split("&", 1)[0]
        sent.extend(int(i) for i in query.split(","))
        return TransportResponse(200, {}, b'{"code":0,"data":[],"msg":""}')

    async with ea.CoinWClient(
        ea.CoinWCredentials("cw-key-ids2", "cw-secret-ids"),
        base_url="http://127.0.0.1:1",
        transport=MemoryTransport(answer),
        rate_limit_margin=0.0,
    ) as client:
        few = range(1, 42)
        assert await client.get_order_info("plan", source_ids=few) == []
    assert sorted(sent) == list(few)
    assert MAX_SOURCE_IDS >= 1000


async def test_endless_position_types_is_a_validation_error() -> None:
    async with ea.Poller() as poller:
        with pytest.raises(ea.ValidationError, match="at most"):
            poller.add_coinw(
                "desk",
                ea.CoinWCredentials("cw-key-kinds", "cw-secret-ids"),
                position_types=itertools.repeat("plan"),
            )
        with pytest.raises(ea.ValidationError, match="at most"):
            poller.add_bitget(
                "desk",
                ea.BitgetCredentials("bg-key-kinds", "bg-secret", "bg-pass"),
                product_types=itertools.cycle(["USDT-FUTURES"]),
            )


@pytest.mark.virtual_time
async def test_non_iterable_ids_are_a_validation_error() -> None:
    creds = ea.CoinWCredentials("cw-key-0001", "cw-secret-0001")
    async with ea.CoinWClient(creds, transport=ea.MemoryTransport(lambda r: reply([]))) as coinw:
        with pytest.raises(ea.ValidationError):
            await coinw.get_order_info("plan", source_ids=5)  # type: ignore[arg-type]


@pytest.mark.virtual_time
async def test_poller_takes_any_source() -> None:
    transport = ea.MemoryTransport(bitget_server(lambda r: reply({"trackingList": [order(1)]})))

    class Source:
        exchange = "bitget"

        def __init__(self) -> None:
            self.client = client(transport)

        async def snapshot(self) -> dict[str, ea.TrackingOrder]:
            page = await self.client.get_current_tracking_orders("USDT-FUTURES")
            return {o.tracking_no: o for o in page.tracking_list}

    async with ea.Poller(interval=0.01) as poller:
        poller.add("mine", Source())
        async for event in poller:
            if isinstance(event, ea.AccountSynced):
                assert event.orders == 1
                break
