"""The HTTP adapter: an aiohttp app over :meth:`Simulator.handle`, and a runner that serves
a :class:`Simulator` on a TCP port. The only module that imports ``aiohttp.web``.

The runner stamps each request with the moment its bytes reached the host (the kernel's
receive timestamp, see `stamping`), not when the handler started: the simulator's own loop
lag must not bunch arrivals its rate windows judge."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from .engine import SimulatedDisconnect, Simulator
from .stamping import stamping_listener

__all__ = ["SIMULATOR_KEY", "SimulatorServer", "make_app", "serve_forever"]

SIMULATOR_KEY: web.AppKey[Simulator] = web.AppKey("simulator")
"""Where the app keeps its :class:`Simulator`: ``app[SIMULATOR_KEY]``."""


ReceivedAt = Callable[[Any], "float | None"]
"""When the last bytes from a peer address reached the host (``time.time()`` seconds)."""


def make_app(sim: Simulator, received_at: ReceivedAt | None = None) -> web.Application:
    """An aiohttp application that answers every method and path with ``sim.handle``;
    ``received_at(peer)`` (see `stamping`) dates each request's arrival."""

    async def handle(request: web.Request) -> web.StreamResponse:
        received = None
        if received_at is not None and request.transport is not None:
            received = received_at(request.transport.get_extra_info("peername"))
        body = await request.read() if request.body_exists else b""
        try:
            status, headers, payload = await sim.handle(
                request.method,
                request.raw_path,
                request.headers,
                body,
                remote=request.remote or "",
                received=received,
            )
        except SimulatedDisconnect:
            transport = request.transport
            if transport is not None:
                transport.close()
            return web.Response(status=500)  # never reaches the client: the socket is closed
        return web.Response(status=status, body=payload, headers=headers)

    app = web.Application()
    app[SIMULATOR_KEY] = sim
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


class SimulatorServer:
    """Serves a simulator on ``host:port`` (``port=0`` picks a free port) while in use.

    When ``sim.config.mutation_interval`` is set (and the driver is not already running),
    :meth:`start` starts the simulator's background mutation driver once the port is open and
    :meth:`close` stops it again before the port closes.

    ::

        async with SimulatorServer(sim) as server:
            ... server.base_url ...
    """

    def __init__(
        self,
        sim: Simulator,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        shutdown_timeout: float = 1.0,
    ) -> None:
        self.sim = sim
        self.host = host
        self._requested_port = port
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._owns_mutations = False

    @property
    def port(self) -> int:
        """The port actually listened on."""
        if self._port is None:
            raise RuntimeError("the simulator server is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server (loopback when bound to all
        interfaces), without a trailing slash."""
        host = self.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Start listening (a fresh aiohttp app each time, bound to the running loop)."""
        if self._runner is not None:
            raise RuntimeError("the simulator server is already running")
        listener = stamping_listener(self.host, self._requested_port)
        runner = web.AppRunner(
            make_app(self.sim, None if listener is None else listener.received_at),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=self._shutdown_timeout,
        )
        await runner.setup()
        try:
            site: web.BaseSite
            if listener is None:
                site = web.TCPSite(runner, self.host, self._requested_port)
            else:
                site = web.SockSite(runner, listener)
            await site.start()
            self._port = int(runner.addresses[0][1])
        except BaseException:
            await runner.cleanup()
            if listener is not None:
                listener.close()
            raise
        self._runner = runner
        if self.sim.config.mutation_interval is not None and not self.sim.mutations_running:
            self.sim.start_mutations()
            self._owns_mutations = True

    async def close(self) -> None:
        """Stop the mutation driver if :meth:`start` started it, then stop listening and
        close every connection."""
        runner, self._runner = self._runner, None
        self._port = None
        owns, self._owns_mutations = self._owns_mutations, False
        try:
            if owns:
                await self.sim.stop_mutations()
        finally:
            if runner is not None:
                await runner.cleanup()

    async def __aenter__(self) -> SimulatorServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def serve_forever(
    sim: Simulator,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    on_ready: Callable[[str], object] | None = None,
) -> None:
    """Serve ``sim`` until cancelled. Prints nothing; ``on_ready(base_url)`` is called once
    the port is open (useful with ``port=0``)."""
    async with SimulatorServer(sim, host, port) as server:
        if on_ready is not None:
            on_ready(server.base_url)
        await asyncio.Event().wait()
