"""Lifecycle across event loops, reply-size caps and secrets, against real local servers."""

from __future__ import annotations

import asyncio
import gc
import gzip
import logging
import socket
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

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
    TRACK,
)
from support.servers import ServerMaker

import exchange_async as ea
from exchange_async_sim import Simulator, SimulatorServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SECRETS = (BITGET_SECRET, BITGET_PASS, COINW_SECRET)


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


def _strings(value: Any, seen: set[int], depth: int = 0) -> Iterator[str]:
    """Every string reachable through containers, and the repr of everything else."""
    if id(value) in seen or depth > 8:
        return
    seen.add(id(value))
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes):
        yield value.decode("latin-1")
    elif isinstance(value, Mapping):
        for key, item in list(value.items()):
            yield from _strings(key, seen, depth + 1)
            yield from _strings(item, seen, depth + 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in list(value):
            yield from _strings(item, seen, depth + 1)
    else:
        try:
            yield repr(value)
        except Exception:
            return


def _exposed(error: BaseException) -> Iterator[str]:
    seen: set[int] = set()
    chain: BaseException | None = error
    while chain is not None:
        yield from _strings(chain.args, seen)
        yield str(chain)
        yield repr(chain)
        yield from _strings(vars(chain), seen)
        tb = chain.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename != __file__:  # this test's own frames hold secrets
                yield from _strings(dict(tb.tb_frame.f_locals), seen)
            tb = tb.tb_next
        chain = chain.__cause__ or chain.__context__


@pytest.mark.parametrize(
    ("fault", "options", "expected"),
    [
        ("disconnect", {}, ea.TransportError),
        ("delay", {"seconds": 1.0}, ea.RequestTimeoutError),
        ("http_500", {}, ea.ExchangeUnavailableError),
        ("html", {}, ea.ExchangeUnavailableError),
        ("rate_limited", {"retry_after": 120}, ea.RateLimitError),
        ("malformed", {}, ea.DecodeError),
    ],
)
async def test_no_secret_in_errors_frames_or_debug_logs(
    server: SimulatorServer,
    sim: Simulator,
    caplog: pytest.LogCaptureFixture,
    fault: str,
    options: dict[str, Any],
    expected: type[ea.ExchangeError],
) -> None:
    caplog.set_level(logging.DEBUG)
    bitget = ea.BitgetClient(
        ea.BitgetCredentials(BITGET_KEY, BITGET_SECRET, BITGET_PASS),
        base_url=server.base_url,
        retry=FAST_RETRY,
        timeout=0.3,
    )
    coinw = ea.CoinWClient(
        ea.CoinWCredentials(COINW_KEY, COINW_SECRET),
        base_url=server.base_url,
        retry=FAST_RETRY,
        timeout=0.3,
    )
    async with bitget, coinw:
        await bitget.get_server_time()
        for path in (TRACK, ORDER):
            sim.inject(path, fault, count=10, **options)  # type: ignore[arg-type]
        errors: list[BaseException] = []
        for call in (
            lambda: bitget.get_current_tracking_orders("USDT-FUTURES"),
            lambda: coinw.get_order_info("plan"),
        ):
            try:
                await call()
            except ea.ExchangeError as caught:
                errors.append(caught)
    assert len(errors) == 2
    for failure in errors:
        assert isinstance(failure, expected), repr(failure)
        exposed = "\n".join(_exposed(failure))
        for secret in SECRETS:
            assert secret not in exposed, (secret, type(failure).__name__)
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert caplog.records
    for secret in SECRETS:
        assert secret not in logged
