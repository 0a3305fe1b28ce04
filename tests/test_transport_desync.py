"""A reply must never be read as another request's: hostile servers and cancellations that
try to leave a pooled keep-alive connection out of step, against every socket transport."""

from __future__ import annotations

import asyncio
import time

from support.raw_server import Peer, raw_server, reply
from support.transports import MakeTransport, fails, get, make_transport, send

import exchange_async as ea

__all__ = ["make_transport"]  # the fixture


def path_of(request: bytes) -> bytes:
    return request.split(b" ", 2)[1]


async def test_a_request_cancelled_before_its_reply_leaves_no_reply_for_the_next(
    make_transport: MakeTransport,
) -> None:
    async def serve(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            path = path_of(request)
            if path == b"/slow":
                await asyncio.sleep(0.3)
            await peer.send(reply(path))

    async with raw_server(serve) as server:
        transport = make_transport(max_connections=1)
        slow = asyncio.ensure_future(send(transport, get(server.url + "/slow")))
        await asyncio.sleep(0.1)
        slow.cancel()
        await asyncio.gather(slow, return_exceptions=True)
        for name in (b"/a", b"/b", b"/c"):
            async with asyncio.timeout(5):
                got = await send(transport, get(server.url + name.decode()))
            assert got.body == name


async def test_a_request_cancelled_mid_body_leaves_no_bytes_for_the_next(
    make_transport: MakeTransport,
) -> None:
    async def serve(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            path = path_of(request)
            if path == b"/half":
                body = b"H" * 2000
                await peer.send(reply(body)[:-1000])
                await asyncio.sleep(0.3)
                await peer.send(body[-1000:])
            else:
                await peer.send(reply(path))

    async with raw_server(serve) as server:
        transport = make_transport(max_connections=1)
        half = asyncio.ensure_future(send(transport, get(server.url + "/half")))
        await asyncio.sleep(0.1)
        half.cancel()
        await asyncio.gather(half, return_exceptions=True)
        async with asyncio.timeout(5):
            got = await send(transport, get(server.url + "/next"))
        assert got.body == b"/next"


async def test_a_body_on_a_304_is_not_waited_for_nor_read_as_the_next_reply(
    make_transport: MakeTransport,
) -> None:
    # RFC 9112 6.3: a 304 (or 204, 1xx) has no body, whatever Content-Length says.
    async def serve(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            path = path_of(request)
            if path == b"/cached":
                await peer.send(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n")
            else:
                await peer.send(reply(path))

    async with raw_server(serve) as server:
        transport = make_transport(max_connections=1)
        async with asyncio.timeout(5):
            first = await send(transport, get(server.url + "/cached", timeout=2.0))
            second = await send(transport, get(server.url + "/next", timeout=2.0))
    assert first.status == 304 and first.body == b""
    assert second.body == b"/next"


async def test_a_connection_the_server_closed_after_a_reply_is_not_a_hang(
    make_transport: MakeTransport,
) -> None:
    # The server answers keep-alive (no "Connection: close") and then closes: the next request
    # goes on a new connection, or fails with an SDK error; never waits for its timeout.
    async def serve(peer: Peer) -> None:
        request = await peer.read_request()
        if request is not None:
            await peer.send(reply(path_of(request)))

    async with raw_server(serve) as server:
        transport = make_transport(max_connections=1)
        assert (await send(transport, get(server.url + "/one"))).body == b"/one"
        await asyncio.sleep(0.1)  # the close has arrived
        started = time.monotonic()
        outcome: object
        try:
            outcome = await send(transport, get(server.url + "/two", timeout=3.0))
        except ea.TransportError as error:
            outcome = error
        if isinstance(outcome, ea.TransportError):
            assert not isinstance(outcome, ea.RequestTimeoutError)
        else:
            assert getattr(outcome, "body", None) == b"/two"
        assert time.monotonic() - started < 1.0


async def test_two_different_content_lengths_are_refused(make_transport: MakeTransport) -> None:
    # RFC 9112 6.3 (5): differing Content-Length values are an unrecoverable framing error.
    async def serve(peer: Peer) -> None:
        while await peer.read_request() is not None:
            await peer.send(
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 12\r\n\r\nfirstHTTP/1.1"
            )

    async with raw_server(serve) as server:
        await fails(make_transport(), get(server.url + "/", timeout=2.0), ea.TransportError)


async def test_endless_interim_replies_end_at_the_timeout(make_transport: MakeTransport) -> None:
    async def serve(peer: Peer) -> None:
        await peer.read_request()
        for _ in range(400):
            await peer.send(b"HTTP/1.1 102 Processing\r\n\r\n")
            await asyncio.sleep(0.01)

    async with raw_server(serve) as server:
        started = time.monotonic()
        error = await fails(make_transport(), get(server.url + "/", timeout=0.5), ea.TransportError)
    assert time.monotonic() - started < 2.0, type(error).__name__


async def test_a_storm_of_cancels_leaks_no_pool_slot_and_no_reply(
    make_transport: MakeTransport,
) -> None:
    import random

    rng = random.Random(18)

    async def serve(peer: Peer) -> None:
        while (request := await peer.read_request()) is not None:
            await asyncio.sleep(rng.uniform(0, 0.03))
            await peer.send(reply(path_of(request)))

    async with raw_server(serve) as server:
        transport = make_transport(max_connections=2)

        async def one(i: int) -> None:
            got = await send(transport, get(f"{server.url}/r{i}"))
            assert got.body == f"/r{i}".encode()

        calls = [asyncio.ensure_future(one(i)) for i in range(60)]
        for _ in range(30):
            await asyncio.sleep(rng.uniform(0, 0.01))
            rng.choice(calls).cancel()
        async with asyncio.timeout(10):
            results = await asyncio.gather(*calls, return_exceptions=True)
        wrong = [r for r in results if isinstance(r, BaseException)]
        assert all(isinstance(r, asyncio.CancelledError) for r in wrong), wrong[:3]
        async with asyncio.timeout(5):
            await asyncio.gather(*(one(1000 + i) for i in range(6)))
        await asyncio.sleep(0.2)  # a connection closed by a cancel is seen closed by now
        # (most_open may briefly read 3: a cancelled request's socket closes on the next loop
        # turn, after its slot went to a new connection; not counted as a finding)
        assert server.open_now <= 2


async def test_a_request_the_server_read_and_dropped_is_not_sent_again(
    make_transport: MakeTransport,
) -> None:
    # A load balancer or a crashing backend reads a request and drops the connection without
    # a reply (the simulator's "disconnect" fault). The server counted that request against
    # the rate limit: sending it again under the same permit puts two in the window.
    async def serve(peer: Peer) -> None:
        first = await peer.read_request()
        if first is None:
            return
        await peer.send(reply(b"first"))
        if await peer.read_request() is not None:
            peer.reset()  # read it, then dropped: no byte of a reply

    async with raw_server(serve) as server:
        transport = make_transport(max_connections=1)
        assert (await send(transport, get(server.url + "/one"))).body == b"first"
        outcome: object
        try:
            outcome = await send(transport, get(server.url + "/two", timeout=2.0))
        except ea.TransportError as error:
            outcome = error
    paths = [path_of(r) for r in server.requests]
    assert paths == [b"/one", b"/two"]  # the server saw /two once
    assert isinstance(outcome, ea.TransportError)
