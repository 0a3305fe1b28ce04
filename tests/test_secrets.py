"""Secrets never shown: not in a credentials' repr, an error's message, args, chained cause or
traceback frame locals, nor in a debug log line, whatever fault the exchange answers with.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
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
from hypothesis import given, settings
from hypothesis import strategies as st
from support.exposure import everything_shown

import exchange_async as ea
from exchange_async_sim import Simulator, SimulatorServer

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
