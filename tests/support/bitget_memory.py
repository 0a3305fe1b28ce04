"""A Bitget answered in memory by a function of the test's (the SDK's `MemoryTransport`): no
socket, no simulator, so the pipeline's layers run on a virtual clock. The replies are
``exchange_async_sim.testing``'s builders."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import exchange_async as ea
from exchange_async_sim.testing import bitget_reply

KEY, SECRET, PASSPHRASE = "bg-key-0001", "bg-secret-0001", "bg-pass-0001"
TRACK = "/api/v2/copy/mix-trader/order-current-track"
TIME = "/api/v2/public/time"
FAST = ea.RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002, rate_limit_delay=0.001)
"""Retries with back-offs of a millisecond or two."""

Handler = Callable[[ea.TransportRequest], Any]


def reply(data: Any, *, code: str = "00000", status: int = 200, **headers: str) -> Any:
    """A Bitget reply carrying ``data`` (with ``code``, HTTP ``status`` and ``headers``)."""
    body = bitget_reply(data, code=code)
    return ea.TransportResponse(status, {"Content-Type": "application/json", **headers}, body)


def order(n: int) -> dict[str, str]:
    """A current tracking order numbered ``n``, as Bitget sends it (unset stops blank)."""
    return {
        "trackingNo": str(n),
        "openOrderId": str(n),
        "symbol": "BTCUSDT",
        "posSide": "long",
        "openLeverage": "10",
        "openPriceAvg": "100.5",
        "openTime": "1700000000000",
        "openSize": "1",
        "openFee": "0.1",
        "followCount": "0",
        "presetStopSurplusPrice": "",
        "presetStopLossPrice": "",
    }


def bitget_server(track: Handler) -> Handler:
    """A Bitget that answers the time endpoint itself and ``track`` for the orders."""

    def handle(request: ea.TransportRequest) -> Any:
        if request.url.endswith(TIME):
            return reply({"serverTime": str(int(time.time() * 1000))})
        return track(request)

    return handle


def client(transport: ea.Transport, **options: Any) -> ea.BitgetClient:
    """A client of the test key on ``transport`` (`FAST` retries unless ``retry=`` is given)."""
    creds = ea.BitgetCredentials(KEY, SECRET, PASSPHRASE)
    options.setdefault("retry", FAST)
    return ea.BitgetClient(creds, base_url="https://bitget.test", transport=transport, **options)


def track_requests(transport: ea.MemoryTransport) -> list[ea.TransportRequest]:
    """The requests ``transport`` handled for the tracking orders (not the time endpoint)."""
    return [r for r in transport.requests if TRACK in r.url]
