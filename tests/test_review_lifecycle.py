"""Review findings on the client's lifecycle: ``close()`` ends every call of the client at
once, the ones already waiting for a reply included."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web
from support.servers import ORDER, base_url, hostile_server

import exchange_async as ea
from exchange_async_sim.testing import coinw_rows


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
