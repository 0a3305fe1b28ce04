"""The simulator over time: mutations, the mutation driver, random faults, penalties, strict
limit accounting, the demo fleet and the command-line options."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import aiohttp
import pytest
import yarl
from multidict import CIMultiDict, MultiDict

from exchange_async.bitget.auth import sign as bitget_sign
from exchange_async.coinw.auth import sign as coinw_sign
from exchange_async_sim import (
    BitgetTrackingOrder,
    CoinWOrder,
    Mutation,
    Simulator,
    SimulatorConfig,
    SimulatorServer,
    add_simulator_arguments,
    config_from_arguments,
    render_tracking_order,
)
from exchange_async_sim.wire import Incoming

TRACK = "/api/v2/copy/mix-trader/order-current-track"
TIME = "/api/v2/public/time"
ORDER = "/v1/perpum/order"
PRODUCTS = ("USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES")
POSITION_TYPES = ("execute", "plan", "moveStop", "stopProfitLoss")
RELAXED = SimulatorConfig(
    bitget_rate_limit=10_000, coinw_rate_limit=10_000, coinw_global_limit=10_000
)


# -- plumbing ---------------------------------------------------------------------------------


class Reply:
    """An HTTP answer read in full."""

    def __init__(self, status: int, text: str) -> None:
        self.status = status
        self.text = text

    @property
    def json(self) -> Any:
        return json.loads(self.text)


async def fetch(
    http: aiohttp.ClientSession, url: str, headers: Mapping[str, str] | None = None
) -> Reply:
    async with http.get(yarl.URL(url, encoded=True), headers=dict(headers or {})) as response:
        return Reply(response.status, await response.text())


def query_string(params: Sequence[tuple[str, str]]) -> str:
    return "&".join(f"{key}={value}" for key, value in params)


async def bitget_get(
    http: aiohttp.ClientSession,
    base: str,
    params: Sequence[tuple[str, str]] = (("productType", "USDT-FUTURES"),),
    *,
    key: str = "bk",
    secret: str = "bs",
    passphrase: str = "bp",
) -> Reply:
    query = query_string(params)
    target = TRACK + (f"?{query}" if query else "")
    ts = int(time.time() * 1000)
    headers = {
        "ACCESS-KEY": key,
        "ACCESS-SIGN": bitget_sign(secret, ts, "GET", target),
        "ACCESS-TIMESTAMP": str(ts),
        "ACCESS-PASSPHRASE": passphrase,
    }
    return await fetch(http, base + target, headers)


async def coinw_get(
    http: aiohttp.ClientSession,
    base: str,
    params: Sequence[tuple[str, str]] = (("positionType", "plan"),),
    *,
    key: str = "ck",
    secret: str = "cs",
) -> Reply:
    query = query_string(params)
    target = ORDER + (f"?{query}" if query else "")
    ts = int(time.time() * 1000)
    headers = {"api_key": key, "timestamp": str(ts), "sign": coinw_sign(secret, ts, "GET", target)}
    return await fetch(http, base + target, headers)


def new_sim(config: SimulatorConfig = RELAXED, bitget: int = 60, coinw: int = 30) -> Simulator:
    sim = Simulator(config)
    sim.add_bitget_account(api_key="bk", secret_key="bs", passphrase="bp", orders=bitget)
    sim.add_coinw_account(api_key="ck", secret_key="cs", orders=coinw)
    return sim


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def bitget_snapshot(
    http: aiohttp.ClientSession, base: str, **credentials: str
) -> dict[str, dict[str, str]]:
    """Every current tracking order over HTTP, all product types, paged by idLessThan."""
    rows: dict[str, dict[str, str]] = {}
    for product in PRODUCTS:
        cursor: str | None = None
        while True:
            params = [("limit", "50"), ("productType", product)]
            if cursor is not None:
                params.insert(0, ("idLessThan", cursor))
            body = (await bitget_get(http, base, params, **credentials)).json
            assert body["code"] == "00000", body
            page = body["data"]["trackingList"]
            if not page:
                break
            for row in page:
                assert row["trackingNo"] not in rows
                rows[row["trackingNo"]] = row
            cursor = body["data"]["endId"]
    return rows


async def coinw_snapshot(
    http: aiohttp.ClientSession, base: str, **credentials: str
) -> dict[str, dict[str, Any]]:
    """Every unfilled order over HTTP, the union over all position types."""
    rows: dict[str, dict[str, Any]] = {}
    for position_type in POSITION_TYPES:
        body = (await coinw_get(http, base, [("positionType", position_type)], **credentials)).json
        assert body["code"] == 0, body
        for row in body["data"]:
            rows[str(row["id"])] = row
    return rows


def bitget_orders(sim: Simulator, account: str) -> dict[str, BitgetTrackingOrder]:
    found = sim.open_orders(account)
    assert all(isinstance(order, BitgetTrackingOrder) for order in found.values())
    return {key: order for key, order in found.items() if isinstance(order, BitgetTrackingOrder)}


def coinw_orders(sim: Simulator, account: str) -> dict[str, CoinWOrder]:
    found = sim.open_orders(account)
    assert all(isinstance(order, CoinWOrder) for order in found.values())
    return {key: order for key, order in found.items() if isinstance(order, CoinWOrder)}


def without_time(mutations: Sequence[Mutation]) -> list[tuple[Any, ...]]:
    return [dataclasses.astuple(m)[1:] for m in mutations]


# -- mutations --------------------------------------------------------------------------------


def test_mutate_is_deterministic_for_a_seed() -> None:
    def run(seed: int) -> tuple[list[tuple[Any, ...]], list[Any]]:
        sim = new_sim(dataclasses.replace(RELAXED, seed=seed))
        sim.add_coinw_account(api_key="ck2", secret_key="cs2", orders=10)
        mutations = sim.mutate(120)
        mutations += sim.mutate(20, account="bk")
        mutations += sim.mutate_round()
        assert sim.mutations == mutations
        state = [
            sorted(
                (key, order.seq if isinstance(order, BitgetTrackingOrder) else order.order_status)
                for key, order in sim.open_orders(account).items()
            )
            for account in ("bk", "ck", "ck2")
        ]
        return without_time(mutations), state

    first = run(3)
    assert first == run(3)
    assert first != run(4)
    kinds = {(m[0], m[2]) for m in first[0]}
    assert kinds == {(e, k) for e in ("bitget", "coinw") for k in ("opened", "changed", "closed")}


def test_mutation_records_describe_the_change() -> None:
    sim = new_sim()
    uid = sim.bitget.accounts["bk"].uid
    user = str(sim.coinw.accounts["ck"].user_id)
    for _ in range(150):
        before_b, before_c = bitget_orders(sim, uid), coinw_orders(sim, user)
        [mutation] = sim.mutate()
        after_b, after_c = bitget_orders(sim, uid), coinw_orders(sim, user)
        before: Mapping[str, Any] = before_b if mutation.exchange == "bitget" else before_c
        after: Mapping[str, Any] = after_b if mutation.exchange == "bitget" else after_c
        assert mutation.account == (uid if mutation.exchange == "bitget" else user)
        key = mutation.key
        if mutation.kind == "opened":
            assert key not in before
            assert set(after) == set(before) | {key}
            assert mutation.fields == ()
        elif mutation.kind == "closed":
            assert key in before
            assert set(after) == set(before) - {key}
        else:
            assert set(after) == set(before)
            assert mutation.fields
            old, new = before[key], after[key]
            changed = {
                f.name
                for f in dataclasses.fields(old)
                if getattr(old, f.name) != getattr(new, f.name)
            }
            assert set(mutation.fields) == changed - {"omitted"}
            if mutation.exchange == "bitget":
                assert set(mutation.fields) <= {
                    "preset_stop_surplus_price",
                    "preset_stop_loss_price",
                    "follow_count",
                }
                assert old.sort_key == new.sort_key
            else:
                assert "updated_date" in mutation.fields
                assert new.updated_date > old.updated_date
        if mutation.exchange == "coinw":
            order = (after_c | before_c)[key]
            assert mutation.pos_type == order.pos_type
            assert mutation.product_type is None
        else:
            assert mutation.pos_type is None
            assert mutation.product_type == (after_b | before_b)[key].product_type
    for order in coinw_orders(sim, user).values():
        assert order.is_open
        assert order.current_piece >= 1


def test_order_counts_stay_near_their_start() -> None:
    sim = new_sim(bitget=80, coinw=25)
    for _ in range(400):
        sim.mutate(account="bk")
        sim.mutate(account="ck")
    assert 60 <= len(sim.open_orders("bk")) <= 100
    assert 15 <= len(sim.open_orders("ck")) <= 35
    closed = [o for o in sim.coinw.accounts["ck"].orders.values() if not o.is_open]
    assert closed
    assert {o.order_status for o in closed} <= {"Finish", "Cancel"}


def test_mutate_arguments() -> None:
    sim = new_sim()
    uid = sim.bitget.accounts["bk"].uid
    user = sim.coinw.accounts["ck"].user_id
    assert sim.mutate(0) == []
    assert {m.account for m in sim.mutate(5, account=uid)} == {uid}
    assert {m.exchange for m in sim.mutate(5, account="ck")} == {"coinw"}
    assert {m.account for m in sim.mutate(5, account=user)} == {str(user)}
    with pytest.raises(ValueError, match="no account"):
        sim.mutate(account="nobody")
    with pytest.raises(ValueError, match="negative"):
        sim.mutate(-1)
    with pytest.raises(ValueError, match="no accounts"):
        Simulator().mutate()
    bounded = new_sim(dataclasses.replace(RELAXED, mutation_log_limit=8))
    made = bounded.mutate(30)
    assert 1 <= len(bounded.mutations) <= 8
    assert bounded.mutations[-1] == made[-1]


async def test_mutations_are_visible_over_http(http: aiohttp.ClientSession) -> None:
    sim = new_sim(bitget=40, coinw=20)
    uid = sim.bitget.accounts["bk"].uid
    user = str(sim.coinw.accounts["ck"].user_id)
    async with SimulatorServer(sim) as server:
        base = server.base_url
        seen: set[tuple[str, str]] = set()
        for _ in range(6):
            mutations = sim.mutate(8)
            seen |= {(m.exchange, m.kind) for m in mutations}
            bitget = await bitget_snapshot(http, base)
            coinw = await coinw_snapshot(http, base)
            truth_b = bitget_orders(sim, uid)
            truth_c = coinw_orders(sim, user)
            assert set(bitget) == set(truth_b)
            assert all(bitget[k] == render_tracking_order(o) for k, o in truth_b.items())
            assert set(coinw) == set(truth_c)
            for key, row in coinw.items():
                order = truth_c[key]
                assert row["orderStatus"] == order.order_status in ("unFinish", "part")
                assert row["updatedDate"] == order.updated_date
                assert str(row["currentPiece"]) == str(order.current_piece)
            for m in mutations:
                if m.kind == "closed" and m.exchange == "coinw":
                    body = (
                        await coinw_get(
                            http, base, [("positionType", "plan"), ("sourceIds", m.key)]
                        )
                    ).json
                    assert body == {"code": 0, "data": [], "msg": ""}
        assert len(seen) == 6
        opened = next(m for m in sim.mutations if m.kind == "opened" and m.exchange == "bitget")
        if opened.key in bitget:
            assert int(bitget[opened.key]["openTime"]) >= int(time.time() * 1000) - 60_000


async def test_cursors_stay_valid_while_orders_open_and_close(
    http: aiohttp.ClientSession,
) -> None:
    sim = new_sim(bitget=300, coinw=5)
    account = sim.bitget.accounts["bk"]
    async with SimulatorServer(sim) as server:
        for round_ in range(3):
            start = {k for k, o in account.orders.items() if o.product_type == "USDT-FUTURES"}
            removed: set[str] = set()
            added: set[str] = set()
            seen: list[str] = []
            cursor: str | None = None
            pages = 0
            while True:
                params = [("limit", "9"), ("productType", "USDT-FUTURES")]
                if cursor is not None:
                    params.insert(0, ("idLessThan", cursor))
                body = (await bitget_get(http, server.base_url, params)).json
                assert body["code"] == "00000", body
                rows = body["data"]["trackingList"]
                if not rows:
                    break
                seen += [row["trackingNo"] for row in rows]
                cursor = body["data"]["endId"]
                pages += 1
                for mutation in sim.mutate(4, account="bk"):
                    if mutation.kind == "closed":
                        removed.add(mutation.key)
                    elif mutation.kind == "opened":
                        added.add(mutation.key)
                if pages % 5 == round_ + 1:
                    # the row the cursor stands for disappears: the cursor must still work
                    removed.add(rows[-1]["trackingNo"])
                    account.orders.pop(rows[-1]["trackingNo"], None)
            assert len(seen) == len(set(seen))
            survivors = start - removed
            assert survivors <= set(seen)
            assert set(seen) <= start
            assert not set(seen) & added
            assert removed and added


# -- the driver -------------------------------------------------------------------------------


def driver_tasks() -> list[asyncio.Task[Any]]:
    return [
        task
        for task in asyncio.all_tasks()
        if task.get_name() == "exchange-async-simulator-mutations"
    ]


async def test_driver_runs_with_the_server_and_leaves_no_task() -> None:
    sim, fleet = Simulator.with_demo_fleet(6, dataclasses.replace(RELAXED, mutation_interval=0.02))
    async with SimulatorServer(sim):
        assert sim.mutations_running
        assert len(driver_tasks()) == 1
        await asyncio.sleep(0.15)
        assert len(sim.mutations) >= 6 * 3
    assert not sim.mutations_running
    assert driver_tasks() == []
    count = len(sim.mutations)
    await asyncio.sleep(0.05)
    assert len(sim.mutations) == count
    assert {m.account for m in sim.mutations} == {a.uid for a in fleet}


async def test_driver_manual_use() -> None:
    sim = new_sim()
    with pytest.raises(ValueError, match="interval"):
        sim.start_mutations()
    await sim.stop_mutations()  # not running: nothing to do
    sim.start_mutations(0.01)
    with pytest.raises(RuntimeError, match="already running"):
        sim.start_mutations(0.01)
    async with SimulatorServer(sim):  # the server leaves a driver it did not start alone
        await asyncio.sleep(0.06)
    assert sim.mutations_running
    await sim.stop_mutations()
    assert not sim.mutations_running
    assert driver_tasks() == []
    assert len(sim.mutations) >= 2 * 3


async def test_driver_share_and_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    sim, _ = Simulator.with_demo_fleet(40, dataclasses.replace(RELAXED, mutation_share=0.5))
    assert 8 <= len(sim.mutate_round()) <= 32
    sim.config.mutation_share = 0.0
    assert sim.mutate_round() == []

    def broken() -> list[Mutation]:
        raise RuntimeError("boom")

    monkeypatch.setattr(sim.driver, "mutate_round", broken)
    sim.start_mutations(0.001)
    await asyncio.sleep(0.02)
    assert not sim.mutations_running
    with pytest.raises(RuntimeError, match="boom"):
        await sim.stop_mutations()


# -- random faults ----------------------------------------------------------------------------


async def test_random_faults_are_reproducible(http: aiohttp.ClientSession) -> None:
    config = dataclasses.replace(
        RELAXED, seed=11, fault_rate=0.3, fault_kinds=("http_500", "http_503", "malformed")
    )

    async def run() -> tuple[list[tuple[int, str]], dict[str, int]]:
        sim = new_sim(dataclasses.replace(config))
        async with SimulatorServer(sim) as server:
            replies = [await fetch(http, server.base_url + TIME) for _ in range(20)]
            replies += [await bitget_get(http, server.base_url) for _ in range(20)]
            replies += [await coinw_get(http, server.base_url) for _ in range(20)]
        assert [a.status for a in sim.arrivals] == [r.status for r in replies]
        return [(r.status, r.text[:23]) for r in replies], sim.random_fault_counts()

    first, counts = await run()
    assert (first, counts) == await run()
    faulted = sum(counts.values())
    assert 8 <= faulted <= 32
    assert set(counts) <= {"http_500", "http_503", "malformed"}
    assert sum(status in (500, 503) for status, _ in first) == counts.get(
        "http_500", 0
    ) + counts.get("http_503", 0)


async def test_injected_faults_come_first_and_latency_kind(http: aiohttp.ClientSession) -> None:
    sim = new_sim(
        dataclasses.replace(RELAXED, fault_rate=1.0, fault_kinds=("http_503",), fault_latency=0.1)
    )
    sim.inject(TRACK, "http_500")
    async with SimulatorServer(sim) as server:
        assert (await bitget_get(http, server.base_url)).status == 500
        assert (await bitget_get(http, server.base_url)).status == 503
        sim.config.fault_kinds = ("latency",)
        started = time.monotonic()
        reply = await bitget_get(http, server.base_url)
        assert time.monotonic() - started >= 0.1
        assert reply.json["code"] == "00000"
        sim.config.fault_rate = 0.0
        assert (await coinw_get(http, server.base_url)).json["code"] == 0
    assert sim.random_fault_counts() == {"http_503": 1, "latency": 1}


def test_fault_config_validation() -> None:
    with pytest.raises(ValueError, match="fault kinds"):
        SimulatorConfig(fault_kinds=("explode",))
    with pytest.raises(ValueError, match="fault_rate"):
        SimulatorConfig(fault_rate=1.5)
    with pytest.raises(ValueError, match="at least one"):
        SimulatorConfig(fault_rate=0.5, fault_kinds=())
    with pytest.raises(ValueError, match="mutation_interval"):
        SimulatorConfig(mutation_interval=0)
    assert SimulatorConfig(fault_kinds=["http_500"]).fault_kinds == ("http_500",)  # type: ignore[arg-type]


# -- penalties --------------------------------------------------------------------------------


async def test_coinw_ban_ladder(http: aiohttp.ClientSession) -> None:
    config = SimulatorConfig(
        coinw_rate_limit=2,
        coinw_ban_threshold=3,
        coinw_ban_window=5.0,
        coinw_warning_seconds=0.5,
        coinw_ban_seconds=0.2,
    )
    sim = new_sim(config)
    user = sim.coinw.accounts["ck"].user_id
    async with SimulatorServer(sim) as server:
        base = server.base_url
        assert sim.coinw_penalty(user) == "none"
        burst = await asyncio.gather(*(coinw_get(http, base) for _ in range(5)))
        assert sorted(r.json["code"] for r in burst) == [0, 0, 29001, 29001, 29001]
        assert sim.coinw_penalty(user) == "warning"
        assert sim.coinw_penalty("ck") == "warning"
        sim.reset_limits()
        # limits halved: 1 per second instead of 2
        assert (await coinw_get(http, base)).json["code"] == 0
        assert (await coinw_get(http, base)).json == {
            "code": 29001,
            "data": None,
            "msg": "API access frequently",
        }
        assert sim.coinw_penalty(user) == "warning"
        # the threshold again during the warning phase: banned
        more = [(await coinw_get(http, base)).json for _ in range(3)]
        assert [m["msg"] for m in more] == [
            "API access frequently",
            "API access frequently",
            "API access frequently, banned",
        ]
        assert sim.coinw_penalty(user) == "banned"
        sim.reset_limits()
        assert (await coinw_get(http, base)).json["msg"] == "API access frequently, banned"
        await asyncio.sleep(0.25)
        assert sim.coinw_penalty(user) == "warning"
        sim.reset_limits()
        assert (await coinw_get(http, base)).json["code"] == 0
        await asyncio.sleep(0.6)
        assert sim.coinw_penalty(user) == "none"
        sim.reset_limits()
        replies = await asyncio.gather(*(coinw_get(http, base) for _ in range(2)))
        assert [r.json["code"] for r in replies] == [0, 0]
    assert sim.violations() == {"bitget": 0, "coinw": 8}


async def test_coinw_blacklist(http: aiohttp.ClientSession) -> None:
    config = SimulatorConfig(
        coinw_rate_limit=1,
        coinw_ban_threshold=1,
        coinw_warning_seconds=5.0,
        coinw_ban_seconds=0.05,
        coinw_blacklist_bans=2,
        coinw_blacklist_seconds=0.3,
    )
    sim = new_sim(config)
    user = sim.coinw.accounts["ck"].user_id
    async with SimulatorServer(sim) as server:
        base = server.base_url
        await coinw_get(http, base)
        assert (await coinw_get(http, base)).json["code"] == 29001
        assert sim.coinw_penalty(user) == "warning"
        await coinw_get(http, base)
        assert sim.coinw_penalty(user) == "banned"
        await asyncio.sleep(0.1)
        await coinw_get(http, base)
        assert sim.coinw_penalty(user) == "blacklisted"
        reply = (await coinw_get(http, base)).json
        assert reply == {"code": 29001, "data": None, "msg": "API access frequently, blacklisted"}
        await asyncio.sleep(0.35)
        assert sim.coinw_penalty(user) == "warning"
        sim.reset_penalties()
        assert sim.coinw_penalty(user) == "none"


async def test_bitget_ip_penalty(http: aiohttp.ClientSession) -> None:
    config = dataclasses.replace(
        RELAXED, bitget_ip_limit_per_minute=3, bitget_ip_penalty_seconds=0.3
    )
    sim = new_sim(config)
    async with SimulatorServer(sim) as server:
        base = server.base_url
        statuses = [(await fetch(http, base + TIME)).status for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert sim.bitget_penalized()
        assert sim.bitget_penalized("127.0.0.1")
        sim.reset_limits()  # the window forgets; the penalty does not
        private = await bitget_get(http, base)
        assert private.status == 429
        assert (private.json["code"], private.json["msg"]) == ("429", "Too Many Requests")
        assert (await fetch(http, base + TIME)).status == 429
        assert (await coinw_get(http, base)).json["code"] == 0  # CoinW is not affected
        await asyncio.sleep(0.35)
        sim.reset_limits()
        assert not sim.bitget_penalized()
        assert (await bitget_get(http, base)).status == 200
    assert sim.violations() == {"bitget": 3, "coinw": 0}
    sim.reset_arrivals()
    assert sim.violations() == {"bitget": 0, "coinw": 0}


# -- strict accounting ------------------------------------------------------------------------


def arrival(key: str, path: str, t: float, *, coinw: bool = False) -> Incoming:
    headers: CIMultiDict[str] = CIMultiDict({"api_key" if coinw else "ACCESS-KEY": key})
    return Incoming(
        method="GET",
        path=path,
        target=path,
        raw_query="",
        query=MultiDict(),
        headers=headers,
        remote="127.0.0.1",
        time=t,
    )


def brute_force(sim: Simulator, limits: Mapping[str, int]) -> int:
    """Over-limit arrivals recomputed from the log, the slow and obvious way."""
    over = 0
    records = [a for a in sim.arrivals if a.account is not None and a.path in (TRACK, ORDER)]
    for i, a in enumerate(records):
        same = [
            b
            for b in records[: i + 1]
            if (b.path, b.account) == (a.path, a.account) and a.time - 1.0 < b.time <= a.time
        ]
        over += len(same) > limits[a.path]
    return over


async def test_limit_violations_on_a_burst_and_on_spaced_requests() -> None:
    sim = new_sim(SimulatorConfig(enforce_limits=False))
    sim.add_bitget_account(api_key="bk2", secret_key="s", passphrase="p", orders=3)
    for i in range(8):  # 8 in 70 ms: 3 over the limit of 5
        await sim.respond(arrival("bk", TRACK, 100.0 + i * 0.01))
    for i in range(5):  # another uid: its own window
        await sim.respond(arrival("bk2", TRACK, 100.0 + i * 0.01))
    for i in range(12):  # CoinW: 12 in a burst, limit 10
        await sim.respond(arrival("ck", ORDER, 100.0 + i * 0.01, coinw=True))
    await sim.respond(arrival("ck", "/v1/perpum/other", 100.5, coinw=True))  # no limit
    await sim.respond(arrival("bk", TIME, 100.5))  # public: no account
    assert sim.limit_violations("bitget") == 3
    assert sim.limit_violations("coinw") == 2
    assert sim.limit_violations() == 5
    assert brute_force(sim, {TRACK: 5, ORDER: 10}) == 5
    sim.reset_arrivals()
    assert sim.limit_violations() == 0
    for i in range(40):  # 4 per second, then exactly 5 per second
        await sim.respond(arrival("bk", TRACK, 200.0 + i * 0.25))
    for i in range(40):
        await sim.respond(arrival("bk", TRACK, 300.0 + i * 0.2))
    assert sim.max_in_window(TRACK, account="bk") == 5
    assert sim.limit_violations() == 0
    await sim.respond(arrival("bk", TRACK, 300.0 + 39 * 0.2 + 0.01))
    assert sim.limit_violations() == 1
    assert sim.violations() == {"bitget": 0, "coinw": 0}


async def test_bounded_arrival_log_keeps_the_newest() -> None:
    sim = new_sim(SimulatorConfig(enforce_limits=False, arrival_log_limit=8))
    for i in range(30):
        await sim.respond(arrival("bk", TRACK, 50.0 + i * 0.01))
    assert 6 <= len(sim.arrivals) <= 8
    assert sim.arrivals[-1].time == 50.0 + 29 * 0.01
    assert sim.arrivals[-1].status == 400  # unsigned: still finished in place
    assert sim.log.dropped == 30 - len(sim.arrivals)
    assert sim.limit_violations() == 25


async def test_real_client_burst_counts_as_violations(http: aiohttp.ClientSession) -> None:
    sim = new_sim(SimulatorConfig(enforce_limits=False))
    async with SimulatorServer(sim) as server:
        await asyncio.gather(*(bitget_get(http, server.base_url) for _ in range(8)))
        for _ in range(3):
            await coinw_get(http, server.base_url)
    assert sim.limit_violations() == 3
    assert sim.violations() == {"bitget": 0, "coinw": 0}


# -- the fleet --------------------------------------------------------------------------------


async def test_demo_fleet(http: aiohttp.ClientSession) -> None:
    sim, fleet = Simulator.with_demo_fleet(200)
    assert len(fleet) == 200
    bitget = [a for a in fleet if a.exchange == "bitget"]
    coinw = [a for a in fleet if a.exchange == "coinw"]
    assert len(bitget) == len(coinw) == 100
    assert (fleet[0].name, fleet[0].api_key) == ("bitget-001", "demo-bitget-001")
    assert (fleet[1].name, fleet[1].api_key, fleet[1].passphrase) == (
        "coinw-001",
        "demo-coinw-001",
        None,
    )
    assert fleet[12].name == "bitget-007"
    assert len({a.uid for a in fleet}) == 200
    assert all(20 <= len(sim.open_orders(a.uid)) <= 120 for a in bitget)
    assert all(10 <= len(sim.open_orders(a.uid)) <= 40 for a in coinw)
    again, fleet_again = Simulator.with_demo_fleet(200)
    assert fleet_again == fleet
    assert again.open_orders(fleet[4].uid) == sim.open_orders(fleet[4].uid)
    _, other_fleet = Simulator.with_demo_fleet(4, SimulatorConfig(seed=1))
    assert [a.uid for a in other_fleet] != [a.uid for a in fleet[:4]]
    small, accounts = Simulator.with_demo_fleet(3, dataclasses.replace(RELAXED))
    async with SimulatorServer(small) as server:
        first, second = accounts[0], accounts[1]
        assert first.passphrase is not None
        rows = await bitget_snapshot(
            http,
            server.base_url,
            key=first.api_key,
            secret=first.secret_key,
            passphrase=first.passphrase,
        )
        assert set(rows) == set(small.open_orders(first.uid))
        orders = await coinw_snapshot(
            http, server.base_url, key=second.api_key, secret=second.secret_key
        )
        assert set(orders) == set(small.open_orders(second.api_key))
    assert "secret" not in repr(first)


# -- command-line options ---------------------------------------------------------------------


def test_options() -> None:
    parser = argparse.ArgumentParser()
    add_simulator_arguments(parser)
    assert config_from_arguments(parser.parse_args([])) == SimulatorConfig()
    args = parser.parse_args(
        [
            "--seed",
            "9",
            "--mutation-interval",
            "0.5",
            "--fault-rate",
            "0.1",
            "--fault-kinds",
            "http_500, disconnect",
            "--latency",
            "0.01",
            "--bitget-ip-limit",
            "100",
            "--coinw-ban-threshold",
            "7",
        ]
    )
    config = config_from_arguments(args, arrival_log_limit=100_000, seed=10)
    assert config == SimulatorConfig(
        seed=10,
        mutation_interval=0.5,
        fault_rate=0.1,
        fault_kinds=("http_500", "disconnect"),
        latency=0.01,
        bitget_ip_limit_per_minute=100,
        coinw_ban_threshold=7,
        arrival_log_limit=100_000,
    )
    parser.set_defaults(sim_mutation_interval=1.0)
    assert config_from_arguments(parser.parse_args([])).mutation_interval == 1.0
    assert config_from_arguments(argparse.Namespace()) == SimulatorConfig()
    with pytest.raises(TypeError, match="no field"):
        config_from_arguments(args, nonsense=1)
    for bad in (
        ["--fault-rate", "2"],
        ["--fault-kinds", "http_500,explode"],
        ["--mutation-interval", "0"],
        ["--latency", "-1"],
        ["--bitget-ip-limit", "0"],
        ["--seed", "x"],
    ):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
