"""`MemoryTransport`: requests answered by a function, no sockets (httpx's MockTransport)."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable

from ..._errors import ClientClosedError
from .base import OnSent, TransportRequest, TransportResponse

__all__ = ["Handler", "MemoryTransport"]

Handler = Callable[[TransportRequest], TransportResponse | Awaitable[TransportResponse]]
"""Answers one request; may be a plain or an async function. Raise an SDK error to fail it."""


class MemoryTransport:
    """A `Transport` that hands every request to ``handler`` (plain or async function).

    ``on_sent`` is called (and what it returns awaited) before the handler runs, as a socket
    transport calls it right before the headers are written. ``requests`` lists every request
    handled, in order.
    """

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._closed = False
        self.requests: list[TransportRequest] = []

    async def send(self, request: TransportRequest, on_sent: OnSent) -> TransportResponse:
        """Record ``request``, call ``on_sent``, and return the handler's reply."""
        if self._closed:
            raise ClientClosedError("the transport is closed")
        self.requests.append(request)
        waiting = on_sent()
        if waiting is not None:
            await waiting
        reply = self._handler(request)
        if inspect.isawaitable(reply):
            reply = await reply
        return reply

    async def aclose(self) -> None:
        """Refuse further requests. Idempotent."""
        self._closed = True

    def __repr__(self) -> str:
        return f"<MemoryTransport {len(self.requests)} requests>"
