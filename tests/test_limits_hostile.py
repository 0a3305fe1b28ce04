"""Hostile use of the in-process rate limiter, as users write it, on a virtual clock and
refereed by the simulator: several calls in flight per account with some cancelled mid-wait,
``close()`` while calls wait, two clients (and a poller) of one account in one process, server
faults under fan-out. The referee is the simulator's own count of windows over each limit
(`Simulator.limit_violations`); no call may hang or raise anything but an `ea.ExchangeError`
or a cancellation. (Real sockets, threads and Redis: test_limits_hostile_sockets.py.)
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from support.sim_transport import simulator_transport

import exchange_async as ea
from exchange_async_sim import Simulator

TRACK = "/api/v2/copy/mix-trader/order-current-track"
ORDER = "/v1/perpum/order"


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """Most arrivals inside any half-open window [t, t + window)."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + window) - i for i, t in enumerate(times)), default=0)


def coinw(sim: Simulator, name: str) -> ea.CoinWClient:
    key, secret = f"cw-key-{name}", f"cw-secret-{name}"
    sim.add_coinw_account(api_key=key, secret_key=secret, orders=3)
    return ea.CoinWClient(ea.CoinWCredentials(key, secret), transport=simulator_transport(sim))


@pytest.mark.virtual_time
async def test_calls_cancelled_mid_wait_leave_no_window_over_and_no_call_stuck(
    sim: Simulator,
) -> None:
    # Cancelled reservations give slots back "where it is the last one of a budget": cancel
    # in the middle and at the tail of a 40-call queue, over and over, then queue again.
    rng = random.Random(16)
    client = coinw(sim, "cancel")
    second = ea.CoinWClient(
        ea.CoinWCredentials("cw-key-cancel", "cw-secret-cancel"),
        transport=simulator_transport(sim),
    )
    for _round in range(5):
        calls = [
            asyncio.ensure_future((client if i % 2 else second).get_order_info("plan"))
            for i in range(40)
        ]
        for _ in range(12):
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            victim = rng.choice(calls)
            victim.cancel()
        calls[-1].cancel()
        calls[-2].cancel()
        async with asyncio.timeout(30):
            results = await asyncio.gather(*calls, return_exceptions=True)
        for outcome in results:
            assert not isinstance(outcome, BaseException) or isinstance(
                outcome, asyncio.CancelledError
            ), repr(outcome)
    assert sim.limit_violations() == 0
    assert sum(1 for a in sim.arrivals if a.path == ORDER) >= 5 * 20
    await client.close()
    await second.close()


@pytest.mark.virtual_time
async def test_close_while_calls_wait_fails_them_promptly_with_an_exchange_error(
    sim: Simulator,
) -> None:
    loop = asyncio.get_running_loop()
    client = coinw(sim, "close")
    other = ea.CoinWClient(
        ea.CoinWCredentials("cw-key-close", "cw-secret-close"), transport=simulator_transport(sim)
    )
    waiting = [asyncio.ensure_future(client.get_order_info("plan")) for _ in range(30)]
    beside = [asyncio.ensure_future(other.get_order_info("plan")) for _ in range(30)]
    await asyncio.sleep(0.5)
    closed_at = loop.time()
    await client.close()
    async with asyncio.timeout(10):
        results = await asyncio.gather(*waiting, return_exceptions=True)
    assert loop.time() - closed_at < 0.1  # nobody waits for a slot once the client is closed
    for outcome in results:
        assert not isinstance(outcome, BaseException) or isinstance(outcome, ea.ExchangeError), (
            repr(outcome)
        )
    assert any(isinstance(outcome, ea.ClientClosedError) for outcome in results)
    # the other client of the account goes on, inside the limit, and is not held up
    async with asyncio.timeout(10):
        await asyncio.gather(*beside)
    assert sim.limit_violations() == 0
    await other.close()


@pytest.mark.virtual_time
async def test_bitget_accounts_fanning_out_keep_every_account_and_the_ip_inside(
    sim: Simulator,
) -> None:
    # 6 accounts x 2 clients each x 4 calls in flight, for 8 s of virtual time, with cancels.
    loop = asyncio.get_running_loop()
    rng = random.Random(7)
    made: list[ea.BitgetClient] = []
    for i in range(6):
        key, secret, phrase = f"hk-{i}", f"hs-{i}", f"hp-{i}"
        sim.add_bitget_account(api_key=key, secret_key=secret, passphrase=phrase, orders=3)
        for _ in range(2):
            made.append(
                ea.BitgetClient(
                    ea.BitgetCredentials(key, secret, phrase), transport=simulator_transport(sim)
                )
            )
    end = loop.time() + 8.0

    async def busy(client: ea.BitgetClient) -> None:
        while loop.time() < end:
            call = asyncio.ensure_future(client.get_current_tracking_orders("USDT-FUTURES"))
            if rng.random() < 0.1:
                await asyncio.sleep(rng.uniform(0, 0.2))
                call.cancel()
            try:
                await call
            except asyncio.CancelledError:
                if not call.cancelled():
                    raise

    async with asyncio.timeout(60):
        await asyncio.gather(*(busy(c) for c in made for _ in range(4)))
    assert sim.limit_violations() == 0
    per_ip = [a.time for a in sim.arrivals if a.path == TRACK]
    assert len(per_ip) >= 6 * 5 * 7  # every account kept busy at its 5/s
    assert max_in_window(per_ip, 60.0) <= 6000
    for client in made:
        await client.close()


