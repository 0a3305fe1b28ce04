"""Shared pieces of the hostile-input tests: a real local server whose replies a test chooses,
and replies built from the exchanges' documented examples."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TRACK = "/api/v2/copy/mix-trader/order-current-track"
TIME = "/api/v2/public/time"
ORDER = "/v1/perpum/order"

BITGET_ROW = (
    b'{"trackingNo":"1231231231","openOrderId":"123123123123","symbol":"BTCUSDT",'
    b'"posSide":"long","openLeverage":"20","openPriceAvg":"26248.9",'
    b'"openTime":"1695801595658","openSize":"0.1000000000000000",'
    b'"presetStopSurplusPrice":"27561.34","presetStopLossPrice":"25855.16",'
    b'"openFee":"-2.62489","followCount":"1"}'
)
BITGET_MONEY = {
    "open_leverage": b'"openLeverage":"20"',
    "open_price_avg": b'"openPriceAvg":"26248.9"',
    "open_size": b'"openSize":"0.1000000000000000"',
    "open_fee": b'"openFee":"-2.62489"',
    "preset_stop_surplus_price": b'"presetStopSurplusPrice":"27561.34"',
    "preset_stop_loss_price": b'"presetStopLossPrice":"25855.16"',
}

COINW_ROW = (
    b'{"baseSize":0.002,"contractType":1,"createdDate":1740905644000,"currentPiece":2,'
    b'"direction":"long","fee":"0","frozenFee":"0.0168","id":33308741701971947,'
    b'"indexPrice":85880.1,"instrument":"BTC","leverage":2,"liquidateBy":"manual",'
    b'"makerFee":"0.0001","margin":84,"orderPrice":84000,"orderStatus":"unFinish",'
    b'"originalType":"plan","posType":"plan","positionMargin":84,"positionModel":0,'
    b'"quantity":100,"quantityUnit":0,"source":"api","status":"open","stopLossPrice":83000,'
    b'"stopLossRate":0.02380952,"stopProfitPrice":95000,"stopProfitRate":0.2619048,'
    b'"takerFee":"0.0006","thirdOrderId":"103-12-53","totalPiece":2,"triggerPrice":84400,'
    b'"triggerType":1,"updatedDate":1740905777000,"userId":1162061}'
)
COINW_MONEY = {
    "base_size": b'"baseSize":0.002',
    "fee": b'"fee":"0"',
    "index_price": b'"indexPrice":85880.1',
    "margin": b'"margin":84',
    "order_price": b'"orderPrice":84000',
    "stop_loss_price": b'"stopLossPrice":83000',
    "trigger_price": b'"triggerPrice":84400',
}


def bitget_page(*rows: bytes, end_id: bytes = b'"1"') -> bytes:
    """A successful ``order-current-track`` reply carrying ``rows``."""
    return (
        b'{"code":"00000","msg":"success","requestTime":1695801601016,"data":{"trackingList":['
        + b",".join(rows)
        + b'],"endId":'
        + end_id
        + b"}}"
    )


def coinw_reply(*rows: bytes) -> bytes:
    """A successful ``GET /v1/perpum/order`` reply carrying ``rows``."""
    return b'{"code":0,"data":[' + b",".join(rows) + b'],"msg":""}'


def with_value(row: bytes, field: bytes, value: bytes) -> bytes:
    """``row`` with the ``"key":value`` pair ``field`` given ``value`` instead."""
    key = field.split(b":", 1)[0]
    assert field in row
    return row.replace(field, key + b":" + value)


async def server_time(request: web.Request) -> web.Response:
    """Bitget's public time endpoint, answered from the local clock."""
    now = str(int(time.time() * 1000))
    return web.json_response({"code": "00000", "msg": "success", "data": {"serverTime": now}})


@asynccontextmanager
async def hostile_server(routes: dict[str, Handler]) -> AsyncIterator[TestServer]:
    """A real HTTP server on 127.0.0.1 answering ``routes`` (path -> handler); Bitget's time
    endpoint is answered honestly unless ``routes`` overrides it."""
    app = web.Application()
    app.router.add_get(TIME, routes.get(TIME, server_time))
    for path, handler in routes.items():
        if path != TIME:
            app.router.add_route("*", path, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


def base_url(server: TestServer) -> str:
    """The ``http://127.0.0.1:port`` of a running test server."""
    return str(server.make_url("")).rstrip("/")


def replying(body: bytes, status: int = 200, **headers: str) -> Handler:
    """A handler that answers every request with ``body``."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=body, status=status, headers=headers, content_type="application/json"
        )

    return handler


@contextmanager
def threaded_server(routes: dict[str, Handler]) -> Iterator[str]:
    """`hostile_server` on its own event loop in a thread, for tests that run several loops;
    yields its base URL."""
    ready = threading.Event()
    stop: list[asyncio.Future[None]] = []
    url: list[str] = []

    async def serve() -> None:
        async with hostile_server(routes) as server:
            url.append(base_url(server))
            stop.append(asyncio.get_running_loop().create_future())
            ready.set()
            await stop[0]

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield url[0]
    finally:
        loop.call_soon_threadsafe(stop[0].set_result, None)
        thread.join(10)
        loop.close()
