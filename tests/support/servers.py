"""Real local HTTP servers whose replies a test chooses (aiohttp's ``TestServer`` on 127.0.0.1):
`hostile_server` for a few routes, `threaded_server` for tests that run several event loops,
`ServerMaker` behind the ``make_server`` fixture (one catch-all handler per server).

The bodies come from ``exchange_async_sim.testing``'s reply builders (``bitget_page``,
``coinw_rows``, ...) and `support.rows`'s documented example rows."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

from aiohttp import web
from aiohttp.test_utils import TestServer

import exchange_async as ea
from exchange_async_sim.testing import bitget_reply

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TRACK = "/api/v2/copy/mix-trader/order-current-track"
TIME = "/api/v2/public/time"
ORDER = "/v1/perpum/order"

KEY, SECRET, PASSPHRASE = "bg-key-pipeline-7f3a", "SECRET-9c1e77d2", "PASSPHRASE-5b20aa41"
"""A Bitget key for tests against these servers (secrets easy to search for in output)."""
CREDS = ea.BitgetCredentials(KEY, SECRET, PASSPHRASE)
NO_RETRY = ea.RetryPolicy(max_attempts=1)


async def server_time(request: web.Request) -> web.Response:
    """Bitget's public time endpoint, answered from the local clock."""
    now = str(int(time.time() * 1000))
    return web.Response(body=bitget_reply({"serverTime": now}), content_type="application/json")


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


class ServerMaker:
    """Starts servers that answer every path with one handler; `close` stops them all (the
    ``make_server`` fixture)."""

    def __init__(self) -> None:
        self._servers: list[TestServer] = []

    async def __call__(self, handler: Handler) -> TestServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        self._servers.append(server)
        return server

    async def close(self) -> None:
        for server in self._servers:
            await server.close()
