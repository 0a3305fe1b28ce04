"""Answering a client yourself: exchange replies from the simulator's builders, no server.

``exchange_async_sim.testing`` builds the bodies Bitget and CoinW send (the envelopes, the
documented example rows, error replies); the SDK's `MemoryTransport` hands every request to a
function of yours instead of a socket. Run it with ``python docs/examples/reply_builders.py``.
"""

from __future__ import annotations

import asyncio
import time

import exchange_async as ea
from exchange_async_sim.testing import (
    bitget_error,
    bitget_page,
    bitget_reply,
    bitget_tracking_row,
    coinw_error,
    coinw_order_row,
    coinw_rows,
)

JSON = {"Content-Type": "application/json"}


def bitget(request: ea.TransportRequest) -> ea.TransportResponse:
    """Bitget: its server time, then one page of two orders (the second without a stop loss)."""
    if request.url.endswith("/api/v2/public/time"):
        now = str(int(time.time() * 1000))
        return ea.TransportResponse(200, JSON, bitget_reply({"serverTime": now}))
    if "productType=COIN-FUTURES" in request.url:  # this key may not trade coin futures
        return ea.TransportResponse(400, JSON, bitget_error("40014", "Incorrect permissions"))
    rows = [
        bitget_tracking_row(trackingNo="2", openSize="0.5"),
        bitget_tracking_row(trackingNo="1", presetStopLossPrice=""),
    ]
    return ea.TransportResponse(200, JSON, bitget_page(*rows, end_id="1"))


def coinw(request: ea.TransportRequest) -> ea.TransportResponse:
    """CoinW: two unfilled plan orders, then its rate-limit refusal."""
    if len(transports["coinw"].requests) > 1:
        return ea.TransportResponse(200, JSON, coinw_error(29001, "Too many requests"))
    rows = coinw_order_row(id=33308741701971947), coinw_order_row(id=7, instrument="ETH")
    return ea.TransportResponse(200, JSON, coinw_rows(*rows))


transports = {"bitget": ea.MemoryTransport(bitget), "coinw": ea.MemoryTransport(coinw)}


async def main() -> None:
    creds = ea.BitgetCredentials("key", "secret", "passphrase")
    async with ea.BitgetClient(creds, transport=transports["bitget"]) as client:
        page = await client.get_current_tracking_orders("USDT-FUTURES")
        for order in page.tracking_list:
            print(order.tracking_no, order.open_size, order.preset_stop_loss_price)
        try:
            await client.get_current_tracking_orders("COIN-FUTURES")
        except ea.PermissionDeniedError as error:
            print("refused:", error.code)

    no_retry = ea.RetryPolicy(max_attempts=1)
    coinw_creds = ea.CoinWCredentials("key", "secret")
    async with ea.CoinWClient(coinw_creds, transport=transports["coinw"], retry=no_retry) as client:
        print([order.id for order in await client.get_order_info("plan")])
        try:
            await client.get_order_info("plan")
        except ea.RateLimitError as error:
            print("rate limited:", error.code)


asyncio.run(main())
