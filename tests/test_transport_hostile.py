"""The transport conformance suite, part two: a hostile raw-socket server breaks HTTP on
purpose; every transport must fail with one of the SDK's errors, never chained to a library's."""

from __future__ import annotations

import asyncio
import gzip
import time
import zlib
from typing import Any

import pytest
from support.raw_server import Peer, raw_server, reply
from support.transports import MakeTransport, fails, get, make_transport, send

import exchange_async as ea
from exchange_async._core.transport import TransportResponse

__all__ = ["make_transport"]  # the fixture

# -- a hostile server ----------------------------------------------------------------------


async def _one_answer(make_transport: MakeTransport, answer: bytes, **options: Any) -> Any:
    """Send one GET to a server that answers ``answer`` and closes; the reply or the error."""

    async def serve(peer: Peer) -> None:
        if await peer.read_request() is not None:
            await peer.send(answer)

    async with raw_server(serve) as server:
        transport = make_transport(**options)
        try:
            return await send(transport, get(server.url + "/", timeout=2.0))
        except ea.ExchangeError as error:
            failure = error
    assert failure.__cause__ is None
    assert failure.__context__ is None
    return failure


@pytest.mark.parametrize(
    "answer",
    [
        reply(b"short", length=50),  # the server closes after 5 of 50 bytes
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly-part",
        b"HTTP/1.1 200 OK\r\nContent-Len",  # cut inside the headers
    ],
    ids=["content-length", "chunked", "headers"],
)
async def test_a_reply_cut_short_is_a_transport_error(
    make_transport: MakeTransport, answer: bytes
) -> None:
    error = await _one_answer(make_transport, answer)
    assert type(error) is ea.TransportError, error


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 abc OK\r\nContent-Length: 2\r\n\r\nok",
        b"SMTP ready\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 9\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
    ],
    ids=["status", "protocol", "two-lengths", "header-line"],
)
async def test_a_malformed_reply_is_a_transport_error(
    make_transport: MakeTransport, answer: bytes
) -> None:
    error = await _one_answer(make_transport, answer)
    assert type(error) is ea.TransportError, error


async def test_oversized_headers_are_a_transport_error(make_transport: MakeTransport) -> None:
    answer = reply(headers=(b"X-Junk: " + b"j" * 100_000,))
    error = await _one_answer(make_transport, answer)
    assert type(error) is ea.TransportError, error


