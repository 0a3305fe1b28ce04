"""Hostile servers and lifecycles against the public API, one test per pipeline defect of
issue 8, over real local HTTP servers. The fixes land with the pipeline re-layering ("core"
branch).
"""

from __future__ import annotations

import asyncio
import gc
import gzip
import logging
import time
import traceback
import tracemalloc
import warnings
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import pytest
from aiohttp import web
from support.rows import BITGET_ROW
from support.servers import ORDER, TRACK, base_url, hostile_server, replying, threaded_server

import exchange_async as ea
from exchange_async_sim.testing import bitget_page, coinw_rows

KEY, SECRET, PASSPHRASE = "bg-key-pipeline-7f3a", "SECRET-9c1e77d2", "PASSPHRASE-5b20aa41"
CREDS = ea.BitgetCredentials(KEY, SECRET, PASSPHRASE)
NO_RETRY = ea.RetryPolicy(max_attempts=1)


def _row(tracking_no: int) -> bytes:
    return BITGET_ROW.replace(b'"1231231231"', b'"%d"' % tracking_no)


# -- deep nesting --------------------------------------------------------------------------------


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    "body",
    [
        b'{"x":' + _nested(1000) + b',"code":"00000","data":{"trackingList":[]}}',
        b'{"code":"00000","data":{"trackingList":[],"endId":"1","y":' + _nested(1000) + b"}}",
        bitget_page(BITGET_ROW[:-1] + b',"deep":' + _nested(100_000) + b"}"),
    ],
)
async def test_deeply_nested_reply_is_a_decode_error(body: bytes) -> None:
    async with (
        hostile_server({TRACK: replying(body)}) as server,
        ea.BitgetClient(CREDS, base_url=base_url(server), retry=NO_RETRY) as client,
    ):
        with pytest.raises(ea.DecodeError):
            await client.get_current_tracking_orders("USDT-FUTURES")


async def test_poller_keeps_an_account_going_through_nested_replies() -> None:
    replies = iter([b'{"x":' + _nested(1000) + b"}"] * 3)

    async def handler(request: web.Request) -> web.Response:
        if "idLessThan" in request.query:
            return web.Response(body=bitget_page(end_id=b"null"), content_type="application/json")
        body = next(replies, bitget_page(_row(1)))
        return web.Response(body=body, content_type="application/json")

    kinds: list[str] = []
    poller = ea.Poller(interval=0, backoff=0.01, max_backoff=0.02, retry=NO_RETRY)
    async with hostile_server({TRACK: handler}) as server, poller:
        poller.add_bitget("deep", CREDS, base_url=base_url(server))
        async with asyncio.timeout(10):
            async for event in poller:
                kinds.append(type(event).__name__)
                if isinstance(event, ea.OrderOpened):
                    break
    assert kinds[:3] == ["AccountError"] * 3
    assert "AccountStopped" not in kinds and kinds[-1] == "OrderOpened"


# -- Retry-After ---------------------------------------------------------------------------------


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


# -- paging without progress ---------------------------------------------------------------------


async def test_paging_that_brings_nothing_new_stops() -> None:
    cursor = iter(range(10**6, 2 * 10**6))

    async def same_rows(request: web.Request) -> web.Response:
        body = bitget_page(_row(1), _row(2), end_id=b'"%d"' % next(cursor))
        return web.Response(body=body, content_type="application/json")

    seen: list[str] = []
    async with (
        hostile_server({TRACK: same_rows}) as server,
        ea.BitgetClient(CREDS, base_url=base_url(server)) as client,
        asyncio.timeout(10),
    ):
        with pytest.raises(ea.PaginationError):  # noqa: PT012 (the loop is the call)
            async for order in client.iter_current_tracking_orders("USDT-FUTURES"):
                seen.append(order.tracking_no)
    assert seen == ["1", "2"]


# -- closing with callers queued -----------------------------------------------------------------


async def test_close_wakes_every_queued_caller_at_once() -> None:
    async with hostile_server({TRACK: replying(bitget_page(_row(1)))}) as server:
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


# -- two event loops -----------------------------------------------------------------------------


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


# -- reply size ----------------------------------------------------------------------------------


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


# -- secrets -------------------------------------------------------------------------------------


def _texts(value: object, depth: int = 0, seen: set[int] | None = None) -> Iterator[str]:
    """Every string reachable from ``value`` through containers, plus every object's repr."""
    seen = set() if seen is None else seen
    if id(value) in seen or depth > 6:
        return
    seen.add(id(value))
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes | bytearray):
        yield bytes(value).decode("latin-1")
    elif isinstance(value, dict):
        for k, v in list(value.items()):
            yield from _texts(k, depth + 1, seen)
            yield from _texts(v, depth + 1, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in list(value):
            yield from _texts(item, depth + 1, seen)
    else:
        try:
            yield repr(value)
        except Exception:
            return
        headers = getattr(value, "headers", None)  # a request/response object's headers
        if headers is not None and headers is not value:
            yield from _texts(dict(headers), depth + 1, seen)


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__]


def _everything_shown(error: BaseException, records: list[logging.LogRecord]) -> Iterator[str]:
    for link in _chain(error):
        yield str(link)
        yield repr(link)
        yield from _texts(link.args)
        yield from _texts(vars(link) if hasattr(link, "__dict__") else {})
        tb: TracebackType | None = link.__traceback__
        for frame, _ in traceback.walk_tb(tb):
            if frame.f_code.co_filename != __file__:  # the test's own frame holds what it sent
                yield from _texts(dict(frame.f_locals))
    for record in records:
        yield record.getMessage()
        yield from _texts(record.args)
        if record.exc_info and record.exc_info[1] is not None:
            yield from _everything_shown(record.exc_info[1], [])


async def _reset(request: web.Request) -> web.StreamResponse:
    assert request.transport is not None
    request.transport.close()
    return web.Response()


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(2)
    return web.Response(body=bitget_page())


FAILURES: dict[str, Any] = {
    "auth": replying(b'{"code":"40009","msg":"sign signature error"}', status=400),
    "decode": replying(b'{"code":"00000","data":{"trackingList":[{"openFee":"NaN"}]}}'),
    "html": replying(b"<html>bad gateway</html>", status=502),
    "reset": _reset,
    "timeout": _slow,
}


@pytest.mark.parametrize(
    "kind",
    list(FAILURES),
)
async def test_no_secret_in_frame_locals_exceptions_logs_or_reprs(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    signatures: list[str] = []

    async def recording(request: web.Request) -> web.StreamResponse:
        signatures.append(request.headers.get("ACCESS-SIGN", ""))
        response: web.StreamResponse = await FAILURES[kind](request)
        return response

    caplog.set_level(logging.DEBUG)
    async with (
        hostile_server({TRACK: recording}) as server,
        ea.BitgetClient(CREDS, base_url=base_url(server), retry=NO_RETRY, timeout=0.5) as client,
    ):
        with pytest.raises(ea.ExchangeError) as caught:
            await client.get_current_tracking_orders("USDT-FUTURES")
        shown = list(_everything_shown(caught.value, caplog.records))
        shown += [repr(client), str(client), repr(CREDS), str(CREDS)]
    assert signatures and all(signatures)
    secrets = [SECRET, PASSPHRASE, *signatures]
    leaks = [s for s in secrets if any(s in text for text in shown)]
    assert leaks == []
