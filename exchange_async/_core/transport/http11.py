"""One HTTP/1.1 keep-alive connection: an asyncio `Protocol` that writes a request's bytes and
parses the reply with httptools (llhttp).

Everything a reply needs lives on the connection, allocated once and reset per reply: the
parser, the header list, the body chunks. A reply is complete when llhttp says so, or, for a
reply with neither ``Content-Length`` nor chunked framing (HTTP/1.0 style), when the server
closes the connection. 1xx interim replies are skipped. A failure is an SDK error set on the
request's future; the protocol never raises into the event loop.
"""

from __future__ import annotations

import asyncio
import select
import zlib
from collections.abc import Iterator, Mapping
from typing import cast

import httptools

from ..._errors import ExchangeError, ReplyTooLargeError, TransportError
from .base import TransportResponse

__all__ = ["MAX_HEAD_BYTES", "Connection", "ReplyHeaders"]

MAX_HEAD_BYTES = 64 * 1024
"""Largest status line + headers accepted (one reply), in bytes."""

_FRAMED = (b"content-length", b"transfer-encoding")
_NOT_JSON = frozenset(bytes([b]) for b in range(256)) - frozenset(
    bytes([b]) for b in b' \t\r\n{["-0123456789tfn'
)
"""First bytes a JSON body never starts with (a gzip or zlib body always does)."""


class ReplyHeaders(Mapping[str, str]):
    """A reply's headers, case-insensitive; the text dict is built only if someone reads them
    (the decoder reads ``Retry-After`` of refusals only). A repeated name keeps its last value.
    """

    __slots__ = ("_map", "_raw")

    def __init__(self, raw: dict[bytes, bytes]) -> None:
        self._raw = raw
        self._map: dict[str, str] | None = None

    def _built(self) -> dict[str, str]:
        built = self._map
        if built is None:
            built = self._map = {
                name.decode("latin-1").lower(): value.decode("latin-1")
                for name, value in self._raw.items()
            }
        return built

    def __getitem__(self, key: str) -> str:
        return self._built()[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._built()

    def __iter__(self) -> Iterator[str]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())

    def __repr__(self) -> str:
        return f"ReplyHeaders({list(self._built())})"


