"""The seam between the pipeline and the network: one request in, status + headers + body out.

The pipeline never sees an HTTP library. `LeanTransport` (HTTP/1.1 on asyncio protocols,
httptools parsing) is the default for http and https; `AiohttpTransport` (the only module that
imports aiohttp) serves proxies and a caller's own aiohttp session; `MemoryTransport` routes
requests to a function, for tests and for bots that want to run their logic without sockets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = [
    "DEFAULT_MAX_REPLY_BYTES",
    "OnSent",
    "Transport",
    "TransportRequest",
    "TransportResponse",
]

DEFAULT_MAX_REPLY_BYTES = 8 * 1024 * 1024
"""Largest reply body read, after decompression: 8 MiB."""

OnSent = Callable[[], Awaitable[None] | None]
"""The hook a transport calls right before a request's first byte is written. It returns None
(go ahead), or an awaitable the transport must await first: the rate limiter wants the request
to wait for a new start slot (its own passed too long ago). It may raise an SDK error: then
nothing is sent and the transport raises that error."""


@dataclass(frozen=True, slots=True)
class TransportRequest:
    """One HTTP request, ready to go: ``url`` is already encoded and is sent byte for byte.

    ``timeout`` is the seconds allowed for the whole exchange (connect, send, read the reply).
    The repr never shows header values: they carry signatures and passphrases.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    timeout: float = 10.0

    def __repr__(self) -> str:
        names = ", ".join(self.headers)
        return f"TransportRequest({self.method} {self.url}, headers=[{names}])"


@dataclass(frozen=True, slots=True)
class TransportResponse:
    """A complete reply: HTTP status, headers, and the whole (decompressed) body."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __repr__(self) -> str:
        return f"TransportResponse({self.status}, {len(self.body)} bytes)"


class Transport(Protocol):
    """Sends one request and returns the reply; raises only the SDK's own errors.

    A transport raises `TransportError`, `RequestTimeoutError` or `ClientClosedError`, never its
    network library's exceptions, and never chains them (they may hold the signed headers).
    It does not follow redirects or re-send a request by itself: every attempt is one the rate
    limiter counted. The default (lean) transport also finds a kept-alive connection that the
    server has closed before writing to it, and uses a new one: that costs no extra attempt.
    """

    async def send(self, request: TransportRequest, on_sent: OnSent) -> TransportResponse:
        """Send ``request``; call ``on_sent()`` right before its headers are written, and
        await what it returns (if not None) before writing them (see `OnSent`)."""
        ...

    async def aclose(self) -> None:
        """Release connections. Idempotent."""
        ...
