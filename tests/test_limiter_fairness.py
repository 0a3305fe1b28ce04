"""Accounts that share a per-IP budget take turns at it (issue 16's "Done when" shapes), with
real clients against the simulator on a virtual clock: the in-process limiter.

Before the limiter took shared budgets in a second phase, an account's queued requests held
places in the per-IP budget, so every other account on the IP waited behind that queue: two
accounts x 15 calls took 5.9 s, an idle account's call beside a 40-call backlog 8.2 s, and 28
accounts with 3 calls in flight each reached 7 requests/s in total.
"""

from __future__ import annotations

import asyncio
import bisect
from collections import defaultdict

import pytest
from support.sim_transport import simulator_transport

import exchange_async as ea
from exchange_async_sim import Simulator

pytestmark = pytest.mark.virtual_time

TRACK = "/api/v2/copy/mix-trader/order-current-track"
PER_UID = 5
IP_RATE = 6000 / 60 / 1.05  # the per-IP budget's steady rate, margin included: 95.2/s


def clients(sim: Simulator, n: int) -> list[ea.BitgetClient]:
    """``n`` Bitget accounts on one IP (one in-memory transport each, as separate bots)."""
    made = []
    for i in range(n):
        key, secret, phrase = f"fair-key-{i}", f"fair-secret-{i}", f"fair-pass-{i}"
        sim.add_bitget_account(api_key=key, secret_key=secret, passphrase=phrase, orders=5)
        credentials = ea.BitgetCredentials(key, secret, phrase)
        made.append(ea.BitgetClient(credentials, transport=simulator_transport(sim)))
    return made


async def call(client: ea.BitgetClient) -> None:
    await client.get_current_tracking_orders("USDT-FUTURES")


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """Most arrivals inside any half-open window [t, t + window)."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + window) - i for i, t in enumerate(times)), default=0)


async def test_two_accounts_with_15_calls_each_finish_as_fast_as_one_alone(sim: Simulator) -> None:
    loop = asyncio.get_running_loop()
    a, b = clients(sim, 2)
    started = loop.time()
    await asyncio.gather(*(call(c) for c in (a, b) for _ in range(15)))
    took = loop.time() - started
    assert took < 3.3  # one account alone: 14 x 0.21 s = 2.94 s
    assert sim.limit_violations() == 0
    for client in (a, b):
        await client.close()


async def test_an_idle_accounts_call_beside_a_40_call_backlog_goes_at_once(
    sim: Simulator,
) -> None:
    loop = asyncio.get_running_loop()
    busy, idle = clients(sim, 2)
    backlog = [asyncio.ensure_future(call(busy)) for _ in range(40)]
    await asyncio.sleep(0.5)  # the backlog is queued (and a few have left)
    started = loop.time()
    await call(idle)
    assert loop.time() - started < 0.35
    await asyncio.gather(*backlog)
    assert sim.limit_violations() == 0
    for client in (busy, idle):
        await client.close()


async def test_28_accounts_with_3_calls_in_flight_share_the_ip_budget_fairly(
    sim: Simulator,
) -> None:
    loop = asyncio.get_running_loop()
    accounts = clients(sim, 28)
    seconds = 10.0
    end = loop.time() + seconds

    async def keep_busy(client: ea.BitgetClient) -> None:
        while loop.time() < end:
            await call(client)

    started = loop.time()
    await asyncio.gather(*(keep_busy(c) for c in accounts for _ in range(3)))
    per_account: dict[str | None, list[float]] = defaultdict(list)
    for arrival in sim.arrivals:
        if arrival.path == TRACK and started <= arrival.time < end:
            per_account[arrival.account].append(arrival.time)
    total = sum(len(times) for times in per_account.values())
    assert len(per_account) == 28
    assert total / seconds >= 88  # the per-IP cap allows ~95/s (and a burst at the start)
    steady = sum(1 for ts in per_account.values() for t in ts if t >= started + 5.0)
    assert steady / (seconds - 5.0) >= 88  # once the burst is spent too
    assert all(max_in_window(times) <= PER_UID for times in per_account.values())
    fair = total / 28
    assert min(len(times) for times in per_account.values()) >= 0.7 * fair
    assert sim.limit_violations() == 0
    for client in accounts:
        await client.close()