@pytest.mark.virtual_time
async def test_a_poller_and_a_client_of_the_same_accounts_share_their_limits(
    sim: Simulator,
) -> None:
    # A bot polls its accounts and, beside it, fans out calls on the same accounts.
    loop = asyncio.get_running_loop()
    keys = [(f"pk-{i}", f"ps-{i}", f"pp-{i}") for i in range(4)]
    for key, secret, phrase in keys:
        sim.add_bitget_account(api_key=key, secret_key=secret, passphrase=phrase, orders=3)
    sim.add_coinw_account(api_key="pw-key", secret_key="pw-secret", orders=3)
    poller = ea.Poller(interval=0.0, transport=simulator_transport(sim))
    clients = [
        ea.BitgetClient(ea.BitgetCredentials(*k), transport=simulator_transport(sim)) for k in keys
    ]
    coin = ea.CoinWClient(
        ea.CoinWCredentials("pw-key", "pw-secret"), transport=simulator_transport(sim)
    )
    end = loop.time() + 6.0

    async def fan_out(call: Any) -> None:
        while loop.time() < end:
            await call()

    async with poller:
        for i, k in enumerate(keys):
            poller.add_bitget(f"b{i}", ea.BitgetCredentials(*k))
        poller.add_coinw("c", ea.CoinWCredentials("pw-key", "pw-secret"))
        calls: list[Callable[[], Awaitable[object]]] = [
            functools.partial(c.get_current_tracking_orders, "USDT-FUTURES") for c in clients
        ]
        calls.append(functools.partial(coin.get_order_info, "plan"))
        async with asyncio.timeout(60):
            await asyncio.gather(*(fan_out(call) for call in calls for _ in range(3)))
        polled = sum(s.snapshots for s in poller.accounts.values())
    assert polled >= 5
    assert sim.limit_violations() == 0
    for client in [*clients, coin]:
        await client.close()


FAULT_OPTIONS: dict[str, dict[str, float]] = {
    "rate_limited": {"retry_after": 1.0},
    "delay": {"seconds": 3.0},
}


@pytest.mark.virtual_time
@pytest.mark.parametrize("fault", ["rate_limited", "delay", "disconnect", "http_503"])
async def test_faults_retries_and_cancels_under_fan_out_keep_every_window(
    sim: Simulator, fault: str
) -> None:
    # Server pauses (429 + Retry-After), slow replies and drops while 3 clients of one account
    # keep 4 calls each in flight, some cancelled, some with a max_rate_wait that runs out.
    loop = asyncio.get_running_loop()
    rng = random.Random(fault)
    sim.add_bitget_account(api_key="fk", secret_key="fs", passphrase="fp", orders=3)
    made = [
        ea.BitgetClient(
            ea.BitgetCredentials("fk", "fs", "fp"),
            transport=simulator_transport(sim),
            timeout=2.0,
            max_rate_wait=None if i else 0.5,
        )
        for i in range(3)
    ]
    end = loop.time() + 10.0
    odd: list[str] = []

    async def busy(client: ea.BitgetClient) -> None:
        while loop.time() < end:
            call = asyncio.ensure_future(client.get_current_tracking_orders("USDT-FUTURES"))
            if rng.random() < 0.1:
                await asyncio.sleep(rng.uniform(0, 0.3))
                call.cancel()
            try:
                await call
            except asyncio.CancelledError:
                if not call.cancelled():
                    raise
            except ea.ExchangeError:
                await asyncio.sleep(0.05)
            except Exception as error:  # the finding: only SDK errors may escape
                odd.append(repr(error))

    async def faults() -> None:  # one fault every 1.5 s (each pauses or fails one request)
        while loop.time() < end - 1.5:
            await asyncio.sleep(1.5)
            sim.inject(TRACK, fault, **FAULT_OPTIONS.get(fault, {}))  # type: ignore[arg-type]

    async with asyncio.timeout(60):
        await asyncio.gather(faults(), *(busy(c) for c in made for _ in range(4)))
    assert not odd, odd[:3]
    assert sum(1 for a in sim.arrivals if a.path == TRACK) >= 20
    assert sim.limit_violations() == 0
    for client in made:
        await client.close()


@pytest.mark.virtual_time
async def test_closing_a_poller_while_its_accounts_wait_for_slots_ends_at_once(
    sim: Simulator,
) -> None:
    loop = asyncio.get_running_loop()
    poller = ea.Poller(interval=0.0, transport=simulator_transport(sim))
    client = coinw(sim, "poller-close")
    beside = [asyncio.ensure_future(client.get_order_info("plan")) for _ in range(20)]
    got: list[ea.Event] = []

    async def consume() -> None:
        async for event in poller:
            got.append(event)

    await poller.start()
    reader = asyncio.create_task(consume())
    poller.add_coinw("same", ea.CoinWCredentials("cw-key-poller-close", "cw-secret-poller-close"))
    await asyncio.sleep(1.3)  # the poller's calls queue behind the client's
    closed_at = loop.time()
    async with asyncio.timeout(5):
        await poller.aclose()
        await reader
    assert loop.time() - closed_at < 0.2
    async with asyncio.timeout(10):
        await asyncio.gather(*beside)
    await client.close()
    assert sim.limit_violations() == 0
