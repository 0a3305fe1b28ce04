"""Raw-protocol tests of the exchange simulator: a real server, a plain aiohttp client."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import aiohttp
import pytest
import yarl

from exchange_async.bitget.auth import sign as bitget_sign
from exchange_async.coinw.auth import sign as coinw_sign
from exchange_async_sim import (
    DEMO_BITGET,
    DEMO_COINW,
    Arrival,
    BitgetAccount,
    CoinWAccount,
    Simulator,
    SimulatorConfig,
    SimulatorServer,
    max_in_window,
    serve_forever,
)

TRACK = "/api/v2/copy/mix-trader/order-current-track"
TIME = "/api/v2/public/time"
ORDER = "/v1/perpum/order"
ROW_FIELDS = {
    "trackingNo",
    "openOrderId",
    "symbol",
    "posSide",
    "openLeverage",
    "openPriceAvg",
    "openTime",
    "openSize",
    "presetStopSurplusPrice",
    "presetStopLossPrice",
    "openFee",
    "followCount",
}
COINW_REQUIRED = {
    "baseSize",
    "contractType",
    "createdDate",
    "currentPiece",
    "direction",
    "fee",
    "frozenFee",
    "id",
    "indexPrice",
    "instrument",
    "leverage",
    "liquidateBy",
    "makerFee",
    "margin",
    "orderPrice",
    "orderStatus",
    "originalType",
    "posType",
    "positionMargin",
    "positionModel",
    "quantity",
    "quantityUnit",
    "source",
    "status",
    "takerFee",
    "totalPiece",
    "updatedDate",
    "userId",
}
COINW_NUMERIC = COINW_REQUIRED - {
    "direction",
    "instrument",
    "liquidateBy",
    "orderStatus",
    "originalType",
    "posType",
    "source",
    "status",
}
RELAXED = SimulatorConfig(
    bitget_rate_limit=10_000, coinw_rate_limit=10_000, coinw_global_limit=10_000
)


# -- plumbing ---------------------------------------------------------------------------------


class Reply:
    """An HTTP answer read in full."""

    def __init__(self, status: int, text: str, headers: Mapping[str, str]) -> None:
        self.status = status
        self.text = text
        self.headers = dict(headers)

    @property
    def json(self) -> Any:
        return json.loads(self.text)


def query_string(params: Sequence[tuple[str, str]]) -> str:
    return "&".join(f"{key}={value}" for key, value in params)


async def fetch(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
) -> Reply:
    async with http.get(yarl.URL(url, encoded=True), headers=headers or {}) as response:
        return Reply(response.status, await response.text(), response.headers)


async def bitget_get(
    http: aiohttp.ClientSession,
    base: str,
    params: Sequence[tuple[str, str]] = (("productType", "USDT-FUTURES"),),
    *,
    path: str = TRACK,
    key: str = "bk",
    secret: str = "bs",
    passphrase: str = "bp",
    timestamp: int | None = None,
    signed_query: str | None = None,
    drop: str | None = None,
) -> Reply:
    """A signed Bitget GET; ``signed_query`` signs a different query than the one sent."""
    query = query_string(params)
    ts = int(time.time() * 1000) if timestamp is None else timestamp
    signed = query if signed_query is None else signed_query
    target = path + (f"?{query}" if query else "")
    headers = {
        "ACCESS-KEY": key,
        "ACCESS-SIGN": bitget_sign(secret, ts, "GET", path + (f"?{signed}" if signed else "")),
        "ACCESS-TIMESTAMP": str(ts),
        "ACCESS-PASSPHRASE": passphrase,
        "Content-Type": "application/json",
        "locale": "en-US",
    }
    if drop is not None:
        del headers[drop]
    return await fetch(http, base + target, headers)


async def coinw_get(
    http: aiohttp.ClientSession,
    base: str,
    params: Sequence[tuple[str, str]] = (("positionType", "plan"),),
    *,
    path: str = ORDER,
    key: str = "ck",
    secret: str = "cs",
    bad_sign: bool = False,
) -> Reply:
    query = query_string(params)
    target = path + (f"?{query}" if query else "")
    ts = int(time.time() * 1000)
    signature = coinw_sign(secret, ts, "GET", target)
    if bad_sign:
        signature = coinw_sign("not-the-secret", ts, "GET", target)
    headers = {"api_key": key, "timestamp": str(ts), "sign": signature}
    return await fetch(http, base + target, headers)


def new_sim(config: SimulatorConfig = RELAXED, **coinw: Any) -> Simulator:
    sim = Simulator(config)
    sim.add_bitget_account(api_key="bk", secret_key="bs", passphrase="bp", orders=300)
    sim.add_coinw_account(api_key="ck", secret_key="cs", orders=60, **coinw)
    return sim


@pytest.fixture
def sim() -> Simulator:
    return new_sim()


@pytest.fixture
async def server(sim: Simulator) -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(sim, port=0) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def bitget_account(sim: Simulator, key: str = "bk") -> BitgetAccount:
    return sim.bitget.accounts[key]


def coinw_account(sim: Simulator, key: str = "ck") -> CoinWAccount:
    return sim.coinw.accounts[key]


# -- Bitget -----------------------------------------------------------------------------------


async def test_server_time(http: aiohttp.ClientSession) -> None:
    sim = Simulator(SimulatorConfig(clock_offset_ms=120_000))
    async with SimulatorServer(sim) as server:
        before = int(time.time() * 1000)
        reply = await fetch(http, server.base_url + TIME)
    assert reply.status == 200
    body = reply.json
    assert body["code"] == "00000"
    assert isinstance(body["requestTime"], int)
    server_time = body["data"]["serverTime"]
    assert isinstance(server_time, str)
    assert abs(int(server_time) - (before + 120_000)) < 5_000
    assert sim.arrivals[0].account is None
    assert (sim.arrivals[0].status, sim.arrivals[0].code) == (200, "00000")


async def test_good_request_has_all_string_fields(
    sim: Simulator, server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    reply = await bitget_get(
        http, server.base_url, [("limit", "20"), ("productType", "USDT-FUTURES")]
    )
    assert reply.status == 200
    body = reply.json
    assert (body["code"], body["msg"]) == ("00000", "success")
    rows = body["data"]["trackingList"]
    assert len(rows) == 20
    for row in rows:
        assert set(row) == ROW_FIELDS
        assert all(isinstance(value, str) for value in row.values())
        assert len(row["trackingNo"]) == 19
        assert row["openFee"].startswith("-")
    times = [int(row["openTime"]) for row in rows]
    assert times == sorted(times, reverse=True)
    account = bitget_account(sim)
    expected = sorted(
        (o for o in account.orders.values() if o.product_type == "USDT-FUTURES"),
        key=lambda o: o.sort_key,
        reverse=True,
    )[:20]
    assert [row["trackingNo"] for row in rows] == [o.tracking_no for o in expected]
    end_id = body["data"]["endId"]
    assert isinstance(end_id, str)
    assert end_id not in account.orders
    arrival = sim.arrivals[-1]
    assert isinstance(arrival, Arrival)
    assert (arrival.exchange, arrival.path, arrival.account, arrival.api_key) == (
        "bitget",
        TRACK,
        account.uid,
        "bk",
    )
    assert (arrival.status, arrival.code) == (200, "00000")
    assert arrival.query == "limit=20&productType=USDT-FUTURES"
    with pytest.raises(dataclasses.FrozenInstanceError):
        arrival.status = 1  # type: ignore[misc]


async def test_empty_stops_and_decimal_text(
    sim: Simulator, server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    rows: list[dict[str, str]] = []
    for product in ("USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES"):
        reply = await bitget_get(http, server.base_url, [("limit", "50"), ("productType", product)])
        rows += reply.json["data"]["trackingList"]
    empty = [r for r in rows if "" in (r["presetStopSurplusPrice"], r["presetStopLossPrice"])]
    assert 0.1 * len(rows) <= len(empty) <= 0.35 * len(rows)
    assert any(r["openSize"].endswith("0000000000") for r in rows)
    assert all("E" not in r["openPriceAvg"] and "E" not in r["openFee"] for r in rows)


async def test_paging_with_id_less_than_visits_every_order_once(
    sim: Simulator, server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    account = bitget_account(sim)
    tracking_numbers = set(account.orders)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = [("limit", "17"), ("productType", "usdt-futures")]
        if cursor is not None:
            params.insert(0, ("idLessThan", cursor))
        body = (await bitget_get(http, server.base_url, params)).json
        assert body["code"] == "00000"
        rows = body["data"]["trackingList"]
        end_id = body["data"]["endId"]
        pages += 1
        if not rows:
            assert end_id is None
            break
        assert end_id not in tracking_numbers
        assert end_id != cursor
        seen += [row["trackingNo"] for row in rows]
        cursor = end_id
    expected = {no for no, o in account.orders.items() if o.product_type == "USDT-FUTURES"}
    assert len(seen) == len(set(seen)) == len(expected)
    assert set(seen) == expected
    assert pages == -(-len(expected) // 17) + 1


async def test_id_greater_than_returns_newer_rows(
    server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    base = [("limit", "10"), ("productType", "USDT-FUTURES")]
    first = (await bitget_get(http, server.base_url, base)).json["data"]
    newer = await bitget_get(http, server.base_url, [("idGreaterThan", first["endId"]), *base])
    rows = newer.json["data"]["trackingList"]
    assert [r["trackingNo"] for r in rows] == [r["trackingNo"] for r in first["trackingList"][:9]]


async def test_filters(
    sim: Simulator, server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    account = bitget_account(sim)
    reply = await bitget_get(
        http,
        server.base_url,
        [("limit", "50"), ("productType", "coin-futures"), ("symbol", "btcusd")],
    )
    rows = reply.json["data"]["trackingList"]
    expected = [o for o in account.orders.values() if o.symbol == "BTCUSD"]
    assert expected
    assert {r["trackingNo"] for r in rows} == {o.tracking_no for o in expected}
    times = sorted(o.open_time for o in account.orders.values() if o.product_type == "USDT-FUTURES")
    start, end = times[10], times[30]
    reply = await bitget_get(
        http,
        server.base_url,
        [
            ("endTime", str(end)),
            ("limit", "50"),
            ("productType", "USDT-FUTURES"),
            ("startTime", str(start)),
        ],
    )
    got = [int(r["openTime"]) for r in reply.json["data"]["trackingList"]]
    assert got
    assert all(start <= t <= end for t in got)
    assert len(got) == sum(1 for t in times if start <= t <= end)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ([("limit", "20")], "productType"),
        ([("productType", "SPOT")], "productType"),
        ([("limit", "51"), ("productType", "USDT-FUTURES")], "limit"),
        ([("limit", "0"), ("productType", "USDT-FUTURES")], "limit"),
        ([("limit", "ten"), ("productType", "USDT-FUTURES")], "limit"),
        ([("productType", "USDT-FUTURES"), ("startTime", "yesterday")], "startTime"),
        ([("idLessThan", "999999"), ("productType", "USDT-FUTURES")], "idLessThan"),
    ],
)
async def test_bad_parameters_40017(
    server: SimulatorServer,
    http: aiohttp.ClientSession,
    params: list[tuple[str, str]],
    name: str,
) -> None:
    reply = await bitget_get(http, server.base_url, params)
    assert reply.status == 400
    assert reply.json == {
        "code": "40017",
        "msg": f"Parameter verification failed {name}",
        "requestTime": reply.json["requestTime"],
        "data": None,
    }


async def test_tracking_number_is_not_a_cursor(
    sim: Simulator, server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    tracking_no = next(iter(bitget_account(sim).orders))
    params = [("idLessThan", tracking_no), ("productType", "USDT-FUTURES")]
    reply = await bitget_get(http, server.base_url, params)
    assert reply.json["code"] == "40017"


@pytest.mark.parametrize(
    ("kwargs", "code", "msg"),
    [
        ({"secret": "wrong"}, "40009", "sign signature error"),
        ({"passphrase": "wrong"}, "40012", "apikey/password is incorrect"),
        ({"key": "nobody"}, "40006", "Invalid ACCESS_KEY"),
        ({"timestamp": int(time.time() * 1000) - 31_000}, "40008", "Request timestamp expired"),
        ({"drop": "ACCESS-KEY"}, "40001", "ACCESS_KEY cannot be empty"),
        ({"drop": "ACCESS-SIGN"}, "40003", "ACCESS_SIGN cannot be empty"),
        ({"drop": "ACCESS-TIMESTAMP"}, "40005", "Invalid ACCESS_TIMESTAMP"),
        ({"drop": "ACCESS-PASSPHRASE"}, "40011", "ACCESS_PASSPHRASE cannot be empty"),
    ],
)
async def test_auth_errors(
    sim: Simulator,
    server: SimulatorServer,
    http: aiohttp.ClientSession,
    kwargs: dict[str, Any],
    code: str,
    msg: str,
) -> None:
    if "timestamp" in kwargs:
        kwargs["timestamp"] = int(time.time() * 1000) - 31_000
    reply = await bitget_get(http, server.base_url, **kwargs)
    assert reply.status == 400
    assert reply.json["code"] == code
    assert reply.json["msg"] == msg
    assert reply.json["data"] is None
    assert (sim.arrivals[-1].status, sim.arrivals[-1].code) == (400, code)


async def test_signature_covers_the_raw_query_as_sent(
    server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    unsorted = [("productType", "USDT-FUTURES"), ("limit", "5")]
    ok = await bitget_get(http, server.base_url, unsorted)
    assert ok.json["code"] == "00000"
    re_sorted = await bitget_get(
        http, server.base_url, unsorted, signed_query="limit=5&productType=USDT-FUTURES"
    )
    assert re_sorted.json["code"] == "40009"
    encoded = await bitget_get(
        http,
        server.base_url,
        [("limit", "5"), ("productType", "USDT%2DFUTURES")],
        signed_query="limit=5&productType=USDT-FUTURES",
    )
    assert encoded.json["code"] == "40009"


async def test_non_integer_timestamp_and_clock_skew(http: aiohttp.ClientSession) -> None:
    sim = new_sim(dataclasses.replace(RELAXED, clock_offset_ms=-45_000))
    async with SimulatorServer(sim) as server:
        local = await bitget_get(http, server.base_url)
        assert local.json["code"] == "40008"
        server_ms = int((await fetch(http, server.base_url + TIME)).json["data"]["serverTime"])
        synced = await bitget_get(http, server.base_url, timestamp=server_ms)
        assert synced.json["code"] == "00000"
        headers = {
            "ACCESS-KEY": "bk",
            "ACCESS-SIGN": "x",
            "ACCESS-TIMESTAMP": "12.5",
            "ACCESS-PASSPHRASE": "bp",
        }
        odd = await fetch(http, server.base_url + TRACK + "?productType=USDT-FUTURES", headers)
        assert odd.json["code"] == "40005"
        sim.config.clock_offset_ms = 0  # settings are live
        assert (await bitget_get(http, server.base_url)).json["code"] == "00000"


async def test_not_a_trader(http: aiohttp.ClientSession) -> None:
    sim = Simulator()
    sim.add_bitget_account(api_key="bk", secret_key="bs", passphrase="bp", trader=False, orders=5)
    async with SimulatorServer(sim) as server:
        reply = await bitget_get(http, server.base_url)
    assert reply.status == 400
    assert (reply.json["code"], reply.json["msg"]) == ("31001", "The user is not a trader")


async def test_bitget_burst_over_the_limit_gets_429(http: aiohttp.ClientSession) -> None:
    sim = new_sim(SimulatorConfig())
    async with SimulatorServer(sim) as server:
        replies = await asyncio.gather(*(bitget_get(http, server.base_url) for _ in range(10)))
    codes = sorted(reply.json["code"] for reply in replies)
    assert codes == ["00000"] * 5 + ["429"] * 5
    limited = next(r for r in replies if r.status == 429)
    assert limited.json["msg"] == "Too Many Requests"
    assert limited.json["data"] is None
    uid = bitget_account(sim).uid
    assert sim.max_in_window(TRACK, account=uid) == 10
    assert sim.max_in_window(TRACK, account="bk") == 10
    assert sim.count(TRACK, status=429) == 5
    assert sim.count(TRACK, account=uid, status=200) == 5


async def test_keys_of_one_uid_share_the_limit(http: aiohttp.ClientSession) -> None:
    sim = Simulator()
    first = sim.add_bitget_account(
        api_key="k1", secret_key="s1", passphrase="p", uid="77", orders=30
    )
    second = sim.add_bitget_account(api_key="k2", secret_key="s2", passphrase="p", uid="77")
    assert second.orders is first.orders
    async with SimulatorServer(sim) as server:
        calls = [
            bitget_get(http, server.base_url, key=key, secret=secret, passphrase="p")
            for key, secret in [("k1", "s1"), ("k2", "s2")] * 4
        ]
        replies = await asyncio.gather(*calls)
    assert sum(reply.status == 429 for reply in replies) == 3
    assert sim.max_in_window(TRACK, account="77") == 8


async def test_limits_count_but_do_not_refuse_when_not_enforced(
    http: aiohttp.ClientSession,
) -> None:
    sim = new_sim(SimulatorConfig(enforce_limits=False))
    async with SimulatorServer(sim) as server:
        replies = await asyncio.gather(*(bitget_get(http, server.base_url) for _ in range(8)))
    assert all(reply.status == 200 for reply in replies)
    assert sim.max_in_window(TRACK) == 8


async def test_ip_limit(http: aiohttp.ClientSession) -> None:
    sim = new_sim(dataclasses.replace(RELAXED, bitget_ip_limit_per_minute=3))
    async with SimulatorServer(sim) as server:
        statuses = [(await fetch(http, server.base_url + TIME)).status for _ in range(3)]
        statuses.append((await bitget_get(http, server.base_url)).status)
    assert statuses == [200, 200, 200, 429]


async def test_unknown_paths_are_404_and_logged(
    sim: Simulator, server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    bitget = await fetch(http, server.base_url + "/api/v2/nothing?x=1")
    assert bitget.status == 404
    assert bitget.json == {"code": "40404", "msg": "Request URL NOT FOUND"}
    coinw = await fetch(http, server.base_url + "/v1/perpum/nothing")
    assert coinw.status == 404
    assert coinw.json == {"code": 404, "msg": "not found"}
    assert [(a.exchange, a.status, a.code, a.query) for a in sim.arrivals] == [
        ("bitget", 404, "40404", "x=1"),
        ("coinw", 404, "404", ""),
    ]
    sim.reset_arrivals()
    assert sim.arrivals == []
    assert sim.count() == 0


# -- CoinW ------------------------------------------------------------------------------------


async def test_coinw_numbers_style_keeps_big_ids_exact(
    sim: Simulator, server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    reply = await coinw_get(http, server.base_url, [("positionType", "plan")])
    assert reply.status == 200
    body = reply.json
    assert (body["code"], body["msg"]) == (0, "")
    rows = body["data"]
    account = coinw_account(sim)
    expected = {o.id for o in account.orders.values() if o.pos_type in ("plan", "planTrigger")}
    assert {row["id"] for row in rows} == expected
    for row in rows:
        assert set(row) >= COINW_REQUIRED
        assert isinstance(row["id"], int)
        assert row["id"] > 2**53
        assert int(float(row["id"])) != row["id"]
        assert f'"id":{row["id"]}' in reply.text.replace(" ", "")
        assert row["userId"] == account.user_id
        assert all(
            isinstance(row[name], str) for name in ("fee", "frozenFee", "makerFee", "takerFee")
        )
        assert isinstance(row["margin"], int | float)
        assert isinstance(row["contractType"], int)
        assert row["posType"] in ("plan", "planTrigger")
    assert any("triggerPrice" not in row or row.get("stopLossPrice") is None for row in rows)


async def test_coinw_strings_style(http: aiohttp.ClientSession) -> None:
    sim = new_sim(number_style="strings")
    async with SimulatorServer(sim) as server:
        reply = await coinw_get(http, server.base_url, [("positionType", "execute")])
    rows = reply.json["data"]
    assert rows
    ids = set(coinw_account(sim).orders)
    for row in rows:
        for name in COINW_NUMERIC:
            assert isinstance(row[name], str), name
        assert int(row["id"]) in ids
    # execute also returns plan orders (documented quirk)
    assert {row["posType"] for row in rows} <= {"execute", "plan"}
    assert "plan" in {row["posType"] for row in rows}


async def test_coinw_source_ids_and_instrument(
    sim: Simulator, server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    orders = [o for o in coinw_account(sim).orders.values() if o.pos_type == "stopProfitLoss"]
    picked = [o.id for o in orders[:3]]
    ids = ",".join(map(str, picked))
    reply = await coinw_get(
        http, server.base_url, [("positionType", "stopProfitLoss"), ("sourceIds", ids)]
    )
    assert sorted(row["id"] for row in reply.json["data"]) == sorted(picked)
    pepe = [o.id for o in coinw_account(sim).orders.values() if o.instrument == "1000PEPE"]
    pepe_plan = {
        o.id
        for o in coinw_account(sim).orders.values()
        if o.instrument == "1000PEPE" and o.pos_type in ("plan", "planTrigger")
    }
    assert pepe
    for name in ("1000pepe", "1000PEPE"):
        reply = await coinw_get(
            http, server.base_url, [("instrument", name), ("positionType", "plan")]
        )
        assert {row["id"] for row in reply.json["data"]} == pepe_plan
    reply = await coinw_get(
        http, server.base_url, [("instrument", "NOPE"), ("positionType", "plan")]
    )
    assert reply.json == {"code": 0, "data": [], "msg": ""}
    reply = await coinw_get(
        http, server.base_url, [("instrument", "B-T"), ("positionType", "plan")]
    )
    assert reply.json == {"code": 9001, "data": None, "msg": "contract not found"}


@pytest.mark.parametrize(
    ("params", "status", "code", "msg"),
    [
        ([("instrument", "BTC")], 200, 402, "parameter missing"),
        ([("positionType", "market")], 200, 9016, "bad parameter"),
        (
            [("positionType", "plan"), ("sourceIds", ",".join(["1"] * 21))],
            200,
            9016,
            "bad parameter",
        ),
        (
            [("positionType", "plan"), ("sourceIds", "12,abc")],
            400,
            904,
            "parameter verification failed",
        ),
    ],
)
async def test_coinw_parameter_errors(
    sim: Simulator,
    server: SimulatorServer,
    http: aiohttp.ClientSession,
    params: list[tuple[str, str]],
    status: int,
    code: int,
    msg: str,
) -> None:
    reply = await coinw_get(http, server.base_url, params)
    assert reply.status == status
    assert reply.json == {"code": code, "data": None, "msg": msg}
    assert sim.arrivals[-1].code == str(code)


async def test_coinw_twenty_ids_are_fine(
    sim: Simulator, server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    ids = ",".join(str(i) for i in list(coinw_account(sim).orders)[:20])
    reply = await coinw_get(http, server.base_url, [("positionType", "plan"), ("sourceIds", ids)])
    assert reply.json["code"] == 0


async def test_coinw_auth_errors(server: SimulatorServer, http: aiohttp.ClientSession) -> None:
    unknown = await coinw_get(http, server.base_url, key="nobody")
    assert (unknown.status, unknown.json) == (
        200,
        {"code": 6000, "data": None, "msg": "authentication error"},
    )
    bad = await coinw_get(http, server.base_url, bad_sign=True)
    assert bad.json == {"code": 6001, "data": None, "msg": "invalid signature"}
    missing = await fetch(http, server.base_url + ORDER + "?positionType=plan")
    assert missing.json["code"] == 6000


async def test_coinw_permission_uses_the_message_shape(http: aiohttp.ClientSession) -> None:
    sim = new_sim(permission=False)
    async with SimulatorServer(sim) as server:
        reply = await coinw_get(http, server.base_url)
    assert reply.status == 200
    assert reply.json == {
        "code": 6003,
        "message": "require more permission",
        "retry": False,
        "success": False,
    }


async def test_coinw_burst_gets_29001(http: aiohttp.ClientSession) -> None:
    sim = new_sim(SimulatorConfig())
    async with SimulatorServer(sim) as server:
        replies = await asyncio.gather(*(coinw_get(http, server.base_url) for _ in range(13)))
    refused = [r for r in replies if r.json["code"] == 29001]
    assert len(refused) == 3
    assert refused[0].status == 200
    assert refused[0].json == {"code": 29001, "data": None, "msg": "API access frequently"}
    user = str(coinw_account(sim).user_id)
    assert sim.max_in_window(ORDER, account=user) == 13
    assert sim.count(ORDER, account=int(user)) == 13


async def test_coinw_global_limit(http: aiohttp.ClientSession) -> None:
    sim = new_sim(SimulatorConfig(coinw_global_limit=4))
    async with SimulatorServer(sim) as server:
        replies = await asyncio.gather(*(coinw_get(http, server.base_url) for _ in range(6)))
    assert sum(r.json["code"] == 29001 for r in replies) == 2


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "text"),
    [
        ("http_500", 500, "Internal Server Error"),
        ("http_502", 502, "Bad Gateway"),
        ("http_503", 503, "Service Unavailable"),
    ],
)
async def test_http_error_faults(
    sim: Simulator,
    server: SimulatorServer,
    http: aiohttp.ClientSession,
    fault: Any,
    status: int,
    text: str,
) -> None:
    sim.inject(TRACK, fault, count=2)
    sim.inject(ORDER, fault)
    assert [(await bitget_get(http, server.base_url)).status for _ in range(3)] == [
        status,
        status,
        200,
    ]
    failed = await coinw_get(http, server.base_url)
    assert (failed.status, failed.text) == (status, text)
    assert (await coinw_get(http, server.base_url)).json["code"] == 0
    assert [a.status for a in sim.arrivals] == [status, status, 200, status, 200]
    assert sim.arrivals[0].code == ""


async def test_rate_limited_fault(
    sim: Simulator, server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    sim.inject(TRACK, "rate_limited", retry_after=1.5)
    sim.inject(ORDER, "rate_limited", retry_after=2)
    bitget = await bitget_get(http, server.base_url)
    assert bitget.status == 429
    assert bitget.json["code"] == "429"
    assert bitget.headers["Retry-After"] == "1.5"
    coinw = await coinw_get(http, server.base_url)
    assert coinw.status == 200
    assert coinw.json == {"code": 29001, "data": None, "msg": "API access frequently"}
    assert coinw.headers["Retry-After"] == "2"
    sim.inject(TRACK, "rate_limited")
    assert "Retry-After" not in (await bitget_get(http, server.base_url)).headers


async def test_code_fault(
    sim: Simulator, server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    sim.inject(TRACK, "code", code="45001", msg="system maintenance", http_status=400)
    sim.inject(ORDER, "code", code=6003, msg="require more permission")
    sim.inject(ORDER, "code", code=500, msg="wrong url")
    bitget = await bitget_get(http, server.base_url)
    assert bitget.status == 400
    assert (bitget.json["code"], bitget.json["msg"]) == ("45001", "system maintenance")
    assert sim.arrivals[-1].code == "45001"
    coinw = await coinw_get(http, server.base_url)
    assert coinw.json == {
        "code": 6003,
        "message": "require more permission",
        "retry": False,
        "success": False,
    }
    other = await coinw_get(http, server.base_url)
    assert other.json == {"code": 500, "data": None, "msg": "wrong url"}


async def test_malformed_and_html_faults(
    sim: Simulator, server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    sim.inject(TRACK, "malformed")
    sim.inject(TRACK, "html")
    malformed = await bitget_get(http, server.base_url)
    assert malformed.status == 200
    assert malformed.headers["Content-Type"].startswith("application/json")
    assert malformed.text == '{"code":"00000","data":'
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed.text)
    html = await bitget_get(http, server.base_url)
    assert html.status == 502
    assert html.headers["Content-Type"].startswith("text/html")
    assert html.text.startswith("<html>")


async def test_delay_fault_and_latency(
    sim: Simulator, server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    sim.inject(ORDER, "delay", seconds=0.2)
    started = time.monotonic()
    reply = await coinw_get(http, server.base_url)
    assert time.monotonic() - started >= 0.2
    assert reply.json["code"] == 0
    slow = Simulator(SimulatorConfig(latency=0.15))
    async with SimulatorServer(slow) as slow_server:
        started = time.monotonic()
        assert (await fetch(http, slow_server.base_url + TIME)).status == 200
        assert time.monotonic() - started >= 0.15


async def test_disconnect_fault(sim: Simulator, server: SimulatorServer) -> None:
    # aiohttp's ClientSession silently retries an idempotent request once after the server
    # drops the connection, so it takes two disconnects for the error to surface.
    sim.inject(TRACK, "disconnect", count=2)
    async with aiohttp.ClientSession() as fresh:
        with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
            await bitget_get(fresh, server.base_url)
        assert (await bitget_get(fresh, server.base_url)).status == 200
    sim.inject(TRACK, "disconnect")
    async with aiohttp.ClientSession() as fresh:
        assert (await bitget_get(fresh, server.base_url)).status == 200
    assert [a.status for a in sim.arrivals] == [0, 0, 200, 0, 200]
    assert all(a.code == "" for a in sim.arrivals if a.status == 0)


async def test_repeat_cursor_fault(
    sim: Simulator, server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    base = [("limit", "10"), ("productType", "USDT-FUTURES")]
    first = (await bitget_get(http, server.base_url, base)).json["data"]["endId"]
    sim.inject(TRACK, "repeat_cursor")
    repeated = await bitget_get(http, server.base_url, [("idLessThan", first), *base])
    data = repeated.json["data"]
    assert data["endId"] == first
    assert len(data["trackingList"]) == 10
    normal = await bitget_get(http, server.base_url, [("idLessThan", first), *base])
    assert normal.json["data"]["endId"] != first


async def test_faults_count_in_the_rate_window(http: aiohttp.ClientSession) -> None:
    sim = new_sim(SimulatorConfig())
    sim.inject(TRACK, "http_500", count=5)
    async with SimulatorServer(sim) as server:
        statuses = [(await bitget_get(http, server.base_url)).status for _ in range(6)]
    assert statuses == [500] * 5 + [429]
    assert sim.arrivals[0].account == bitget_account(sim).uid


async def test_clear_faults_and_inject_validation(
    sim: Simulator, server: SimulatorServer, http: aiohttp.ClientSession
) -> None:
    sim.inject(TRACK, "http_500", count=3)
    sim.clear_faults()
    assert (await bitget_get(http, server.base_url)).status == 200
    with pytest.raises(ValueError, match="unknown fault"):
        sim.inject(TRACK, "explode")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sim.inject(TRACK, "http_500", seconds=1)
    with pytest.raises(TypeError):
        sim.inject(TRACK, "code")
    with pytest.raises(ValueError, match="Bitget"):
        sim.inject(ORDER, "repeat_cursor")


# -- the rest ---------------------------------------------------------------------------------


def test_max_in_window_is_half_open() -> None:
    assert max_in_window([], 1.0) == 0
    assert max_in_window([0.0, 1.0, 2.0], 1.0) == 1
    assert max_in_window([0.0, 0.5, 0.999, 1.0, 1.4], 1.0) == 4
    assert max_in_window([3.0, 0.1, 0.2], 1.0) == 2


def test_generated_data_is_deterministic() -> None:
    def snapshot(seed: int) -> tuple[list[Any], list[Any]]:
        sim = Simulator(SimulatorConfig(seed=seed))
        bitget = sim.add_bitget_account(api_key="a", secret_key="b", passphrase="c", orders=50)
        coinw = sim.add_coinw_account(api_key="d", secret_key="e", orders=20)
        return list(bitget.orders.values()), list(coinw.orders.values())

    assert snapshot(1) == snapshot(1)
    assert snapshot(1) != snapshot(2)


def test_demo_accounts() -> None:
    sim = Simulator.with_demo_accounts()
    bitget = sim.bitget.accounts[DEMO_BITGET.api_key]
    coinw = sim.coinw.accounts[DEMO_COINW.api_key]
    assert (DEMO_BITGET.api_key, DEMO_BITGET.secret_key, DEMO_BITGET.passphrase) == (
        "demo-bitget-key",
        "demo-bitget-secret",
        "demo-passphrase",
    )
    assert (DEMO_COINW.api_key, DEMO_COINW.secret_key) == ("demo-coinw-key", "demo-coinw-secret")
    assert len(bitget.orders) == 250
    assert len(coinw.orders) == 60
    assert all(int(float(i)) != i for i in coinw.orders)
    with pytest.raises(ValueError, match="already registered"):
        sim.add_coinw_account(api_key=DEMO_COINW.api_key, secret_key="x")


async def test_serve_forever_reports_its_url(http: aiohttp.ClientSession) -> None:
    ready: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.create_task(
        serve_forever(Simulator.with_demo_accounts(), "127.0.0.1", 0, on_ready=ready.put_nowait)
    )
    try:
        url = await asyncio.wait_for(ready.get(), 5)
        assert url.startswith("http://127.0.0.1:")
        assert (await fetch(http, url + TIME)).status == 200
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
