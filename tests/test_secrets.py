"""Secrets never shown: not in a credentials' repr, an error's message, args, chained cause or
traceback frame locals, nor in a debug log line, whatever fault the exchange answers with.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from aiohttp import web
from conftest import (
    BITGET_KEY,
    BITGET_PASS,
    BITGET_SECRET,
    COINW_KEY,
    COINW_SECRET,
    FAST_RETRY,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from support.exposure import everything_shown
from support.servers import (
    CREDS,
    NO_RETRY,
    ORDER,
    PASSPHRASE,
    SECRET,
    TRACK,
    base_url,
    hostile_server,
    replying,
)

import exchange_async as ea
from exchange_async_sim import Simulator, SimulatorServer
from exchange_async_sim.testing import bitget_page

SECRETS = (BITGET_SECRET, BITGET_PASS, COINW_SECRET)


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
        exposed = "\n".join(everything_shown(failure, skip=__file__))
        for secret in SECRETS:
            assert secret not in exposed, (secret, type(failure).__name__)
    assert caplog.records
    logged = "\n".join(everything_shown(Exception(), caplog.records, skip=__file__))
    for secret in SECRETS:
        assert secret not in logged


@settings(max_examples=200, deadline=2000)
@given(st.text(max_size=20), st.text(max_size=20), st.text(max_size=20))
def test_credentials_never_show_their_secrets(key: Any, secret: str, passphrase: str) -> None:
    secret, passphrase = "SECRET-" + secret, "PASSPHRASE-" + passphrase
    try:
        credentials = ea.BitgetCredentials(key, secret, passphrase)
    except ea.ValidationError as error:
        texts = [str(error), repr(error)]
    else:
        texts = [repr(credentials), str(credentials)]
    for text in texts:
        assert secret not in text and passphrase not in text
    if texts[0].startswith("BitgetCredentials") and len(key) > 8:
        assert key not in texts[0]


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
        shown = list(everything_shown(caught.value, caplog.records, skip=__file__))
        shown += [repr(client), str(client), repr(CREDS), str(CREDS)]
    assert signatures and all(signatures)
    secrets = [SECRET, PASSPHRASE, *signatures]
    leaks = [s for s in secrets if any(s in text for text in shown)]
    assert leaks == []
