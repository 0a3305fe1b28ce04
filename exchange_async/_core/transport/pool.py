"""`HostPool`: the keep-alive connections to one origin (scheme, host, port), and the bytes of
a request's head for that origin.

At most ``limit`` connections are open at once (0: no limit); a request that finds none idle
and the limit reached waits, first come first served, for one to come back. The most recently
used idle connection is reused first (the least likely to have been closed by the server).
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Mapping
from urllib.parse import urlsplit

from ..._errors import ClientClosedError, ExchangeError, RequestTimeoutError, TransportError
from .http11 import Connection

__all__ = ["USER_AGENT", "HostPool", "alive", "default_ssl_context"]

USER_AGENT = "exchange-async/0.1"

_SSL: ssl.SSLContext | None = None


def default_ssl_context() -> ssl.SSLContext:
    """The system's trust store, hostname checked (as aiohttp's default); made once."""
    global _SSL
    if _SSL is None:
        context = ssl.create_default_context()
        context.set_alpn_protocols(["http/1.1"])
        _SSL = context
    return _SSL


class HostPool:
    """Connections to one origin, and what every request to it shares (its ``Host`` line)."""

    def __init__(
        self,
        origin: str,
        *,
        limit: int,
        max_reply_bytes: int,
        ssl_context: ssl.SSLContext | None,
        connect_timeout: float | None,
    ) -> None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TransportError(f"not an http:// or https:// URL: {origin[:60]!r}")
        if parts.username is not None or parts.password is not None:
            raise TransportError("credentials in the URL need transport='aiohttp'")
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.ssl = (ssl_context or default_ssl_context()) if parts.scheme == "https" else None
        self.limit = limit
        self.cap = max_reply_bytes
        self.connect_timeout = connect_timeout
        self.fixed = (
            f"Host: {parts.netloc}\r\nUser-Agent: {USER_AGENT}\r\nAccept-Encoding: gzip, deflate"
        )
        self.fixed_no_agent = f"Host: {parts.netloc}\r\nAccept-Encoding: gzip, deflate"
        self.idle: list[Connection] = []
        self.busy: set[Connection] = set()
        self.open = 0  # connections open or being opened (each holds a slot)
        self.waiters: deque[asyncio.Future[Connection | None]] = deque()
        self.closed = False

    def head(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> bytes:
        """The request line and headers, framed, in one bytes object."""
        fixed = self.fixed
        if "User-Agent" in headers or "user-agent" in headers:
            fixed = self.fixed_no_agent
        lines = [f"{method} {target} HTTP/1.1", fixed]
        lines.extend(map(": ".join, headers.items()))
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body or b'')}")
        lines += ("", "")
        text = "\r\n".join(lines)
        breaks = len(lines) + 1  # `fixed` holds two line breaks of its own
        if text.count("\n") != breaks or text.count("\r") != breaks or target.count(" "):
            raise TransportError("a header or the URL holds a line break or a space")
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:
            pass  # raised below, outside this block: nothing chained
        raise TransportError("a header is not latin-1 text")

    # -- slots and connections --------------------------------------------------------------

    def take(self) -> Connection | None:
        """A live idle connection (now in use), or None when there is none."""
        if self.closed:
            raise ClientClosedError("the client was closed")
        idle = self.idle
        while idle:
            conn = idle.pop()
            if alive(conn):
                self.busy.add(conn)
                return conn
            conn.close()
            self.open -= 1  # (no one waits while a connection is idle)
        return None

    async def get(self, loop: asyncio.AbstractEventLoop) -> Connection:
        """A connection in use: a new one, or one handed back by another request once the
        pool is full (first come, first served)."""
        handed = await self._slot(loop)
        if handed is not None:
            return handed
        try:
            return await self.connect(loop)
        except BaseException:
            self._hand_on(None)
            raise

    async def _slot(self, loop: asyncio.AbstractEventLoop) -> Connection | None:
        # A connection handed over, or None: a free slot, counted, to open one in.
        if not self.limit or self.open < self.limit:
            self.open += 1
            return None
        waiter: asyncio.Future[Connection | None] = loop.create_future()
        self.waiters.append(waiter)
        try:
            handed = await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._hand_on(waiter.result())  # handed over as this request left: pass it on
            elif waiter in self.waiters:
                self.waiters.remove(waiter)
            raise
        if handed is not None and not alive(handed):
            handed.close()  # died while handed over: keep its slot, open a new one
            return None
        if handed is not None:
            self.busy.add(handed)
        return handed

    async def replace(self, conn: Connection, loop: asyncio.AbstractEventLoop) -> Connection:
        """A new connection in ``conn``'s slot (``conn`` is closed). On failure the slot stays
        held: the caller's `discard` of ``conn`` frees it."""
        self.busy.discard(conn)
        conn.close()
        return await self.connect(loop)

    async def connect(self, loop: asyncio.AbstractEventLoop) -> Connection:
        """A new connection in the slot the caller holds (the slot is not freed on failure:
        the caller's `discard` does that)."""
        conn = Connection(self.cap)
        self.busy.add(conn)
        server_hostname = self.host if self.ssl is not None else None
        opening = loop.create_connection(
            lambda: conn, self.host, self.port, ssl=self.ssl, server_hostname=server_hostname
        )
        failure: ExchangeError | None = None
        try:
            if self.connect_timeout is None:
                await opening
            else:
                try:
                    async with asyncio.timeout(self.connect_timeout):
                        await opening
                except TimeoutError:  # raised below, outside this block: nothing chained
                    failure = RequestTimeoutError(
                        f"no connection within {self.connect_timeout:g}s (connect_timeout)"
                    )
            if self.closed:  # closed while connecting
                failure = ClientClosedError("the client was closed")
        except BaseException:
            self.busy.discard(conn)
            conn.close()
            raise
        if failure is not None:
            self.busy.discard(conn)
            conn.close()
            raise failure
        return conn

    def release(self, conn: Connection) -> None:
        """``conn`` finished a request: keep it for the next one if it may carry one."""
        self.busy.discard(conn)
        if conn.reusable and not self.closed:
            self._hand_on(conn)
        else:
            conn.close()
            self._hand_on(None)

    def discard(self, conn: Connection | None) -> None:
        """The caller's connection (or empty slot) failed: close it, free the slot."""
        if conn is not None:
            self.busy.discard(conn)
            conn.close()
        self._hand_on(None)

    def _hand_on(self, conn: Connection | None) -> None:
        # A connection, or a free slot (None), goes to the first live waiter, else back.
        waiters = self.waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if conn is None:
            self.open -= 1
        else:
            self.idle.append(conn)

    def close(self) -> list[asyncio.Future[None]]:
        """Close every connection, idle or in use; fail the waiters. Idempotent.

        Returns the futures that are done once those sockets are closed."""
        self.closed = True
        lost = []
        for conn in (*self.idle, *self.busy):
            conn.close()
            if conn.lost is not None and not conn.lost.done():
                lost.append(conn.lost)
        self.idle.clear()
        self.busy.clear()
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_exception(ClientClosedError("the client was closed"))
        return lost


def alive(conn: Connection) -> bool:
    """Whether an idle connection may carry a request: not closed, and nothing to read.

    An idle connection with something to read has been closed by the server (its FIN not yet
    seen by the event loop) or sent bytes nobody asked for: either way it is not reused. One
    zero-timeout poll, so a stale connection is found before a request is written to it.
    """
    if conn.closed or conn.transport is None or conn.transport.is_closing():
        return False
    poller = conn.poller
    if poller is None:
        return True
    return not poller.poll(0)
