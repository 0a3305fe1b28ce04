"""Every argument of every public call, of any type: the outcome is a `ValidationError` or a
correctly encoded and signed request (checked against a real local server that records it).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import event, given
from hypothesis import strategies as st
from support.hostile import REQUESTS, maybe
from support.servers import ORDER, TRACK, base_url, hostile_server

import exchange_async as ea
from exchange_async._core.params import MAX_MS
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
