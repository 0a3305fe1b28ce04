"""The simulator's engine as an in-memory transport: a client's requests go to
`Simulator.handle` with no socket, so a test can run on a virtual-time loop.

What only a socket shows (aiohttp's errors, connection pooling, a real timeout) is tested in
test_transport.py, test_lifecycle.py and test_secrets.py against the simulator's HTTP server.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import exchange_async as ea
from exchange_async_sim import SimulatedDisconnect, Simulator


def simulator_transport(sim: Simulator, *, remote: str = "127.0.0.1") -> ea.MemoryTransport:
    """A `MemoryTransport` answering from ``sim`` as if sent from ``remote`` (the IP Bitget's
    per-IP limit counts). It keeps the request's ``timeout`` (a `RequestTimeoutError`) and
    turns a ``disconnect`` fault into a `TransportError`, as the socket transport does."""

    async def handle(request: ea.TransportRequest) -> ea.TransportResponse:
        url = urlsplit(request.url)
        target = f"{url.path}?{url.query}" if url.query else url.path
        failure: ea.TransportError | None = None
        try:
            async with asyncio.timeout(request.timeout):
                status, headers, body = await sim.handle(
                    request.method, target, request.headers, request.body or b"", remote=remote
                )
        except TimeoutError:
            failure = ea.RequestTimeoutError(f"no reply within {request.timeout:g}s")
        except SimulatedDisconnect:
            failure = ea.TransportError("ServerDisconnectedError: server disconnected")
        if failure is not None:
            raise failure  # outside the except: no context, as the socket transport does
        return ea.TransportResponse(status, headers, body)

    return ea.MemoryTransport(handle)
