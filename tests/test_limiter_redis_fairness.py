"""Accounts that share a per-IP budget take turns at it through Redis too (issue 16's "Done
when" shapes on the real clock, shorter runs): real clients, the simulator in memory, a real
``redis-server``, the limits kept in Redis (two `RedisLimiter` "processes")."""

from __future__ import annotations

import asyncio
import bisect
from collections import defaultdict
from collections.abc import AsyncIterator

import pytest
from support.redis_server import RedisServer, redis_server
from support.sim_transport import simulator_transport

import exchange_async as ea
from exchange_async_sim import Simulator

__all__ = ["redis_server"]

TRACK = "/api/v2/copy/mix-trader/order-current-track"


@pytest.fixture
async def limiters(redis_server: RedisServer) -> AsyncIterator[list[ea.RedisLimiter]]:
    made = [ea.RedisLimiter(redis_server.url) for _ in range(2)]
    yield made
    for limiter in made:
        await limiter.aclose()


def clients(sim: Simulator, limiters: list[ea.RedisLimiter], n: int) -> list[ea.BitgetClient]:
    """``n`` Bitget accounts on one IP, alternately in the two "processes"."""
    made = []
    for i in range(n):
        key, secret, phrase = f"rfair-key-{i}", f"rfair-secret-{i}", f"rfair-pass-{i}"
        sim.add_bitget_account(api_key=key, secret_key=secret, passphrase=phrase, orders=5)
        credentials = ea.BitgetCredentials(key, secret, phrase)
        made.append(
            ea.BitgetClient(
                credentials,
                transport=simulator_transport(sim),
                rate_limits=limiters[i % len(limiters)],
            )
        )
    return made


async def call(client: ea.BitgetClient) -> None:
    await client.get_current_tracking_orders("USDT-FUTURES")


def max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    return max((bisect.bisect_left(times, t + window) - i for i, t in enumerate(times)), default=0)


async def close(made: list[ea.BitgetClient]) -> None:
    for client in made:
        await client.close()


async def test_two_accounts_with_15_calls_each_on_redis(
    sim: Simulator, limiters: list[ea.RedisLimiter]
) -> None:
    loop = asyncio.get_running_loop()
    made = clients(sim, limiters, 2)
    await asyncio.gather(*(call(c) for c in made))  # connections open, keys made
    await asyncio.sleep(1.1)
    started = loop.time()
    await asyncio.gather(*(call(c) for c in made for _ in range(15)))
    assert loop.time() - started < 3.3
    assert sim.limit_violations() == 0
    await close(made)


async def test_an_idle_account_beside_a_40_call_backlog_on_redis(
    sim: Simulator, limiters: list[ea.RedisLimiter]
) -> None:
    loop = asyncio.get_running_loop()
    busy, idle = made = clients(sim, limiters, 2)
    await asyncio.gather(*(call(c) for c in made))
    backlog = [asyncio.ensure_future(call(busy)) for _ in range(40)]
    await asyncio.sleep(1.0)
    started = loop.time()
    await call(idle)
    assert loop.time() - started < 0.35
    # The rest of the backlog would take 6 s more at 5/s and show nothing new: it goes.
    for pending in backlog:
        pending.cancel()
    outcomes = await asyncio.gather(*backlog, return_exceptions=True)
    assert all(o is None or isinstance(o, asyncio.CancelledError) for o in outcomes), outcomes
    assert sum(o is None for o in outcomes) >= 3  # the backlog did move meanwhile
    assert sim.limit_violations() == 0
    await close(made)


@pytest.mark.slow
async def test_28_accounts_with_3_calls_in_flight_on_redis(
    sim: Simulator, limiters: list[ea.RedisLimiter]
) -> None:
    loop = asyncio.get_running_loop()
    made = clients(sim, limiters, 28)
    seconds, steady_from = 8.0, 4.0
    started = loop.time()
    end = started + seconds

    async def keep_busy(client: ea.BitgetClient) -> None:
        while loop.time() < end:
            await call(client)

    await asyncio.gather(*(keep_busy(c) for c in made for _ in range(3)))
    per_account: dict[str | None, list[float]] = defaultdict(list)
    for arrival in sim.arrivals:
        if arrival.path == TRACK and started <= arrival.time < end:
            per_account[arrival.account].append(arrival.time)
    total = sum(len(times) for times in per_account.values())
    steady = sum(1 for ts in per_account.values() for t in ts if t >= started + steady_from)
    rate = steady / (seconds - steady_from)
    print(f"28 x 3 on Redis: {total / seconds:.1f}/s overall, {rate:.1f}/s once the burst is spent")
    assert len(per_account) == 28
    assert rate >= 88
    assert all(max_in_window(times) <= 5 for times in per_account.values())
    assert min(len(times) for times in per_account.values()) >= 0.7 * total / 28
    assert sim.limit_violations() == 0
    await close(made)
