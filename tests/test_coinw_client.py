"""CoinWClient against the simulator: what a user calls, and what the server saw.

In memory on a virtual-time loop, like test_bitget_client.py: limits show as exact times."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
from conftest import COINW_KEY, COINW_SECRET, FAST_RETRY, ORDER
from support.sim_transport import simulator_transport

import exchange_async as ea
from exchange_async_sim import Simulator

pytestmark = pytest.mark.virtual_time


def order_times(sim: Simulator) -> list[float]:
    return [a.time for a in sim.arrivals if a.path == ORDER]


def offsets(times: list[float]) -> list[float]:
    """Seconds from the first time to each later one."""
    return [t - times[0] for t in times[1:]]


def ten_per_second(count: int) -> list[float]:
    """The limiter's schedule for 10/s with its 5 % margin: a start every 0.105 s, each one
    allowed 2 ms early (its catch-up)."""
    return [0.105 * k - 0.002 for k in range(1, count)]


def open_orders(sim: Simulator, key: str = COINW_KEY) -> list[Any]:
    account = sim.coinw.accounts[key]
    return [o for o in account.orders.values() if o.order_status in ("unFinish", "part")]


async def test_orders_of_a_position_type(coinw: ea.CoinWClient, sim: Simulator) -> None:
    orders = await coinw.get_order_info("plan")
    truth = {o.id: o for o in open_orders(sim) if o.pos_type in ("plan", "planTrigger")}
    assert orders
    assert {o.id for o in orders} == set(truth)
    for order in orders:
        want = truth[order.id]
        assert order.instrument == want.instrument
        assert order.order_price == want.order_price
        assert isinstance(order.margin, Decimal)
        assert isinstance(order.id, int)
        assert order.id > 2**53


async def test_enum_and_any_case_position_type(coinw: ea.CoinWClient, sim: Simulator) -> None:
    a = await coinw.get_order_info(ea.PositionType.EXECUTE)
    b = await coinw.get_order_info("EXECUTE")
    assert a == b
    assert all("positionType=execute" in arrival.query for arrival in sim.arrivals)


async def test_strings_style_account_decodes_the_same(sim: Simulator) -> None:
    sim.add_coinw_account(api_key="cw-str", secret_key="s-str", orders=30, number_style="strings")
    async with ea.CoinWClient(
        ea.CoinWCredentials("cw-str", "s-str"), transport=simulator_transport(sim)
    ) as c:
        orders = await c.get_order_info("plan")
    truth = {o.id: o for o in open_orders(sim, "cw-str")}
    assert orders
    for order in orders:
        assert order.id in truth
        assert order.quantity == truth[order.id].quantity
        assert order.user_id == truth[order.id].user_id


async def test_instrument_is_case_insensitive(coinw: ea.CoinWClient, sim: Simulator) -> None:
    some = next(o for o in open_orders(sim) if o.pos_type == "plan")
    lower = await coinw.get_order_info("plan", instrument=some.instrument.lower())
    upper = await coinw.get_order_info("plan", instrument=some.instrument)
    assert lower == upper
    assert {o.instrument for o in lower} == {some.instrument}


async def test_45_ids_are_split_into_chunks_of_20_and_merged_in_order(
    coinw: ea.CoinWClient, sim: Simulator
) -> None:
    real = [o.id for o in open_orders(sim)]
    assert len(real) >= 25
    unknown = [33308700000000001 + i for i in range(20)]
    ids: list[int | str] = [*real[:25], *unknown]
    ids.insert(3, str(real[0]))  # a duplicate, as a string
    ids.reverse()
    orders = await coinw.get_order_info("execute", source_ids=ids)
    requests = [a for a in sim.arrivals if a.path == ORDER]
    assert len(requests) == 3  # 45 distinct ids -> 20 + 20 + 5
    for arrival in requests:
        sent = arrival.query.split("sourceIds=")[1].split("&")[0].split(",")
        assert len(sent) <= 20
    wanted_order = [int(i) for i in dict.fromkeys(int(i) for i in ids)]
    got_ids = [o.id for o in orders]
    assert len(got_ids) == len(set(got_ids))
    assert got_ids == [i for i in wanted_order if i in set(got_ids)]
    execute_like = {o.id for o in open_orders(sim) if o.pos_type in ("execute", "plan")}
    assert set(got_ids) == execute_like & set(real[:25])


async def test_empty_ids_return_nothing_without_a_request(
    coinw: ea.CoinWClient, sim: Simulator
) -> None:
    assert await coinw.get_order_info("plan", source_ids=[]) == []
    assert sim.arrivals == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"position_type": "market"}, "position_type"),
        ({"position_type": None}, "position_type"),
        ({"position_type": "plan", "instrument": "BTC/USDT"}, "instrument"),
        ({"position_type": "plan", "instrument": ""}, "instrument"),
        ({"position_type": "plan", "source_ids": "123,456"}, "source_ids"),
        ({"position_type": "plan", "source_ids": [1.5]}, "order id"),
        ({"position_type": "plan", "source_ids": ["12a"]}, "order id"),
        ({"position_type": "plan", "source_ids": [True]}, "order id"),
        ({"position_type": "plan", "source_ids": [-3]}, "out of range"),
        ({"position_type": "plan", "source_ids": [2**64]}, "out of range"),
    ],
)
async def test_bad_arguments_raise_before_any_request(
    coinw: ea.CoinWClient, sim: Simulator, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ea.ValidationError, match=match):
        await coinw.get_order_info(**kwargs)
    assert sim.arrivals == []


async def test_200_concurrent_callers_never_exceed_10_per_second(
    coinw: ea.CoinWClient, sim: Simulator
) -> None:
    done = 0
    forty = asyncio.Event()

    async def caller() -> None:
        nonlocal done
        await coinw.get_order_info("plan", source_ids=[1])
        done += 1
        if done >= 40:
            forty.set()

    tasks = [asyncio.create_task(caller()) for _ in range(200)]
    await forty.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert sim.max_in_window(ORDER) <= 10
    assert sim.count(ORDER, status=200) == sim.count(ORDER)
    assert all(a.code == "0" for a in sim.arrivals)
    assert offsets(order_times(sim)[:40]) == pytest.approx(ten_per_second(40), abs=1e-9)


async def test_chunks_share_the_account_limit(coinw: ea.CoinWClient, sim: Simulator) -> None:
    ids = list(range(10**16, 10**16 + 20 * 25))  # 25 chunks fired at once
    await coinw.get_order_info("plan", source_ids=ids)
    assert sim.count(ORDER) == 25
    assert sim.max_in_window(ORDER) <= 10
    assert offsets(order_times(sim)) == pytest.approx(ten_per_second(25), abs=1e-9)


# -- errors ---------------------------------------------------------------------------------


async def test_bad_signature_and_unknown_key(sim: Simulator) -> None:
    for creds, code in (((COINW_KEY, "wrong"), "6001"), (("nobody", COINW_SECRET), "6000")):
        async with ea.CoinWClient(
            ea.CoinWCredentials(*creds), transport=simulator_transport(sim)
        ) as c:
            with pytest.raises(ea.AuthenticationError) as info:
                await c.get_order_info("plan")
        assert info.value.code == code
        assert "wrong" not in str(info.value)
    assert sim.count(ORDER) == 2  # never retried


async def test_permission_error_in_message_style(sim: Simulator) -> None:
    sim.add_coinw_account(api_key="cw-np", secret_key="s", orders=3, permission=False)
    async with ea.CoinWClient(
        ea.CoinWCredentials("cw-np", "s"), transport=simulator_transport(sim)
    ) as c:
        with pytest.raises(ea.PermissionDeniedError) as info:
            await c.get_order_info("plan")
    assert info.value.code == "6003"
    assert info.value.message == "require more permission"


@pytest.mark.parametrize(
    ("code", "http_status", "cls"),
    [
        (402, 200, ea.BadRequestError),
        (9016, 200, ea.BadRequestError),
        (904, 400, ea.BadRequestError),
        (9001, 200, ea.NotFoundError),
        (123456, 200, ea.UnknownExchangeError),
    ],
)
async def test_error_codes_map_to_classes(
    coinw: ea.CoinWClient, sim: Simulator, code: int, http_status: int, cls: type[Exception]
) -> None:
    sim.inject(ORDER, "code", code=code, msg="nope", http_status=http_status)
    with pytest.raises(cls) as info:
        await coinw.get_order_info("plan")
    assert isinstance(info.value, ea.ExchangeError)
    assert info.value.code == str(code)
    assert info.value.http_status == http_status
    assert sim.count(ORDER) == 1


async def test_message_shaped_error_reply(coinw: ea.CoinWClient, sim: Simulator) -> None:
    sim.inject(ORDER, "code", code=6003, msg="require more permission", shape="message")
    with pytest.raises(ea.PermissionDeniedError, match="require more permission"):
        await coinw.get_order_info("plan")


async def test_29001_backs_off_hard_then_raises(coinw: ea.CoinWClient, sim: Simulator) -> None:
    sim.inject(ORDER, "rate_limited", count=20)
    with pytest.raises(ea.RateLimitError) as info:
        await coinw.get_order_info("plan")
    assert info.value.code == "29001"
    assert info.value.retry_after is not None
    times = [a.time for a in sim.arrivals if a.path == ORDER]
    assert len(times) == FAST_RETRY.max_attempts
    gaps = [b - a for a, b in pairwise(times)]
    # rate_limit_delay 0.3 s, doubling, plus at most 25 % jitter: never a tight loop.
    assert 0.3 <= gaps[0] <= 0.3 * 1.25
    assert 0.6 <= gaps[1] <= 0.6 * 1.25


async def test_29001_holds_every_concurrent_caller(coinw: ea.CoinWClient, sim: Simulator) -> None:
    sim.inject(ORDER, "rate_limited", count=1)
    results = await asyncio.gather(
        *(coinw.get_order_info("plan", source_ids=[1]) for _ in range(30)), return_exceptions=True
    )
    assert all(r == [] for r in results)
    codes = [a.code for a in sim.arrivals]
    assert codes.count("29001") == 1  # one refusal did not become a burst of retries
    times = order_times(sim)
    assert 0.3 <= times[1] - times[0] <= 0.3 * 1.25  # everyone waited out the pause
    assert offsets(times[1:]) == pytest.approx(ten_per_second(30), abs=1e-9)  # then 10/s


async def test_server_side_29001_from_another_process(sim: Simulator) -> None:
    # Another process (not sharing our limiter) is using the same account's budget: the
    # server refuses some of our requests; the client must back off, not hammer.
    creds = ea.CoinWCredentials(COINW_KEY, COINW_SECRET)
    async with (
        ea.CoinWClient(creds, transport=simulator_transport(sim), retry=FAST_RETRY) as ours,
        ea.CoinWClient(creds, transport=simulator_transport(sim), retry=FAST_RETRY) as theirs,
    ):
        theirs._pipeline.account_ids = ("someone-else",)  # its own limiter, like another process
        theirs._pipeline._budgets.clear()
        results = await asyncio.gather(
            *(c.get_order_info("plan", source_ids=[1]) for c in (ours, theirs) * 15),
            return_exceptions=True,
        )
    refused = sim.count(ORDER) - sum(1 for a in sim.arrivals if a.code == "0")
    assert refused < 15
    assert sum(isinstance(r, list) for r in results) >= 20
