"""The transport conformance suite, part three: stale keep-alive connections (a server that
closes an idle connection) and TLS against a local server with its own CA (trustme)."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator

import pytest
import trustme
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


def _post(url: str) -> TransportRequest:
    return TransportRequest("POST", url, {"X-Sig": SECRET}, b"{}", 5.0)


# -- stale keep-alive ------------------------------------------------------------------------


async def test_an_idle_connection_the_server_closed_is_not_used(
    make_transport: MakeTransport,
) -> None:
    async def close_when_idle(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(reply())
        await asyncio.sleep(0.05)  # then the server's keep-alive timeout closes it

    async with raw_server(close_when_idle) as server:
        transport = make_transport()
        sent: list[int] = []
        for _ in range(2):
            await transport.send(get(server.url + "/"), lambda: sent.append(1))
            await asyncio.sleep(0.2)
    assert len(sent) == len(server.requests) == server.connections == 2


async def test_a_close_the_event_loop_has_not_seen_yet_is_found_before_writing(
    make_transport: MakeTransport,
) -> None:
    # The server's close arrives while the client's loop is busy (blocked here), so only the
    # socket knows when the next request is written. A POST (never sent twice) must still go
    # out once, intact, on a new connection.
    async def reply_then_close_from_a_thread(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(reply())
        sock = socket.socket(fileno=os.dup(peer.writer.get_extra_info("socket").fileno()))

        def close() -> None:
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()

        threading.Timer(0.05, close).start()
        await peer.read_request()

    async with raw_server(reply_then_close_from_a_thread) as server:
        transport = make_transport()
        await send(transport, _post(server.url + "/"))
        time.sleep(0.2)  # noqa: ASYNC251 the close arrives while the loop cannot see it
        if make_transport.kind == "aiohttp":  # type: ignore[attr-defined]
            await fails(transport, _post(server.url + "/"), ea.TransportError)
            return  # aiohttp writes to the dead connection: the caller's retry must resend
        got = await send(transport, _post(server.url + "/"))
    assert got.status == 200
    assert len(server.requests) == server.connections == 2


async def test_a_request_the_server_dropped_unanswered_is_never_written_again(
    make_transport: MakeTransport,
) -> None:
    # The race a stale-connection check cannot close, and a server that read the request and
    # then dropped it look the same: the server may have counted it. So the transport fails
    # (the pipeline's retry then takes a new start from the limiter), for a GET too.
    async def drop_the_second(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(reply(b"one"))
        await peer.read_request()  # and close, unanswered

    async with raw_server(drop_the_second) as server:
        transport = make_transport()
        sent: list[int] = []
        await send(transport, get(server.url + "/"))
        await fails(transport, get(server.url + "/"), ea.TransportError)
        assert (await transport.send(get(server.url + "/"), lambda: sent.append(1))).body == b"one"
    assert sent == [1]
    assert len(server.requests) == 3  # one each: nothing was sent twice
    assert server.connections == 2


async def test_a_cut_reply_is_a_transport_error_and_the_connection_is_not_reused(
    make_transport: MakeTransport,
) -> None:
    async def cut_the_second(peer: Peer) -> None:
        await peer.read_request()
        await peer.send(reply())
        await peer.read_request()
        await peer.send(b"HTTP/1.1 200")  # a byte of the reply, then gone

    async with raw_server(cut_the_second) as server:
        transport = make_transport()
        await send(transport, get(server.url + "/"))
        error = await fails(transport, get(server.url + "/"), ea.TransportError)
        assert not isinstance(error, ea.RequestTimeoutError)
        assert (await send(transport, get(server.url + "/"))).status == 200
    assert len(server.requests) == 3
    assert server.connections == 2


# -- TLS -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def _trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
async def tls_server(server_tls: ssl.SSLContext) -> AsyncIterator[str]:
    async with raw_server(lambda p: serve_forever(p, reply(b"secure")), server_tls) as server:
        yield server.url


async def test_a_valid_chain_works_with_sni(
    make_transport: MakeTransport, ca: trustme.CA, server_tls: ssl.SSLContext
) -> None:
    names: list[str | None] = []

    def record(sock: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> None:
        names.append(name)

    server_tls.sni_callback = record
    try:
        async with raw_server(lambda p: serve_forever(p, reply(b"secure")), server_tls) as srv:
            transport = make_transport(ssl_context=_trusting(ca))
            url = srv.url.replace("127.0.0.1", "localhost")
            replies = [await send(transport, get(url + "/")) for _ in range(3)]
    finally:
        server_tls.sni_callback = None
    assert [r.body for r in replies] == [b"secure"] * 3
    assert names == ["localhost"]  # one handshake, the host's name sent; then kept alive


async def test_a_certificate_from_another_ca_is_a_transport_error(
    make_transport: MakeTransport, tls_server: str
) -> None:
    transport = make_transport(ssl_context=_trusting(trustme.CA()))
    error = await fails(transport, get(tls_server + "/"), ea.TransportError)
    assert not isinstance(error, ea.RequestTimeoutError)
    assert "certificate" in str(error).lower()


async def test_the_default_trust_store_refuses_a_private_ca(
    make_transport: MakeTransport, tls_server: str
) -> None:
    await fails(make_transport(), get(tls_server + "/"), ea.TransportError)


async def test_a_certificate_for_another_host_is_a_transport_error(
    make_transport: MakeTransport, ca: trustme.CA
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("exchange.example").configure_cert(context)
    async with raw_server(lambda p: serve_forever(p, reply()), context) as server:
        transport = make_transport(ssl_context=_trusting(ca))
        await fails(transport, get(server.url + "/"), ea.TransportError)


async def test_a_plain_http_server_on_an_https_url_is_a_transport_error(
    make_transport: MakeTransport, ca: trustme.CA
) -> None:
    async def plain(peer: Peer) -> None:
        await peer.reader.read(100)  # a TLS hello, answered in plain HTTP
        await peer.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    async with raw_server(plain) as server:
        transport = make_transport(ssl_context=_trusting(ca))
        url = server.url.replace("http://", "https://")
        error = await fails(transport, get(url + "/", timeout=2.0), ea.TransportError)
    assert not isinstance(error, ea.RequestTimeoutError)


async def test_a_handshake_that_never_ends_hits_the_connect_timeout(ca: trustme.CA) -> None:
    async def mute(peer: Peer) -> None:
        await peer.reader.read(100)  # the TLS hello, never answered
        await asyncio.sleep(10)

    async with raw_server(mute) as server:
        transport = LeanTransport(ssl_context=_trusting(ca), connect_timeout=0.2)
        try:
            url = server.url.replace("http://", "https://")
            started = time.monotonic()
            error = await fails(transport, get(url + "/", timeout=5.0), ea.RequestTimeoutError)
            assert time.monotonic() - started < 2.0  # the connect timeout, not the 5 s one
            assert "connect_timeout" in str(error)
        finally:
            await transport.aclose()
