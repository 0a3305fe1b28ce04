"""Real clients whose ``rate_limits=`` Redis was never reachable: no share of any limit can be
known (how many processes share a limit is learnt from Redis), so every call fails at once with
`RateLimitWaitTimeout` saying so, and the warning never claims a share is in use. Once Redis
answers, the same clients send through it."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from support.redis_server import RedisServer, redis_server
from support.sim_transport import simulator_transport

import exchange_async as ea
from exchange_async._core.limits import Budget, RateLimit, Scope
from exchange_async._core.limits.redis import RedisLimiter
from exchange_async_sim import Simulator

__all__ = ["redis_server"]


async def test_a_redis_never_reached_fails_calls_at_once_and_says_why(
    sim: Simulator,
    bitget_credentials: ea.BitgetCredentials,
    coinw_credentials: ea.CoinWCredentials,
    caplog: pytest.LogCaptureFixture,
    redis_server: RedisServer,
) -> None:
    redis = redis_server
    redis.stop()  # nothing listens on its port from the start
    options = {"rate_limits": redis.url, "max_rate_wait": 8.0}
    transports = [simulator_transport(sim), simulator_transport(sim)]
    bitget = ea.BitgetClient(bitget_credentials, transport=transports[0], **options)  # type: ignore[arg-type]
    coinw = ea.CoinWClient(coinw_credentials, transport=transports[1], **options)  # type: ignore[arg-type]

    async def bitget_call() -> object:
        return await bitget.get_current_tracking_orders("USDT-FUTURES")

    async def coinw_call() -> object:
        return await coinw.get_order_info("plan")

    calls = [bitget_call, coinw_call]
    try:
        with caplog.at_level(logging.WARNING, "exchange_async.limiter"):
            for call in calls * 2:
                started = time.monotonic()
                with pytest.raises(ea.RateLimitWaitTimeout, match="not reached Redis"):
                    await call()
                # At once: not after max_rate_wait (8 s) of a wait nothing could end.
                assert time.monotonic() - started < 4.0
        warnings = [r.getMessage() for r in caplog.records if r.name == "exchange_async.limiter"]
        assert len(warnings) == 1, warnings  # one per outage
        assert "share" not in warnings[0].split(":")[0]
        assert "never reached" in warnings[0] and "nothing is sent" in warnings[0]
        assert not any("using this process's share" in w for w in warnings)
        redis.start()
        try:
            deadline = time.monotonic() + 10
            while True:  # the probe notices Redis (back-off up to 0.5 s)
                try:
                    await calls[0]()
                    await calls[1]()
                    break
                except ea.RateLimitWaitTimeout:
                    assert time.monotonic() < deadline, "the clients never reached Redis"
                    await asyncio.sleep(0.1)
        finally:
            await bitget.close()
            await coinw.close()
    finally:
        for transport in transports:
            await transport.aclose()


async def test_a_redis_that_was_only_slow_is_waited_for_not_refused_at_once() -> None:
    # A first call that only timed out may have met a Redis that is there (a busy loop): with
    # no answer yet the process knows no share, so calls wait for Redis (bounded), even once
    # the port then refuses; they never fail at once as for a Redis refused from the start.
    writers: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read()  # never answers

    def close_all() -> None:
        server.close()
        for writer in writers:
            writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limiter = RedisLimiter(f"redis://127.0.0.1:{port}/0", call_timeout=0.1)
    group = limiter.wait_group()
    budget = Budget("http://s", RateLimit("/r", 10, 1.0, Scope.ENDPOINT), "key:a", 0.05)
    try:
        for close_first in (False, True):
            if close_first:
                close_all()
                await server.wait_closed()
            started = time.monotonic()
            with pytest.raises(ea.RateLimitWaitTimeout, match="within max_rate_wait"):
                await limiter.acquire([budget], max_wait=0.5, group=group)
            assert time.monotonic() - started >= 0.45  # it waited for Redis
        assert not limiter.on_redis
    finally:
        close_all()
        await limiter.aclose()
