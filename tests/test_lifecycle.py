"""The client's lifecycle: it follows the event loop (a second ``asyncio.run`` works), and
``close()`` ends every call at once, the ones already waiting for a reply included, while a
caller's own cancellation stays a cancellation.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import time

import pytest
from aiohttp import web
from conftest import (
    COINW_KEY,
    COINW_SECRET,
    FAST_RETRY,
    ORDER,
)
from support.servers import base_url, hostile_server

import exchange_async as ea
from exchange_async_sim import Simulator, SimulatorServer
from exchange_async_sim.testing import coinw_rows


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
