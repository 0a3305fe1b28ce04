"""``rate_limits=`` with a Redis that goes away, or is down from the start: a process falls back
to its own share and comes back, and one with no known share of an account waits for Redis,
but not silently forever.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time

import pytest
from support.redis_limiting import budget, pair, reserve
from support.redis_server import RedisServer, redis_server
from support.waiting import until

import exchange_async as ea
import exchange_async._core.limits.redis.outage as limiter_redis_share
from exchange_async._core.limits.redis import RedisLimiter
from exchange_async._core.transport import TransportResponse
from exchange_async._core.transport.memory import MemoryTransport

__all__ = ["pair", "redis_server"]  # fixtures, re-exported: ruff keeps the imports


async def test_redis_down_falls_back_to_this_process_share_and_comes_back(
    pair: tuple[RedisLimiter, RedisLimiter],
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    one, two = pair
    await reserve(one, [budget()], 1)
    await reserve(two, [budget()], 1)  # two processes share the budget: each gets half
    await reserve(one, [budget()], 1)  # (as each saw at its last reservation)
    redis_server.stop()
    loop = asyncio.get_running_loop()
    with caplog.at_level(logging.WARNING, "exchange_async.limiter"):
        group = one.wait_group()
        times = []
        for _ in range(4):
            permit = await one.acquire([budget()], max_wait=5.0, group=group)
            times.append(loop.time())
            permit.sent()
    assert not one.on_redis
    assert sum("unreachable" in r.message for r in caplog.records) == 1  # once per outage
    # Half of 10 per 0.1 s with the margin doubled: 22 ms apart, less the 2 ms catch-up.
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.022 - 0.002 - 1e-6
    # A process that never saw the scope on Redis has no share: it waits, bounded.
    with pytest.raises(ea.RateLimitWaitTimeout):
        await one.acquire([budget(owner="key:new")], max_wait=0.3, group=group)
    redis_server.start()
    await until(lambda: one.on_redis, "the limiter back on Redis", timeout=5.0)
    await one.acquire([budget(owner="key:new")], max_wait=1.0, group=group)


DOWN = "redis://127.0.0.1:1/0"


ORDERS = b'{"code":0,"data":[],"msg":""}'


@pytest.fixture
def short_outage_wait(monkeypatch: pytest.MonkeyPatch) -> float:
    monkeypatch.setattr(limiter_redis_share, "NO_SHARE_WAIT", 0.5)
    return 0.5


async def test_a_call_with_no_max_rate_wait_ends_while_redis_stays_down(
    short_outage_wait: float,
) -> None:
    # Found: with max_rate_wait=None the call waited for Redis forever, with one warning.
    async with ea.CoinWClient(
        ea.CoinWCredentials("cw-key-down", "cw-secret-down"),
        base_url="http://127.0.0.1:1",
        rate_limits=DOWN,
    ) as client:
        started = time.monotonic()
        with pytest.raises(ea.RateLimitWaitTimeout, match="Redis"):
            await asyncio.wait_for(client.get_order_info("plan"), 10)
        assert time.monotonic() - started < 5


async def test_a_poller_reports_accounts_it_cannot_start_while_redis_is_down(
    short_outage_wait: float,
) -> None:
    # Found: the docs promise "a poller keeps polling, slower"; the account stayed "starting"
    # with no event at all.
    async with ea.Poller(rate_limits=DOWN, backoff=0.1) as poller:
        poller.add_coinw(
            "desk", ea.CoinWCredentials("cw-key-down2", "cw-secret-down"), base_url=DOWN_HTTP
        )

        async def first_event() -> ea.Event:
            async for event in poller:
                return event
            raise AssertionError("no event")

        event = await asyncio.wait_for(first_event(), 10)
    assert isinstance(event, ea.AccountRateLimited)


DOWN_HTTP = "http://127.0.0.1:1"


async def test_the_wait_timeout_says_what_happened() -> None:
    # Found: "the shared rate limiter would wait beyond 0s" (the time left, not the limit),
    # and in-process "waited more than 0.01s" for a call refused at once, having waited nothing.
    transport = MemoryTransport(lambda request: TransportResponse(200, {}, ORDERS))
    for rate_limits in (DOWN, None):
        async with ea.CoinWClient(
            ea.CoinWCredentials("cw-key-message", "cw-secret-down"),
            base_url=DOWN_HTTP,
            rate_limits=rate_limits,
            max_rate_wait=0.01,
            transport=transport,
        ) as client:
            with pytest.raises(ea.RateLimitWaitTimeout) as caught:
                await _calls(client, 3)  # 10/s: the second call would wait about 0.1 s
        message = str(caught.value)
        expected = "cannot start this request within max_rate_wait"
        if rate_limits is DOWN:  # a Redis never reached: no share is known, said at once
            expected = "has not reached Redis since this process started"
        assert expected in message
        assert "waited" not in message
        assert "beyond 0s" not in message


async def _calls(client: ea.CoinWClient, count: int) -> None:
    for _ in range(count):
        await client.get_order_info("plan")
