"""Shared pieces of the transport conformance suite: a fixture making each socket transport
(the lean one and aiohttp's), and helpers that send and check that a failure is clean."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import pytest

import exchange_async as ea
from exchange_async._core.transport import TransportRequest, TransportResponse
from exchange_async._core.transport.aiohttp import AiohttpTransport
from exchange_async._core.transport.lean import LeanTransport
from support.raw_server import Peer

SECRET = "sig-5ecret-value"


class SocketTransport(Protocol):
    async def send(
        self, request: TransportRequest, on_sent: Callable[[], Awaitable[None] | None]
    ) -> TransportResponse: ...

    async def aclose(self) -> None: ...


MakeTransport = Callable[..., SocketTransport]


@pytest.fixture(params=["lean", "aiohttp"])
async def make_transport(request: pytest.FixtureRequest) -> AsyncIterator[MakeTransport]:
    made: list[SocketTransport] = []
    kind: str = request.param

    def make(**options: Any) -> SocketTransport:
        transport: SocketTransport = (
            LeanTransport(**options) if kind == "lean" else AiohttpTransport(**options)
        )
        made.append(transport)
        return transport

    make.kind = kind  # type: ignore[attr-defined]
    yield make
    for transport in made:
        await transport.aclose()


def get(url: str, timeout: float = 5.0, **headers: str) -> TransportRequest:
    return TransportRequest("GET", url, {"X-Sig": SECRET, **headers}, None, timeout)


def nothing() -> None:
    return None


async def send(transport: SocketTransport, request: TransportRequest) -> TransportResponse:
    return await transport.send(request, nothing)


async def fails(
    transport: SocketTransport, request: TransportRequest, expected: type[ea.ExchangeError]
) -> ea.ExchangeError:
    """The SDK error ``request`` fails with, checked clean: not chained, no secret in it."""
    with pytest.raises(expected) as info:
        await send(transport, request)
    error = info.value
    assert error.__cause__ is None
    assert error.__context__ is None
    assert SECRET not in repr(error) and SECRET not in str(error.args)
    tb = error.__traceback__
    while tb is not None:
        assert SECRET not in repr(dict(tb.tb_frame.f_locals)), tb.tb_frame.f_code.co_name
        tb = tb.tb_next
    return error


async def serve_forever(peer: Peer, answer: bytes) -> None:
    while await peer.read_request() is not None:
        await peer.send(answer)
