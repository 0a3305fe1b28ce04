"""The pipeline's edges: redirects, callers' own aiohttp sessions, late sends, closing while
queued, exception hygiene, clock sync failures. Real local servers (the ``bitget`` fixture's
client, in memory, only where the socket is not the point)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from conftest import (
    BITGET_KEY,
    BITGET_PASS,
    BITGET_SECRET,
    COINW_KEY,
    COINW_SECRET,
    FAST_RETRY,
    ORDER,
    TIME,
    TRACK,
)

import exchange_async as ea
from exchange_async._core.transport import TransportRequest
from exchange_async._core.transport.aiohttp import AiohttpTransport, new_http_session
from exchange_async._core.transport.lean import LeanTransport
from exchange_async_sim import Simulator, SimulatorServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# make_server: the conftest fixture (support.servers.ServerMaker), one catch-all handler each


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirects_are_not_followed(
    make_server: Callable[[Handler], Awaitable[TestServer]], status: int
) -> None:
    elsewhere_hits: list[web.Request] = []

    async def elsewhere(request: web.Request) -> web.Response:
        elsewhere_hits.append(request)
        return web.json_response({"code": 0, "data": [], "msg": ""})

    other = await make_server(elsewhere)
    hits = 0

    async def redirecting(request: web.Request) -> web.Response:
        nonlocal hits
        hits += 1
        raise _redirect(status, str(other.make_url(request.path_qs)))

    server = await make_server(redirecting)
    creds = ea.CoinWCredentials(COINW_KEY, COINW_SECRET)
    async with ea.CoinWClient(creds, base_url=str(server.make_url("")), retry=FAST_RETRY) as c:
        with pytest.raises(ea.UnknownExchangeError, match="redirect"):
            await c.get_order_info("plan")
        assert hits == c.stats.requests == 1  # not retried, and nothing the limiter missed
    assert elsewhere_hits == []  # the signed headers never went to the other host


def _redirect(status: int, location: str) -> web.HTTPException:
    cls = {
        301: web.HTTPMovedPermanently,
        302: web.HTTPFound,
        307: web.HTTPTemporaryRedirect,
        308: web.HTTPPermanentRedirect,
    }[status]
    return cls(location=location)


@pytest.mark.parametrize("traced", [True, False], ids=["sdk-session", "caller-session"])
async def test_a_request_waiting_for_a_connection_does_not_bunch_with_later_ones(
    server: SimulatorServer,
    sim: Simulator,
    make_server: Callable[[Handler], Awaitable[TestServer]],
    traced: bool,
) -> None:
    # One pooled connection, held 0.6 s by the application's own slow request: the SDK's
    # requests wait for it after their start was recorded. They must still reach the server
    # spaced as the limit says.
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.6)
        return web.Response(text="ok")

    slow_server = await make_server(slow)
    if traced:
        http = new_http_session(10.0, max_connections=1)
    else:
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
    creds = ea.CoinWCredentials(COINW_KEY, COINW_SECRET)
    try:
        async with ea.CoinWClient(creds, base_url=server.base_url, http_session=http) as c:
            blocker = asyncio.create_task(http.get(slow_server.make_url("/")))
            await asyncio.sleep(0.05)
            await asyncio.gather(*(c.get_order_info("plan", source_ids=[1]) for _ in range(11)))
            (await blocker).release()
        assert sim.max_in_window(ORDER) <= 10
        assert sim.count(ORDER) == 11
    finally:
        await http.close()


async def test_a_callers_session_cannot_change_errors_or_timeouts(
    server: SimulatorServer, sim: Simulator
) -> None:
    http = aiohttp.ClientSession(raise_for_status=True, timeout=aiohttp.ClientTimeout(total=300))
    creds = ea.BitgetCredentials(BITGET_KEY, BITGET_SECRET, BITGET_PASS)
    try:
        async with ea.BitgetClient(
            creds, base_url=server.base_url, http_session=http, retry=FAST_RETRY, timeout=0.3
        ) as c:
            await c.get_server_time()
            sim.inject(TRACK, "rate_limited", count=10)
            with pytest.raises(ea.RateLimitError) as info:
                await c.get_current_tracking_orders("USDT-FUTURES")
            sim.clear_faults()
            await asyncio.sleep(info.value.retry_after or 0)  # the account's pause
            sim.inject(TRACK, "delay", seconds=2.0, count=10)
            started = time.perf_counter()
            with pytest.raises(ea.RequestTimeoutError):
                await c.get_current_tracking_orders("USDT-FUTURES")
            assert time.perf_counter() - started < 1.8  # 3 attempts of 0.3 s, not 300 s
        assert not http.closed  # the caller's session is the caller's to close
    finally:
        await http.close()


async def test_closing_while_callers_queue_raises_client_closed(
    server: SimulatorServer, coinw_credentials: ea.CoinWCredentials
) -> None:
    client = ea.CoinWClient(coinw_credentials, base_url=server.base_url)
    calls = [asyncio.create_task(client.get_order_info("plan")) for _ in range(8)]
    await asyncio.sleep(0.25)  # a few got through; the rest queue in the limiter
    await client.close()
    results = await asyncio.gather(*calls, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors
    assert all(isinstance(e, ea.ClientClosedError) for e in errors), errors


async def test_transport_errors_carry_no_aiohttp_context(
    server: SimulatorServer, sim: Simulator, bitget_credentials: ea.BitgetCredentials
) -> None:
    sim.inject(TRACK, "disconnect", count=10)
    with pytest.raises(ea.TransportError) as info:
        async with ea.BitgetClient(
            bitget_credentials, base_url=server.base_url, retry=FAST_RETRY
        ) as bitget:
            await bitget.get_current_tracking_orders("USDT-FUTURES")
    error = info.value
    assert error.__cause__ is None
    assert error.__context__ is None
    assert BITGET_PASS not in repr(error.__dict__)


async def test_server_time_unavailable_falls_back_to_the_local_clock(
    make_server: Callable[[Handler], Awaitable[TestServer]], server: SimulatorServer
) -> None:
    # A proxy that forwards the private endpoint but not /api/v2/public/time.
    async def proxy(request: web.Request) -> web.StreamResponse:
        if request.path == TIME:
            return web.json_response({"code": "40404", "msg": "not found"}, status=404)
        async with aiohttp.ClientSession() as http:
            target = server.base_url + request.raw_path
            async with http.get(target, headers=request.headers) as upstream:
                body = await upstream.read()
                return web.Response(
                    body=body, status=upstream.status, content_type="application/json"
                )

    front = await make_server(proxy)
    creds = ea.BitgetCredentials(BITGET_KEY, BITGET_SECRET, BITGET_PASS)
    async with ea.BitgetClient(creds, base_url=str(front.make_url("")), retry=FAST_RETRY) as c:
        page = await c.get_current_tracking_orders("USDT-FUTURES")
        assert page.tracking_list
        assert c.stats.requests == 2  # one time request, not a retry storm, then the call


async def test_a_long_server_retry_after_raises_at_once(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    await bitget.get_server_time()
    sim.inject(TRACK, "rate_limited", retry_after=120)
    started = time.perf_counter()
    with pytest.raises(ea.RateLimitError) as info:
        await bitget.get_current_tracking_orders("USDT-FUTURES")
    assert time.perf_counter() - started < 1.0
    assert info.value.retry_after is not None
    assert info.value.retry_after >= 120
    assert sim.count(TRACK) == 1


async def test_a_large_own_backoff_does_not_count_as_a_long_retry_after(
    server: SimulatorServer, sim: Simulator, bitget_credentials: ea.BitgetCredentials
) -> None:
    policy = ea.RetryPolicy(max_attempts=2, rate_limit_delay=0.5, max_retry_after=0.4)
    async with ea.BitgetClient(bitget_credentials, base_url=server.base_url, retry=policy) as c:
        await c.get_server_time()
        sim.inject(TRACK, "rate_limited")  # no Retry-After: the SDK's own 0.5 s back-off
        page = await c.get_current_tracking_orders("USDT-FUTURES")
    assert page.tracking_list
    assert sim.count(TRACK) == 2


async def test_query_sent_is_exactly_the_query_signed(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    await bitget.get_current_tracking_orders(
        "usdt-futures", symbol="btcusdt", limit=7, start_time=1_600_000_000_000
    )
    arrival = sim.arrivals[-1]
    # Sorted keys, raw values, nothing re-encoded; the simulator verified the signature over
    # exactly these bytes (a wrong one would have been refused with 40009).
    assert (
        arrival.query == "limit=7&productType=USDT-FUTURES&startTime=1600000000000&symbol=BTCUSDT"
    )
    assert arrival.code == "00000"


async def test_unreachable_server_is_a_transport_error(
    bitget_credentials: ea.BitgetCredentials,
) -> None:
    async with ea.BitgetClient(
        bitget_credentials, base_url="http://127.0.0.1:9", retry=FAST_RETRY
    ) as c:
        with pytest.raises(ea.TransportError):
            await c.get_current_tracking_orders("USDT-FUTURES")


async def test_the_send_hook_runs_once_before_the_request_leaves(
    make_server: Callable[[Handler], Awaitable[TestServer]],
) -> None:
    arrived: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        arrived.append(request.path)
        return web.Response(text="ok")

    server = await make_server(handler)
    seen_by_hook: list[int] = []
    transport = AiohttpTransport()
    try:
        for path in ("/a", "/b"):
            url = str(server.make_url(path))
            reply = await transport.send(
                TransportRequest("GET", url), lambda: seen_by_hook.append(len(arrived))
            )
            assert reply.status == 200
    finally:
        await transport.aclose()
    assert arrived == ["/a", "/b"]
    assert seen_by_hook == [0, 1]  # once per request, each before its request reached the server


async def test_a_send_hook_error_aborts_the_request_before_any_byte(
    make_server: Callable[[Handler], Awaitable[TestServer]],
) -> None:
    class SlotMissed(ea.ExchangeError):
        pass

    arrived: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        arrived.append(request.path)
        return web.Response(text="ok")

    server = await make_server(handler)
    missed = SlotMissed("the shared slot was missed")

    def refuse() -> None:
        raise missed

    for http in (None, new_http_session(10.0)):
        transport = AiohttpTransport(http_session=http)
        try:
            await transport.send(TransportRequest("GET", str(server.make_url("/ok"))), lambda: None)
            with pytest.raises(SlotMissed) as caught:
                await transport.send(TransportRequest("GET", str(server.make_url("/no"))), refuse)
            assert caught.value is missed
            reply = await transport.send(
                TransportRequest("GET", str(server.make_url("/after"))), lambda: None
            )
            assert reply.status == 200
        finally:
            await transport.aclose()
            if http is not None:
                await http.close()
    await asyncio.sleep(0.05)
    assert arrived == ["/ok", "/after", "/ok", "/after"]  # "/no" never left the client


async def test_what_the_send_hook_returns_is_awaited_before_the_request_leaves(
    make_server: Callable[[Handler], Awaitable[TestServer]],
) -> None:
    arrived: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        arrived.append(time.monotonic())
        return web.Response(text="ok")

    server = await make_server(handler)
    waited: list[float] = []

    async def new_slot() -> None:
        await asyncio.sleep(0.2)
        waited.append(time.monotonic())

    transport = AiohttpTransport()
    try:
        reply = await transport.send(TransportRequest("GET", str(server.make_url("/"))), new_slot)
    finally:
        await transport.aclose()
    assert reply.status == 200
    assert len(waited) == len(arrived) == 1
    assert arrived[0] >= waited[0]  # the request left only once the wait was over


async def test_the_client_picks_its_transport(server: SimulatorServer) -> None:
    creds = ea.CoinWCredentials(COINW_KEY, COINW_SECRET)
    url = server.base_url
    async with ea.CoinWClient(creds, base_url=url) as default:
        assert isinstance(default._pipeline.transport, LeanTransport)
        await default.get_order_info("plan")
    async with ea.CoinWClient(creds, base_url=url, transport="aiohttp") as chosen:
        assert isinstance(chosen._pipeline.transport, AiohttpTransport)
        await chosen.get_order_info("plan")
    http = new_http_session(10.0)
    try:
        async with ea.CoinWClient(creds, base_url=url, http_session=http) as shared:
            assert isinstance(shared._pipeline.transport, AiohttpTransport)
            assert not shared._pipeline.transport.owns_session
    finally:
        await http.close()
    with pytest.raises(ea.ValidationError, match="transport must be one of"):
        ea.CoinWClient(creds, base_url=url, transport="httpx")
    with pytest.raises(ea.ValidationError, match="not both"):
        ea.CoinWClient(creds, base_url=url, transport="lean", http_session=http)
