"""One suite for every socket transport behind the `Transport` seam (the lean one and
aiohttp's): what the seam promises, and what each does when a hostile raw-socket server breaks
HTTP on purpose. Every failure must be one of the SDK's errors, never chained to a library's."""

from __future__ import annotations

import asyncio
import gzip
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import pytest
from _raw_server import Peer, raw_server, reply

import exchange_async as ea
from exchange_async._core.transport import TransportRequest, TransportResponse
from exchange_async._core.transport.aiohttp import AiohttpTransport
from exchange_async._core.transport.lean import LeanTransport

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
        transport: SocketTransport
        if kind == "lean":
            transport = LeanTransport(**options)
        else:
            transport = AiohttpTransport(**options)
        made.append(transport)
        return transport

    make.kind = kind  # type: ignore[attr-defined]
    yield make
    for transport in made:
        await transport.aclose()


def _get(url: str, timeout: float = 5.0, **headers: str) -> TransportRequest:
    return TransportRequest("GET", url, {"X-Sig": SECRET, **headers}, None, timeout)


def _nothing() -> None:
    return None


async def _send(transport: SocketTransport, request: TransportRequest) -> TransportResponse:
    return await transport.send(request, _nothing)


async def _fails(
    transport: SocketTransport, request: TransportRequest, expected: type[ea.ExchangeError]
) -> ea.ExchangeError:
    """The SDK error ``request`` fails with, checked clean: not chained, no secret in it."""
    with pytest.raises(expected) as info:
        await _send(transport, request)
    error = info.value
    assert error.__cause__ is None
    assert error.__context__ is None
    assert SECRET not in repr(error) and SECRET not in str(error.args)
    tb = error.__traceback__
    while tb is not None:
        assert SECRET not in repr(dict(tb.tb_frame.f_locals)), tb.tb_frame.f_code.co_name
        tb = tb.tb_next
    return error


async def _serve_forever(peer: Peer, answer: bytes) -> None:
    while await peer.read_request() is not None:
        await peer.send(answer)


# -- the seam ------------------------------------------------------------------------------


async def test_a_get_is_sent_byte_for_byte_and_its_reply_read(make_transport: MakeTransport) -> None:
    async with raw_server(lambda p: _serve_forever(p, reply(b'{"a":1}'))) as server:
        transport = make_transport()
        got = await _send(transport, _get(server.url + "/v1/x?b=2&a=%2F1"))
    assert (got.status, got.body) == (200, b'{"a":1}')
    assert got.headers["content-length"] == "7"
    head = server.requests[0].decode("latin-1")
    assert head.startswith("GET /v1/x?b=2&a=%2F1 HTTP/1.1\r\n")
    assert f"X-Sig: {SECRET}\r\n" in head
    assert "\r\nHost: 127.0.0.1:" in head
    assert "cookie" not in head.lower()


async def test_a_post_carries_its_body_and_length(make_transport: MakeTransport) -> None:
    async with raw_server(lambda p: _serve_forever(p, reply(b"{}"))) as server:
        transport = make_transport()
        request = TransportRequest("POST", server.url + "/p", {"X-Sig": SECRET}, b'{"q":1}')
        got = await _send(transport, request)
    assert got.status == 200
    assert server.requests[0].endswith(b'\r\n\r\n{"q":1}')
    assert b"Content-Length: 7\r\n" in server.requests[0]


async def test_keep_alive_reuses_one_connection(make_transport: MakeTransport) -> None:
    async with raw_server(lambda p: _serve_forever(p, reply())) as server:
        transport = make_transport()
        for _ in range(5):
            assert (await _send(transport, _get(server.url + "/"))).body == b"ok"
    assert server.connections == 1
    assert len(server.requests) == 5


async def test_max_connections_caps_the_open_connections(make_transport: MakeTransport) -> None:
    async def slow(peer: Peer) -> None:
        while await peer.read_request() is not None:
            await asyncio.sleep(0.05)
            await peer.send(reply())

    async with raw_server(slow) as server:
        transport = make_transport(max_connections=2)
        replies = await asyncio.gather(*(_send(transport, _get(server.url + "/")) for _ in range(6)))
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
        bodies = [(await _send(transport, _get(server.url + "/"))).body for _ in answers]
    assert bodies == [payload] * 3


