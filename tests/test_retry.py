"""Retries: what is retried and how often, the back-off, and every wait a server asks for
(``Retry-After``, its absurd values included) bounded.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest
from support.bitget_memory import FAST, bitget_server, client, reply, track_requests
from support.servers import (
    CREDS,
    NO_RETRY,
    TRACK,
    base_url,
    hostile_server,
    replying,
)

import exchange_async as ea
from exchange_async._core.limits import Scope
from exchange_async._core.limits.carry import memory_limiter_for_running_loop
from exchange_async._core.transport import TransportRequest, TransportResponse
from exchange_async._core.transport.memory import MemoryTransport
from exchange_async.coinw.endpoints import ORDER_INFO


@pytest.mark.virtual_time
async def test_server_errors_are_retried_then_raised() -> None:
    calls = 0

    def flaky(request: ea.TransportRequest) -> Any:
        nonlocal calls
        calls += 1
        return ea.TransportResponse(503, {}, b"<html>busy</html>") if calls < 3 else reply({})

    async with client(ea.MemoryTransport(bitget_server(flaky))) as bitget:
        await bitget.get_current_tracking_orders("USDT-FUTURES")
        assert bitget.stats.retries == 2
    calls = -100
    transport = ea.MemoryTransport(bitget_server(flaky))
    async with client(transport) as bitget:
        with pytest.raises(ea.ExchangeUnavailableError):
            await bitget.get_current_tracking_orders("USDT-FUTURES")
    assert len(track_requests(transport)) == FAST.max_attempts


@pytest.mark.virtual_time
async def test_authentication_errors_are_not_retried() -> None:
    transport = ea.MemoryTransport(bitget_server(lambda r: reply(None, code="40009", status=400)))
    async with client(transport) as bitget:
        with pytest.raises(ea.AuthenticationError):
            await bitget.get_current_tracking_orders("USDT-FUTURES")
    assert len(track_requests(transport)) == 1


@pytest.mark.virtual_time
@pytest.mark.parametrize("header", ["inf", "1e400", "nan", "-5", "Infinity", "soon"])
async def test_any_retry_after_is_bounded(header: str) -> None:
    transport = ea.MemoryTransport(
        bitget_server(lambda r: reply(None, code="429", status=429, **{"Retry-After": header}))
    )
    policy = ea.RetryPolicy(max_attempts=2, rate_limit_delay=0.01, max_retry_after=1.0)
    async with client(transport, retry=policy, max_rate_wait=0.5) as bitget:
        started = asyncio.get_running_loop().time()
        with pytest.raises(ea.RateLimitError) as info:
            await bitget.get_current_tracking_orders("USDT-FUTURES")
        assert asyncio.get_running_loop().time() - started < 2.0
        retry_after = info.value.retry_after
        assert retry_after is not None and math.isfinite(retry_after) and retry_after >= 0
        assert retry_after <= 3600 * 1.25
        # Not one of them is a valid Retry-After (RFC 9110: digits or an HTTP-date): the
        # pause is the SDK's own, and a later call reaches the server instead of an hour's wait.
        sent = len(track_requests(transport))
        with pytest.raises(ea.RateLimitError):
            await bitget.get_current_tracking_orders("USDT-FUTURES")
        assert len(track_requests(transport)) > sent


@pytest.mark.virtual_time
async def test_a_refusal_error_is_not_mutated_by_the_policy() -> None:
    error = ea.RateLimitError("slow down", code="429", http_status=429, retry_after=120.0)
    decision = ea.RetryPolicy(max_retry_after=30).decide(error, 1)
    assert not decision.retry
    assert decision.error is not error and error.retry_after == 120.0
    assert decision.error.retry_after is not None and decision.error.retry_after >= 120.0  # type: ignore[attr-defined]
    assert decision.pause_account >= 120.0


@pytest.mark.virtual_time
def test_non_idempotent_methods_are_not_retried_unless_asked() -> None:
    policy = ea.RetryPolicy()
    failure = ea.TransportError("reset")
    assert not policy.decide(failure, 1, method="POST").retry
    assert policy.decide(failure, 1, method="GET").retry
    assert ea.RetryPolicy(retry_non_idempotent=True).decide(failure, 1, method="POST").retry
    refusal = ea.RateLimitError("slow down")
    assert policy.decide(refusal, 1, method="POST").retry  # refused: nothing happened


@pytest.mark.virtual_time
def test_backoff_is_capped_and_jittered() -> None:
    policy = ea.RetryPolicy(base_delay=0.25, max_delay=8.0)
    for attempt in range(1, 60):
        ceiling = min(8.0, 0.25 * 2 ** (attempt - 1))
        delay = policy.backoff(attempt)
        assert ceiling / 2 <= delay <= ceiling


@pytest.mark.parametrize(
    "header",
    [
        "inf",
        "1e400",
        "Infinity",
        "99999999999",
        "nan",
        "-inf",
    ],
)
async def test_absurd_retry_after_is_bounded(header: str) -> None:
    refused = replying(b'{"code":"429","msg":"too many"}', status=429, **{"Retry-After": header})
    async with hostile_server({TRACK: refused}) as server:
        url = base_url(server)
        # Short back-off steps: an ignored header falls back to the policy's own back-off,
        # which is all this needs to see (the default's 1 s steps took 7 s per case).
        quick = ea.RetryPolicy(rate_limit_delay=0.05)
        async with ea.BitgetClient(CREDS, base_url=url, retry=quick) as client, asyncio.timeout(10):
            with pytest.raises(ea.RateLimitError) as caught:
                await client.get_current_tracking_orders("USDT-FUTURES")
        retry_after = caught.value.retry_after
        assert retry_after is None or 0 <= retry_after <= 24 * 3600
        # Every later call of the account is bounded too: it raises instead of hanging.
        async with (
            ea.BitgetClient(CREDS, base_url=url, max_rate_wait=0.5, retry=NO_RETRY) as other,
            asyncio.timeout(5),
        ):
            with pytest.raises(ea.RateLimitError):
                await other.get_current_tracking_orders("USDT-FUTURES")


@pytest.mark.virtual_time
async def test_a_server_wait_is_capped_at_the_documented_hour() -> None:
    # Found: a huge `Retry-After` is clamped to 3600 s, then jittered up by as much as 25 %: the
    # account was paused (and `retry_after` said) up to 4,500 s, not the hour security.md says.
    # (`inf` is no Retry-After at all under RFC 9110; a long run of digits is a valid one.)
    def refuse(request: TransportRequest) -> TransportResponse:
        return TransportResponse(429, {"Retry-After": "9" * 5000}, b"")

    loop = asyncio.get_running_loop()
    for i in range(20):  # the jitter is random: any one of 20 over the hour fails
        credentials = ea.CoinWCredentials(f"cw-key-hour-{i}", "cw-secret-hour")
        async with ea.CoinWClient(
            credentials, base_url="http://127.0.0.1:1", transport=MemoryTransport(refuse)
        ) as client:
            with pytest.raises(ea.RateLimitError) as caught:
                await client.get_order_info("plan")
            assert caught.value.retry_after == 3600
            budgets = [b for b in client._pipeline._budgets[ORDER_INFO] if b.scope is not Scope.IP]
            limiter = memory_limiter_for_running_loop()
            assert limiter.next_start(budgets) - loop.time() <= 3600
