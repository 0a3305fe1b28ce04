"""The transport conformance suite, part one: what the `Transport` seam promises, on every
socket transport (the lean one and aiohttp's), against a raw-socket server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import time
import zlib

import pytest
from support.raw_server import Peer, raw_server, reply
from support.transports import (
    SECRET,
    MakeTransport,
    fails,
    get,
    make_transport,
    send,
    serve_forever,
)

import exchange_async as ea
from exchange_async._core.transport import TransportRequest
from exchange_async._core.transport.lean import LeanTransport

__all__ = ["make_transport"]  # the fixture

# -- the seam ------------------------------------------------------------------------------


async def test_a_get_is_sent_byte_for_byte_and_its_reply_read(
    make_transport: MakeTransport,
) -> None:
    async with raw_server(lambda p: serve_forever(p, reply(b'{"a":1}'))) as server:
        transport = make_transport()
        got = await send(transport, get(server.url + "/v1/x?b=2&a=%2F1"))
    assert (got.status, got.body) == (200, b'{"a":1}')
    assert got.headers["content-length"] == "7"
    head = server.requests[0].decode("latin-1")
    assert head.startswith("GET /v1/x?b=2&a=%2F1 HTTP/1.1\r\n")
    assert f"X-Sig: {SECRET}\r\n" in head
    assert "\r\nHost: 127.0.0.1:" in head
    assert "cookie" not in head.lower()


async def test_a_post_carries_its_body_and_length(make_transport: MakeTransport) -> None:
    async with raw_server(lambda p: serve_forever(p, reply(b"{}"))) as server:
        transport = make_transport()
        request = TransportRequest("POST", server.url + "/p", {"X-Sig": SECRET}, b'{"q":1}')
        got = await send(transport, request)
    assert got.status == 200
    assert server.requests[0].endswith(b'\r\n\r\n{"q":1}')
    assert b"Content-Length: 7\r\n" in server.requests[0]


async def test_keep_alive_reuses_one_connection(make_transport: MakeTransport) -> None:
    async with raw_server(lambda p: serve_forever(p, reply())) as server:
        transport = make_transport()
        for _ in range(5):
            assert (await send(transport, get(server.url + "/"))).body == b"ok"
    assert server.connections == 1
    assert len(server.requests) == 5


async def test_max_connections_caps_the_open_connections(make_transport: MakeTransport) -> None:
    async def slow(peer: Peer) -> None:
        while await peer.read_request() is not None:
            await asyncio.sleep(0.05)
            await peer.send(reply())

    async with raw_server(slow) as server:
        transport = make_transport(max_connections=2)
        replies = await asyncio.gather(*(send(transport, get(server.url + "/")) for _ in range(6)))
    assert [r.status for r in replies] == [200] * 6
    assert server.most_open == 2


async def test_chunked_and_compressed_bodies(make_transport: MakeTransport) -> None:
    payload = b'{"rows":[' + b",".join(b'{"i":%d}' % i for i in range(300)) + b"]}"
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (payload[:100], payload[100:]))
    answers = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked + b"0\r\n\r\n",
        reply(gzip.compress(payload), headers=(b"Content-Encoding: gzip",)),
        reply(zlib.compress(payload), headers=(b"Content-Encoding: deflate",)),
    ]

    async def serve(peer: Peer) -> None:
        for answer in answers:
            if await peer.read_request() is None:
                return
            await peer.send(answer)

    async with raw_server(serve) as server:
        transport = make_transport()
        bodies = [(await send(transport, get(server.url + "/"))).body for _ in answers]
    assert bodies == [payload] * 3


async def test_the_send_hook_runs_once_right_before_the_bytes_leave(
    make_transport: MakeTransport,
) -> None:
    async with raw_server(lambda p: serve_forever(p, reply())) as server:
        transport = make_transport()
        seen: list[int] = []
        for _ in range(3):
            await transport.send(get(server.url + "/"), lambda: seen.append(len(server.requests)))
    assert seen == [0, 1, 2]


async def test_what_the_send_hook_returns_is_awaited_first(make_transport: MakeTransport) -> None:
    arrived: list[float] = []

    async def stamp(peer: Peer) -> None:
        while await peer.read_request() is not None:
            arrived.append(time.monotonic())
            await peer.send(reply())

    waited: list[float] = []

    async def new_slot() -> None:
        await asyncio.sleep(0.1)
        waited.append(time.monotonic())

    async with raw_server(stamp) as server:
        transport = make_transport()
        for _ in range(2):  # a new connection, then a kept-alive one
            assert (await transport.send(get(server.url + "/"), new_slot)).status == 200
    assert len(waited) == len(arrived) == 2
    assert all(a >= w for a, w in zip(arrived, waited, strict=True))


async def test_a_send_hook_error_aborts_before_any_byte(make_transport: MakeTransport) -> None:
    missed = ea.RateLimitWaitTimeout("the slot was missed")

    def refuse() -> None:
        raise missed

    async with raw_server(lambda p: serve_forever(p, reply())) as server:
        transport = make_transport()
        await send(transport, get(server.url + "/first"))
        with pytest.raises(ea.RateLimitWaitTimeout) as info:
            await transport.send(get(server.url + "/never"), refuse)
        assert info.value is missed
        assert (await send(transport, get(server.url + "/after"))).status == 200
    assert [r.split(b" ")[1] for r in server.requests] == [b"/first", b"/after"]


async def test_redirects_and_error_statuses_are_replies(make_transport: MakeTransport) -> None:
    answer = reply(b"", status=b"302 Found", headers=(b"Location: http://127.0.0.1:9/x",))
    async with raw_server(lambda p: serve_forever(p, answer)) as server:
        got = await send(make_transport(), get(server.url + "/"))
    assert got.status == 302
    assert len(server.requests) == 1


async def test_a_closed_transport_refuses(make_transport: MakeTransport) -> None:
    async with raw_server(lambda p: serve_forever(p, reply())) as server:
        transport = make_transport()
        await send(transport, get(server.url + "/"))
        await transport.aclose()
        await transport.aclose()  # idempotent
        await fails(transport, get(server.url + "/"), ea.ClientClosedError)


async def test_closing_fails_a_request_in_flight(make_transport: MakeTransport) -> None:
    async def never(peer: Peer) -> None:
        await peer.read_request()
        await asyncio.sleep(10)

    async with raw_server(never) as server:
        transport = make_transport()
        pending = asyncio.create_task(send(transport, get(server.url + "/")))
        while not server.requests:
            await asyncio.sleep(0.01)
        await transport.aclose()
        with pytest.raises(ea.ClientClosedError):
            await pending


async def test_an_unreachable_server_is_a_transport_error(make_transport: MakeTransport) -> None:
    error = await fails(make_transport(), get("http://127.0.0.1:9/"), ea.TransportError)
    assert not isinstance(error, ea.RequestTimeoutError)


def test_the_lean_transport_runs_on_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")

    async def main() -> list[bytes]:
        async with raw_server(lambda p: serve_forever(p, reply(b"fast"))) as server:
            transport = LeanTransport()
            try:
                return [(await send(transport, get(server.url + "/"))).body for _ in range(3)]
            finally:
                await transport.aclose()

    assert uvloop.run(main()) == [b"fast"] * 3


async def test_a_request_that_times_out_waiting_for_a_connection_gives_back_nothing(
    make_transport: MakeTransport,
) -> None:
    async def slow_first(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            if b"/slow" in request:
                await asyncio.sleep(0.4)
            await peer.send(reply())

    async with raw_server(slow_first) as server:
        transport = make_transport(max_connections=1)
        slow = asyncio.create_task(send(transport, get(server.url + "/slow")))
        await asyncio.sleep(0.05)
        await fails(transport, get(server.url + "/late", timeout=0.1), ea.RequestTimeoutError)
        assert (await slow).status == 200
        replies = await asyncio.gather(*(send(transport, get(server.url + "/")) for _ in range(4)))
    assert [r.status for r in replies] == [200] * 4
    assert server.most_open == 1
    assert b"/late" not in b"".join(server.requests)  # it never left