async def test_endless_headers_are_a_transport_error(make_transport: MakeTransport) -> None:
    async def serve(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\n")
        for i in range(20_000):  # 20,000 short headers, never an end
            await peer.send(b"X-%d: v\r\n" % i)

    async with raw_server(serve) as server:
        await fails(make_transport(), get(server.url + "/", timeout=5.0), ea.TransportError)


async def test_interim_1xx_replies_are_skipped(make_transport: MakeTransport) -> None:
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    got = await _one_answer(make_transport, answer + reply(b"final"))
    assert isinstance(got, TransportResponse)
    assert (got.status, got.body) == (200, b"final")


async def test_a_close_delimited_http10_body_is_read_to_the_end(
    make_transport: MakeTransport,
) -> None:
    answer = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n" + b"x" * 70_000
    got = await _one_answer(make_transport, answer)
    assert isinstance(got, TransportResponse)
    assert got.body == b"x" * 70_000


async def test_a_lying_content_length_never_leaks_into_the_next_reply(
    make_transport: MakeTransport,
) -> None:
    lied = False

    async def serve(peer: Peer) -> None:
        nonlocal lied
        while await peer.read_request() is not None:
            if not lied:
                lied = True
                await peer.send(reply(b"first+GARBAGE HTTP/1.1 200 OK\r\n\r\n", length=5))
            else:
                await peer.send(reply(b"second"))

    results: list[bytes | str] = []
    async with raw_server(serve) as server:
        transport = make_transport()
        for _ in range(2):
            try:
                results.append((await send(transport, get(server.url + "/"))).body)
            except ea.TransportError as error:
                results.append(type(error).__name__)
    assert results[0] in (b"first", "TransportError")  # the declared bytes, or refused
    assert results[1] == b"second"  # never the garbage, on a connection that is not reused
    if make_transport.kind == "lean":  # type: ignore[attr-defined]
        assert results[0] == b"first"


async def test_a_reset_mid_body_is_a_transport_error(make_transport: MakeTransport) -> None:
    async def serve(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(reply(b"x" * 1000, length=100_000))
        await asyncio.sleep(0.05)
        peer.reset()

    async with raw_server(serve) as server:
        error = await fails(make_transport(), get(server.url + "/"), ea.TransportError)
    assert not isinstance(error, ea.RequestTimeoutError)


async def test_a_trickling_body_times_out(make_transport: MakeTransport) -> None:
    async def serve(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(200):
            await peer.send(b"x")
            await asyncio.sleep(0.05)

    async with raw_server(serve) as server:
        started = time.monotonic()
        await fails(make_transport(), get(server.url + "/", timeout=0.4), ea.RequestTimeoutError)
    assert time.monotonic() - started < 3.0


async def test_a_silent_server_times_out(make_transport: MakeTransport) -> None:
    async def serve(peer: Peer) -> None:
        await peer.read_request()
        await asyncio.sleep(10)

    async with raw_server(serve) as server:
        await fails(make_transport(), get(server.url + "/", timeout=0.3), ea.RequestTimeoutError)


@pytest.mark.parametrize(
    "answer",
    [
        reply(b"x" * 2_000, length=2_000),
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\nxx",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"400\r\n"
        + b"x" * 1024
        + b"\r\n"
        + b"400\r\n"
        + b"x" * 1024
        + b"\r\n0\r\n\r\n",
        b"HTTP/1.0 200 OK\r\n\r\n" + b"x" * 5000,
        reply(gzip.compress(b"\0" * 5_000_000), headers=(b"Content-Encoding: gzip",)),
        reply(zlib.compress(b"\0" * 5_000_000), headers=(b"Content-Encoding: deflate",)),
    ],
    ids=["length", "declared", "chunked", "close-delimited", "gzip-bomb", "deflate-bomb"],
)
async def test_the_reply_size_cap_holds(make_transport: MakeTransport, answer: bytes) -> None:
    error = await _one_answer(make_transport, answer, max_reply_bytes=1500)
    assert isinstance(error, ea.ReplyTooLargeError), error


async def test_a_corrupt_gzip_body_is_a_transport_error(make_transport: MakeTransport) -> None:
    packed = gzip.compress(bytes(range(256)) * 40)
    broken = packed[:20] + b"\xff" * 40 + packed[60:]  # the deflate stream itself is broken
    error = await _one_answer(make_transport, reply(broken, headers=(b"Content-Encoding: gzip",)))
    assert isinstance(error, ea.TransportError | ea.DecodeError), error
    assert not isinstance(error, ea.RequestTimeoutError)


async def test_each_request_keeps_its_own_timeout(make_transport: MakeTransport) -> None:
    async def silent_then_fine(peer: Peer) -> None:
        request = await peer.read_request()
        if request is not None and b"/slow" in request:
            await asyncio.sleep(10)
        else:
            await peer.send(reply())

    async with raw_server(silent_then_fine) as server:
        transport = make_transport()
        slow = asyncio.create_task(send(transport, get(server.url + "/slow", timeout=3.0)))
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await fails(transport, get(server.url + "/slow", timeout=0.3), ea.RequestTimeoutError)
        assert time.monotonic() - started < 1.5  # its own 0.3 s, not the other's 3 s
        assert (await send(transport, get(server.url + "/fine"))).status == 200
        with pytest.raises(ea.RequestTimeoutError):
            await slow
