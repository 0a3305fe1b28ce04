"""The client's lifecycle: it follows the event loop (a second ``asyncio.run`` works), and
``close()`` ends every call at once, the ones already waiting for a reply included, while a
caller's own cancellation stays a cancellation.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import time
import warnings

import pytest
from aiohttp import web
from conftest import (
    COINW_KEY,
    COINW_SECRET,
    FAST_RETRY,
)
from support.bitget_memory import bitget_server, client, reply, track_requests
from support.rows import numbered
from support.servers import (
    CREDS,
    ORDER,
    TRACK,
    base_url,
    hostile_server,
    replying,
    threaded_server,
)

import exchange_async as ea
from exchange_async_sim import Simulator, SimulatorServer
from exchange_async_sim.testing import bitget_page, coinw_rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_a_client_works_under_a_second_asyncio_run(sim: Simulator) -> None:
    # Chosen behaviour: the client follows the loop. Its pool was closed when the first loop
    # shut down; the second run opens a new one. No RuntimeError, no unclosed-session warning
    # (filterwarnings = error turns one into a failure).
    port = _free_port()
    creds = ea.CoinWCredentials(COINW_KEY, COINW_SECRET)
    client = ea.CoinWClient(creds, base_url=f"http://127.0.0.1:{port}", retry=FAST_RETRY)

    async def once() -> int:
        async with SimulatorServer(sim, port=port):
            return len(await client.get_order_info("plan"))

    first = asyncio.run(once())
    second = asyncio.run(once())
    assert first == second > 0
    asyncio.run(client.close())
    gc.collect()


async def test_close_ends_the_calls_waiting_for_a_reply_at_once() -> None:
    # Found: close() woke the callers queued in the limiter, but the ones already waiting for
    # the rest of the server's reply went on until their timeout (30 s here) before failing.
    arrived = asyncio.Event()
    release = asyncio.Event()

    async def never_finishes(request: web.Request) -> web.StreamResponse:
        reply = web.StreamResponse(headers={"Content-Length": "1000"})
        await reply.prepare(request)
        await reply.write(b'{"code":0,')  # the headers and a first chunk, then nothing
        arrived.set()
        await release.wait()
        return reply

    async with hostile_server({ORDER: never_finishes}) as server:
        client = ea.CoinWClient(
            ea.CoinWCredentials("cw-key-close", "cw-secret-close"),
            base_url=base_url(server),
            timeout=30,
        )
        calls = [asyncio.create_task(client.get_order_info("plan")) for _ in range(3)]
        await asyncio.wait_for(arrived.wait(), 10)
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await client.close()
        done, pending = await asyncio.wait(calls, timeout=5)
        release.set()
        assert not pending, f"{len(pending)} calls still running 5 s after close()"
        assert time.monotonic() - started < 5
        for call in done:
            with pytest.raises(ea.ClientClosedError):
                call.result()


async def test_a_caller_cancelling_still_sees_its_cancellation() -> None:
    """The fix must not swallow a cancellation that close() did not cause."""

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(body=coinw_rows(), content_type="application/json")

    async with (
        hostile_server({ORDER: slow}) as server,
        ea.CoinWClient(
            ea.CoinWCredentials("cw-key-cancel", "cw-secret-cancel"), base_url=base_url(server)
        ) as client,
    ):
        call = asyncio.create_task(client.get_order_info("plan"))
        await asyncio.sleep(0.2)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert not client.closed


async def test_close_wakes_every_queued_caller_at_once() -> None:
    async with hostile_server({TRACK: replying(bitget_page(numbered(1)))}) as server:
        url = base_url(server)
        async with ea.BitgetClient(CREDS, base_url=url) as other:
            client = ea.BitgetClient(CREDS, base_url=url)
            calls = [
                asyncio.ensure_future(client.get_current_tracking_orders("USDT-FUTURES"))
                for _ in range(50)
            ]
            await asyncio.sleep(0.3)  # five go through; 45 wait in the limiter
            closed_at = time.perf_counter()
            await client.close()
            results = await asyncio.gather(*calls, return_exceptions=True)
            woken_in = time.perf_counter() - closed_at
            closed = [r for r in results if isinstance(r, ea.ClientClosedError)]
            assert all(isinstance(r, ea.TrackingOrdersPage | ea.ClientClosedError) for r in results)
            assert len(closed) >= 40
            assert woken_in < 0.5  # 0.1 s on an idle machine
            # The closed callers spent no budget: the other client of the account goes next.
            started = time.perf_counter()
            await other.get_current_tracking_orders("USDT-FUTURES")
            assert time.perf_counter() - started < 1.5


def test_a_client_under_two_asyncio_runs() -> None:
    with threaded_server({ORDER: replying(coinw_rows())}) as url:
        client = ea.CoinWClient(ea.CoinWCredentials("k" * 9, "s" * 9), base_url=url)

        async def call() -> list[ea.OrderInfo] | str:
            try:
                return await client.get_order_info("plan")
            except ea.ExchangeError as error:  # a typed error is an acceptable answer
                return type(error).__name__

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert asyncio.run(call()) == []
            second = asyncio.run(call())  # bare RuntimeError("Event loop is closed") before
            asyncio.run(client.close())
            gc.collect()
    assert second == [] or second in {"ClientClosedError", "TransportError"}
    assert [w for w in caught if "nclosed" in str(w.message)] == []


@pytest.mark.virtual_time
async def test_close_fails_queued_callers_at_once_without_spending_budget() -> None:
    transport = ea.MemoryTransport(bitget_server(lambda r: reply({"trackingList": []})))
    first = client(transport)
    calls = [
        asyncio.create_task(first.get_current_tracking_orders("USDT-FUTURES")) for _ in range(50)
    ]
    while len(track_requests(transport)) < 2:
        await asyncio.sleep(0.01)
    started = asyncio.get_running_loop().time()
    await first.close()
    results = await asyncio.gather(*calls, return_exceptions=True)
    closed_at = asyncio.get_running_loop().time() - started
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) >= 45
    assert all(isinstance(e, ea.ClientClosedError) for e in errors), errors
    assert closed_at < 0.1
    sent_by_first = len(track_requests(transport))
    # A second client of the same account is not queued behind the closed one's callers.
    async with client(transport) as second:
        started = asyncio.get_running_loop().time()
        await second.get_current_tracking_orders("USDT-FUTURES")
        assert asyncio.get_running_loop().time() - started < 0.5
    assert len(track_requests(transport)) == sent_by_first + 1
