"""Paging: cursors followed and rows de-duplicated, the page conversion declared by the endpoint,
and paging that brings nothing new stops (in memory and over a real local server).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from support.bitget_memory import bitget_server, client, order, reply, track_requests
from support.rows import numbered
from support.servers import (
    CREDS,
    TRACK,
    base_url,
    hostile_server,
)

import exchange_async as ea
from exchange_async._core.declarations import Endpoint
from exchange_async.bitget.endpoints import TRACKING_PAGES
from exchange_async_sim.testing import bitget_page


@pytest.mark.virtual_time
async def test_paging_follows_cursors_and_dedupes() -> None:
    pages = {None: ([1, 2], "2"), "2": ([2, 3], "3"), "3": ([], None)}

    def track(request: ea.TransportRequest) -> Any:
        cursor = (
            request.url.split("idLessThan=")[1].split("&")[0]
            if "idLessThan" in request.url
            else None
        )
        ids, end = pages[cursor]
        return reply({"trackingList": [order(i) for i in ids], "endId": end})

    transport = ea.MemoryTransport(bitget_server(track))
    async with client(transport) as bitget:
        first = await bitget.get_current_tracking_orders("USDT-FUTURES")
        assert first.end_id == "2"
        everything = [
            o.tracking_no async for o in bitget.get_current_tracking_orders("USDT-FUTURES")
        ]
        assert everything == ["1", "2", "3"]
        alias = [o.tracking_no async for o in bitget.iter_current_tracking_orders("USDT-FUTURES")]
        assert alias == everything
        sizes = [
            len(p.tracking_list)
            async for p in bitget.iter_current_tracking_order_pages("USDT-FUTURES")
        ]
        assert sizes == [2, 2, 0]


@pytest.mark.virtual_time
async def test_paging_that_brings_nothing_new_stops() -> None:
    # Same rows, a fresh cursor every time: would page forever.
    counter = 0

    def track(request: ea.TransportRequest) -> Any:
        nonlocal counter
        counter += 1
        return reply({"trackingList": [order(1), order(2)], "endId": f"c{counter}"})

    transport = ea.MemoryTransport(bitget_server(track))
    async with client(transport) as bitget:
        with pytest.raises(ea.PaginationError, match="nothing new"):
            async for _ in bitget.get_current_tracking_orders("USDT-FUTURES"):
                pass
    assert len(track_requests(transport)) == 2


@pytest.mark.virtual_time
async def test_the_page_conversion_is_the_endpoints_and_its_failure_a_decode_error() -> None:
    # The cursor is converted by the endpoint's declared conversion, inside the pipeline: an
    # endId the page model cannot hold ends as DecodeError, never a bare exception.
    pages = iter([{"trackingList": [order(1)], "endId": 17}, {"trackingList": [], "endId": ""}])
    transport = ea.MemoryTransport(bitget_server(lambda r: reply(next(pages))))
    async with client(transport) as bitget:
        page = await bitget.get_current_tracking_orders("USDT-FUTURES")
        assert page.end_id == "17"  # a number on the wire, the declared str in the page
        follow = await bitget.get_current_tracking_orders("USDT-FUTURES", id_less_than="17")
        assert follow.end_id is None and follow.tracking_list == []
    assert track_requests(transport)[1].url.endswith("idLessThan=17&productType=USDT-FUTURES")


@pytest.mark.virtual_time
async def test_only_an_endpoint_that_declares_a_cursor_can_be_paged() -> None:
    endpoint: Endpoint[dict[str, int]] = Endpoint("GET", "/flat", (), dict, signed=False)
    async with client(ea.MemoryTransport(lambda r: reply({}))) as bitget:
        with pytest.raises(TypeError, match="cursor_param"):
            bitget._pipeline.paginate(endpoint, {}, TRACKING_PAGES)


async def test_paging_over_a_server_that_brings_nothing_new_stops() -> None:
    cursor = iter(range(10**6, 2 * 10**6))

    async def same_rows(request: web.Request) -> web.Response:
        body = bitget_page(numbered(1), numbered(2), end_id=b'"%d"' % next(cursor))
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