async def test_the_send_hook_runs_once_right_before_the_bytes_leave(
    make_transport: MakeTransport,
) -> None:
    async with raw_server(lambda p: _serve_forever(p, reply())) as server:
        transport = make_transport()
        seen: list[int] = []
        for _ in range(3):
            await transport.send(_get(server.url + "/"), lambda: seen.append(len(server.requests)))
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
            assert (await transport.send(_get(server.url + "/"), new_slot)).status == 200
    assert len(waited) == len(arrived) == 2
    assert all(a >= w for a, w in zip(arrived, waited, strict=True))


async def test_a_send_hook_error_aborts_before_any_byte(make_transport: MakeTransport) -> None:
    missed = ea.RateLimitWaitTimeout("the slot was missed")

    def refuse() -> None:
        raise missed

    async with raw_server(lambda p: _serve_forever(p, reply())) as server:
        transport = make_transport()
        await _send(transport, _get(server.url + "/first"))
        with pytest.raises(ea.RateLimitWaitTimeout) as info:
            await transport.send(_get(server.url + "/never"), refuse)
        assert info.value is missed
        assert (await _send(transport, _get(server.url + "/after"))).status == 200
    assert [r.split(b" ")[1] for r in server.requests] == [b"/first", b"/after"]


async def test_redirects_and_error_statuses_are_replies(make_transport: MakeTransport) -> None:
    answer = reply(b"", status=b"302 Found", headers=(b"Location: http://127.0.0.1:9/x",))
    async with raw_server(lambda p: _serve_forever(p, answer)) as server:
        got = await _send(make_transport(), _get(server.url + "/"))
    assert got.status == 302
    assert len(server.requests) == 1


async def test_a_closed_transport_refuses(make_transport: MakeTransport) -> None:
    async with raw_server(lambda p: _serve_forever(p, reply())) as server:
        transport = make_transport()
        await _send(transport, _get(server.url + "/"))
        await transport.aclose()
        await transport.aclose()  # idempotent
        await _fails(transport, _get(server.url + "/"), ea.ClientClosedError)


async def test_closing_fails_a_request_in_flight(make_transport: MakeTransport) -> None:
    async def never(peer: Peer) -> None:
        await peer.read_request()
        await asyncio.sleep(10)

    async with raw_server(never) as server:
        transport = make_transport()
        pending = asyncio.create_task(_send(transport, _get(server.url + "/")))
        while not server.requests:
            await asyncio.sleep(0.01)
        await transport.aclose()
        with pytest.raises(ea.ClientClosedError):
            await pending


async def test_an_unreachable_server_is_a_transport_error(make_transport: MakeTransport) -> None:
    error = await _fails(make_transport(), _get("http://127.0.0.1:9/"), ea.TransportError)
    assert not isinstance(error, ea.RequestTimeoutError)


# -- a hostile server ----------------------------------------------------------------------


async def _one_answer(make_transport: MakeTransport, answer: bytes, **options: Any) -> Any:
    """Send one GET to a server that answers ``answer`` and closes; the reply or the error."""

    async def serve(peer: Peer) -> None:
        if await peer.read_request() is not None:
            await peer.send(answer)

    async with raw_server(serve) as server:
        transport = make_transport(**options)
        try:
            return await _send(transport, _get(server.url + "/", timeout=2.0))
        except ea.ExchangeError as error:
            assert error.__cause__ is None and error.__context__ is None
            return error


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
        await _fails(make_transport(), _get(server.url + "/", timeout=5.0), ea.TransportError)


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
                results.append((await _send(transport, _get(server.url + "/"))).body)
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
        error = await _fails(make_transport(), _get(server.url + "/"), ea.TransportError)
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
        await _fails(make_transport(), _get(server.url + "/", timeout=0.4), ea.RequestTimeoutError)
    assert time.monotonic() - started < 3.0


async def test_a_silent_server_times_out(make_transport: MakeTransport) -> None:
    async def serve(peer: Peer) -> None:
        await peer.read_request()
        await asyncio.sleep(10)

    async with raw_server(serve) as server:
        await _fails(make_transport(), _get(server.url + "/", timeout=0.3), ea.RequestTimeoutError)


@pytest.mark.parametrize(
    "answer",
    [
        reply(b"x" * 2_000, length=2_000),
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\nxx",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"400\r\n" + b"x" * 1024 + b"\r\n" + b"400\r\n" + b"x" * 1024 + b"\r\n0\r\n\r\n",
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
