"""The reply-size cap (``max_reply_bytes``) over a real local server: a declared or chunked body
over it, and a gzip bomb, end in `ReplyTooLargeError` without being retried.
"""

from __future__ import annotations

import gzip
import tracemalloc
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from conftest import (
    COINW_KEY,
    COINW_SECRET,
    FAST_RETRY,
)
from support.servers import (
    CREDS,
    NO_RETRY,
    TRACK,
    ServerMaker,
    base_url,
    hostile_server,
)

import exchange_async as ea


def _coinw(server: TestServer, **options: Any) -> ea.CoinWClient:
    creds = ea.CoinWCredentials(COINW_KEY, COINW_SECRET)
    return ea.CoinWClient(creds, base_url=str(server.make_url("")), retry=FAST_RETRY, **options)


async def test_a_reply_over_the_size_cap_is_refused(
    make_server: ServerMaker,
) -> None:
    big = b'{"code":0,"data":[],"msg":"' + b"x" * (9 * 1024 * 1024) + b'"}'

    async def declared(request: web.Request) -> web.Response:
        return web.Response(body=big, content_type="application/json")

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for i in range(0, len(big), 1 << 20):
            await response.write(big[i : i + (1 << 20)])
        return response

    for handler in (declared, chunked):
        async with _coinw(await make_server(handler)) as coinw:
            with pytest.raises(ea.ReplyTooLargeError):
                await coinw.get_order_info("plan")
            assert coinw.stats.requests == 1  # not retried
        async with _coinw(await make_server(handler), max_reply_bytes=10 * 1024 * 1024) as coinw:
            assert await coinw.get_order_info("plan") == []


async def test_a_gzip_bomb_is_refused(
    make_server: ServerMaker,
) -> None:
    payload = b'{"code":0,"data":[],"msg":"' + b" " * (64 * 1024 * 1024) + b'"}'
    bomb = gzip.compress(payload, compresslevel=9)
    assert len(bomb) < 200 * 1024

    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=bomb,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )

    async with _coinw(await make_server(handler)) as coinw:
        with pytest.raises(ea.ReplyTooLargeError):
            await coinw.get_order_info("plan")


async def test_a_50_mb_reply_is_refused_with_memory_bounded() -> None:
    chunk = b" " * (1 << 20)

    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(b'{"code":"00000","data":{"trackingList":[]},"pad":"')
        for _ in range(50):
            await response.write(chunk)
        await response.write(b'"}')
        return response

    async with (
        hostile_server({TRACK: huge}) as server,
        ea.BitgetClient(CREDS, base_url=base_url(server), retry=NO_RETRY) as client,
    ):
        tracemalloc.start()
        try:
            with pytest.raises(ea.ExchangeError):
                await client.get_current_tracking_orders("USDT-FUTURES")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 25 * 2**20


async def test_a_gzip_bomb_is_refused_with_memory_bounded() -> None:
    bomb = gzip.compress(b'{"code":"00000","data":{"trackingList":[]},"pad":"' + b" " * (100 << 20))
    assert len(bomb) < 200 * 1024

    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )

    async with (
        hostile_server({TRACK: handler}) as server,
        ea.BitgetClient(CREDS, base_url=base_url(server), retry=NO_RETRY) as client,
    ):
        tracemalloc.start()
        try:
            with pytest.raises(ea.ExchangeError):
                await client.get_current_tracking_orders("USDT-FUTURES")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 25 * 2**20
