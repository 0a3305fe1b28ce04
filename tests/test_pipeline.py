"""The pipeline's layers over the in-memory transport: no sockets, no simulator.

Each test answers requests with a small function and checks what the client sent, what it
raised, and how many attempts it made.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from support.bitget_memory import (
    PASSPHRASE,
    SECRET,
    TIME,
    TRACK,
    bitget_server,
    client,
    order,
    reply,
    track_requests,
)

import exchange_async as ea
from exchange_async.bitget import auth as bitget_auth

pytestmark = pytest.mark.virtual_time  # no sockets: back-offs and limits in no real time


async def test_one_request_signed_with_static_headers_apart() -> None:
    transport = ea.MemoryTransport(bitget_server(lambda r: reply({"trackingList": [order(1)]})))
    async with client(transport, demo_trading=True) as bitget:
        page = await bitget.get_current_tracking_orders("usdt-futures", limit=5)
    assert [o.tracking_no for o in page.tracking_list] == ["1"]
    sent = track_requests(transport)[0]
    assert sent.url == f"https://bitget.test{TRACK}?limit=5&productType=USDT-FUTURES"
    assert sent.headers["paptrading"] == "1"
    assert sent.headers["locale"] == "en-US"
    assert sent.headers["ACCESS-PASSPHRASE"] == PASSPHRASE
    assert PASSPHRASE not in repr(sent)
    assert SECRET not in repr(sent)


async def test_absent_data_is_what_the_endpoint_declares() -> None:
    transport = ea.MemoryTransport(lambda r: reply(None))  # the time endpoint too
    async with client(transport) as bitget:
        page = await bitget.get_current_tracking_orders("USDT-FUTURES")
        assert page.tracking_list == [] and page.end_id is None
        with pytest.raises(ea.DecodeError, match="no data"):
            await bitget.get_server_time()


async def test_a_clock_the_server_rejects_is_measured_again_once() -> None:
    rejected = 0

    def track(request: ea.TransportRequest) -> Any:
        nonlocal rejected
        if rejected < 1:
            rejected += 1
            return reply(None, code="40008", status=400)
        return reply({"trackingList": []})

    transport = ea.MemoryTransport(bitget_server(track))
    async with client(transport) as bitget:
        await bitget.get_current_tracking_orders("USDT-FUTURES")
    kinds = ["time" if r.url.endswith(TIME) else "track" for r in transport.requests]
    assert kinds == ["time", "track", "time", "track"]


async def test_unsigned_requests_share_one_header_mapping_and_signed_ones_get_their_own() -> None:
    transport = ea.MemoryTransport(bitget_server(lambda r: reply({"trackingList": [order(1)]})))
    async with client(transport, demo_trading=True) as bitget:
        await bitget.get_server_time()
        await bitget.get_server_time()
        await bitget.get_current_tracking_orders("USDT-FUTURES")
        await bitget.get_current_tracking_orders("USDT-FUTURES")
    public = [r for r in transport.requests if r.url.endswith(TIME)]
    signed = track_requests(transport)
    assert len(public) == 3 and len(signed) == 2  # the clock measured once, then two calls
    assert public[0].headers is public[1].headers is public[2].headers
    assert "ACCESS-SIGN" not in public[0].headers
    first, second = signed
    assert first.headers is not second.headers
    for sent in signed:  # each signed request: the static headers plus its own signature
        assert sent.headers["paptrading"] == "1" and sent.headers["locale"] == "en-US"
        assert set(sent.headers) >= {"ACCESS-KEY", "ACCESS-SIGN", "ACCESS-TIMESTAMP"}
        path = sent.url.removeprefix("https://bitget.test")
        expected = bitget_auth.sign(SECRET, int(sent.headers["ACCESS-TIMESTAMP"]), "GET", path)
        assert sent.headers["ACCESS-SIGN"] == expected


async def test_concurrent_first_calls_and_clients_share_one_clock_measurement() -> None:
    # The clock step measures once per server and event loop: eight first calls of two clients
    # of one server make one time request, and every signed request carries a timestamp.
    transport = ea.MemoryTransport(bitget_server(lambda r: reply({"trackingList": []})))
    async with client(transport) as one, client(transport) as two:
        calls = [c.get_current_tracking_orders("USDT-FUTURES") for c in (one, two) * 4]
        await asyncio.gather(*calls)
    kinds = ["time" if r.url.endswith(TIME) else "track" for r in transport.requests]
    assert kinds == ["time"] + ["track"] * 8
    assert all("ACCESS-TIMESTAMP" in r.headers for r in track_requests(transport))


async def test_a_failed_clock_measurement_is_not_repeated_on_every_call() -> None:
    # The server's time unavailable: the local clock is used, and the next calls do not ask
    # again (only a rejected timestamp does).
    def handle(request: ea.TransportRequest) -> Any:
        if request.url.endswith(TIME):
            return ea.TransportResponse(404, {}, b"not here")
        return reply({"trackingList": []})

    transport = ea.MemoryTransport(handle)
    async with client(transport) as bitget:
        for _ in range(3):
            await bitget.get_current_tracking_orders("USDT-FUTURES")
    kinds = ["time" if r.url.endswith(TIME) else "track" for r in transport.requests]
    assert kinds == ["time", "track", "track", "track"]