class Connection(asyncio.Protocol):
    """One keep-alive connection to one server; one request at a time.

    `request` writes a request and returns the future of its `TransportResponse` (or of an SDK
    error). ``reusable`` says whether another request may follow on it; ``deadline`` (loop
    time) is when the request in flight times out (the transport enforces it).
    """

    def __init__(self, max_reply_bytes: int) -> None:
        self.cap = max_reply_bytes
        self.transport: asyncio.Transport | None = None
        self.poller: select.poll | None = None
        self.lost: asyncio.Future[None] | None = None  # done once the socket is closed
        self.headers: dict[bytes, bytes] = {}
        # httptools looks its callbacks up once, here: every header goes straight into the
        # dict, with no Python frame per header.
        self.on_header = self.headers.__setitem__
        self.parser = httptools.HttpResponseParser(self)
        self.chunks: list[bytes] = []
        self.waiter: asyncio.Future[TransportResponse] | None = None
        self.deadline = 0.0
        self.closed = False
        self.reusable = False
        self.replies = 0  # replies completed on this connection
        self.got_bytes = False
        self.head_wire = 0  # bytes received before the reply's headers were complete
        self.headers_done = False
        self.encoding: bytes | None = None
        self.size = 0
        self.failure: ExchangeError | None = None

    # -- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.poller = _poller_for(transport)
        self.lost = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        if self.waiter is None:  # bytes nobody asked for: the connection is not reusable
            self.close()
            return
        self.got_bytes = True
        if not self.headers_done:
            self.head_wire += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(TransportError("the server switched protocols (an HTTP upgrade)"))
        except httptools.HttpParserError as exc:
            self._fail(self.failure or TransportError(f"malformed reply: {_reason(exc)}"))
        else:  # headers that never end (a header still open inside httptools counts too)
            if not self.headers_done and self.head_wire > MAX_HEAD_BYTES:
                self._fail(_head_too_large())

    def eof_received(self) -> bool:
        self._ended()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended()
        if self.lost is not None and not self.lost.done():
            self.lost.set_result(None)

    def _ended(self) -> None:
        self.closed = True
        self.reusable = False
        if self.waiter is None or self.waiter.done():
            return
        if self.headers_done and not _framed(self.headers):  # HTTP/1.0: the body ends here
            self._complete()
        elif not self.got_bytes:
            self._fail(TransportError("ServerDisconnectedError: the server closed the connection"))
        else:
            self._fail(TransportError("ServerDisconnectedError: the reply was cut short"))

    # -- httptools callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.waiter is None:  # a reply after the reply (a lying Content-Length): stop here
            raise _Abort

    def on_headers_complete(self) -> None:
        if self.parser.get_status_code() < 200:
            return  # 1xx: an interim reply, its message completes next
        self.headers_done = True
        headers = self.headers
        if self.head_wire > MAX_HEAD_BYTES and _head_size(headers) > MAX_HEAD_BYTES:
            self.failure = _head_too_large()
            raise _Abort
        declared = headers.get(b"Content-Length") or headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.cap:
            self.failure = _too_large(f"reply of {int(declared)} bytes is over")
            raise _Abort
        self.encoding = headers.get(b"Content-Encoding") or headers.get(b"content-encoding")

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.cap:
            self.failure = _too_large("reply is over")
            raise _Abort
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        if not self.headers_done:  # the end of a 1xx: the real reply follows
            self.headers.clear()
            self.head_wire = 0
            return
        self.reusable = self.parser.should_keep_alive() and not self.closed
        self._complete()

    # -- the request ------------------------------------------------------------------------

    def request(
        self, head: bytes, body: bytes | None, loop: asyncio.AbstractEventLoop
    ) -> asyncio.Future[TransportResponse]:
        """Write one request (head already framed, ``body`` after it); the reply's future."""
        assert self.transport is not None
        self.headers.clear()
        self.got_bytes = self.headers_done = self.reusable = False
        self.head_wire = self.size = 0
        self.failure = None
        waiter = self.waiter = loop.create_future()
        if self.closed:  # (callers check first; a write to a closed socket would be dropped)
            self._ended()
        else:
            self.transport.write(head if body is None else head + body)
        return waiter

    def expire(self) -> None:
        """The request in flight ran out of time: fail it (`TimeoutError`), close."""
        self._fail(TimeoutError())

    def _complete(self) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is None or waiter.done():
            return
        chunks = self.chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        encoding = self.encoding
        if encoding is None and body[:1] in _NOT_JSON:  # a name in odd case? look it up
            encoding = _lookup(self.headers, b"content-encoding")
        if encoding is not None and body:
            body, failure = _decompress(encoding.strip().lower(), body, self.cap)
            if failure is not None:
                self.reusable = False
                self.close()
                waiter.set_exception(failure)
                return
        self.replies += 1
        if not self.reusable:
            self.close()
        headers = ReplyHeaders(self.headers.copy())
        waiter.set_result(TransportResponse(self.parser.get_status_code(), headers, body))

    def _fail(self, error: Exception) -> None:
        self.reusable = False
        self.close()
        self.chunks.clear()
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def close(self) -> None:
        """Close the socket (idempotent); a pending request fails as cut short."""
        self.closed = True
        self.reusable = False
        if self.transport is not None:
            self.transport.close()


class _Abort(Exception):
    """Raised in a parser callback to stop parsing; the reason is on `Connection.failure`."""


def _reason(exc: Exception) -> str:
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__


def _too_large(what: str) -> ReplyTooLargeError:
    return ReplyTooLargeError(f"{what} the cap of the client's max_reply_bytes")


def _head_too_large() -> TransportError:
    return TransportError(f"reply headers are over {MAX_HEAD_BYTES} bytes")


def _decompress(encoding: bytes, body: bytes, cap: int) -> tuple[bytes, ExchangeError | None]:
    """``(body decoded, None)``, or ``(b"", the error)``: corrupt, cut short, over ``cap``."""
    if encoding == b"gzip" or encoding == b"x-gzip":
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == b"deflate":  # zlib-wrapped as the RFC says, or raw as some servers send
        wbits = zlib.MAX_WBITS if body[:1] == b"\x78" else -zlib.MAX_WBITS
    elif encoding == b"identity":
        return body, None
    else:
        return b"", TransportError(f"unsupported Content-Encoding {encoding[:40]!r}")
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(body, cap + 1)
    except zlib.error:
        out = None  # the error is made below, outside this block: nothing chained to zlib's
    if out is None:
        return b"", TransportError("the compressed reply is corrupt")
    if len(out) > cap:
        return b"", _too_large("decompressed reply is over")
    if not inflater.eof:
        return b"", TransportError("the compressed reply is cut short")
    return out, None


def _lookup(headers: dict[bytes, bytes], lowered: bytes) -> bytes | None:
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


def _framed(headers: dict[bytes, bytes]) -> bool:
    """Whether a reply says where its body ends (else it ends when the connection closes)."""
    return any(name.lower() in _FRAMED for name in headers)


def _head_size(headers: dict[bytes, bytes]) -> int:
    return sum(len(name) + len(value) + 4 for name, value in headers.items())


def _poller_for(transport: asyncio.BaseTransport) -> select.poll | None:
    """A poll object watching ``transport``'s socket for input (None where there is none)."""
    sock = transport.get_extra_info("socket")
    if sock is None or not hasattr(select, "poll"):
        return None
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return poller
