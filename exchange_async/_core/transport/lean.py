"""`LeanTransport`: the default transport for http:// and https:// base URLs.

HTTP/1.1 keep-alive on asyncio protocols, replies parsed by httptools (llhttp), one pool of
connections per origin, TLS verified against the system's trust store with SNI, gzip and
deflate, chunked, length- and close-delimited bodies. No cookies, no redirects, no proxies
(`AiohttpTransport` serves those).

Every failure is one of the SDK's errors, raised with no ``__cause__`` or ``__context__`` (an
OS or TLS exception may hold the request's signed headers in its frames):
`RequestTimeoutError` when the whole attempt (a free connection, connecting, ``on_sent``'s
wait, sending, the whole reply) takes longer than ``request.timeout``, `ReplyTooLargeError`
over ``max_reply_bytes``, `ClientClosedError` once closed, `TransportError` otherwise (refused,
reset, a certificate that does not verify, a malformed reply).

A stale keep-alive connection (closed by the server while idle) is found before the request
is written to it, by a zero-timeout poll of its socket (the server's close may have arrived
while the event loop was busy), and the request goes out on a new connection instead: nothing
was sent, so ``on_sent`` dates the one request that is. Once a request's bytes have left, it is
never written again: a server that closes the connection without a byte of reply may have
read and counted it, so that is a `TransportError`, and the pipeline's retry takes a new start
from the rate limiter (as with any dropped connection).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

from ..._errors import (
    ClientClosedError,
    ExchangeError,
    RequestTimeoutError,
    TransportError,
    ValidationError,
)
from .base import DEFAULT_MAX_REPLY_BYTES, OnSent, TransportRequest, TransportResponse
from .http11 import Connection
from .pool import HostPool, alive

__all__ = ["LeanTransport"]

_NEVER = float("inf")


class LeanTransport:
    """Sends requests on pooled keep-alive connections; see the module docstring.

    ``max_connections`` caps the open connections per origin (0: no limit);
    ``max_reply_bytes`` caps every reply body, before and after decompression;
    ``connect_timeout`` (seconds, None: only the whole-attempt timeout) caps opening a
    connection, TLS handshake included; ``ssl_context`` replaces the default (the system's
    trust store, hostnames checked).

    It follows the running event loop as `AiohttpTransport` does: used under a new
    ``asyncio.run()`` after the first loop closed, it opens fresh connections there; its
    connections are closed when the loop shuts down, or by `aclose`.
    """

    def __init__(
        self,
        *,
        max_connections: int = 100,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
        connect_timeout: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        _check_int("max_connections", max_connections, 0)
        _check_int("max_reply_bytes", max_reply_bytes, 1)
        if connect_timeout is not None and (
            isinstance(connect_timeout, bool)
            or not isinstance(connect_timeout, int | float)
            or not 0 < connect_timeout < float("inf")
        ):
            raise ValidationError("connect_timeout must be a positive number of seconds or None")
        if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
            raise ValidationError("ssl_context must be an ssl.SSLContext")
        self.max_connections = max_connections
        self.max_reply_bytes = max_reply_bytes
        self.connect_timeout = connect_timeout
        self._ssl = ssl_context
        self._pools: dict[str, HostPool] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._guard: AsyncIterator[None] | None = None
        self._closed = False
        self._sweeper: asyncio.TimerHandle | None = None
        self._sweep_at = _NEVER  # loop time the sweeper wakes at

    async def send(self, request: TransportRequest, on_sent: OnSent) -> TransportResponse:
        """Send ``request``, read the whole reply (at most ``max_reply_bytes``)."""
        if self._closed:
            raise ClientClosedError("the client is closed")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            await self._follow(loop)
        failure: ExchangeError
        head = b""
        try:
            url = request.url
            cut = url.find("/", 8)  # the path starts after "scheme://host"
            origin, target = (url, "/") if cut < 0 else (url[:cut], url[cut:])
            pool = self._pools.get(origin) or self._pool(origin)
            head = pool.head(request.method, target, request.headers, request.body)
            deadline = loop.time() + request.timeout
            return await self._exchange(pool, loop, head, request.body, on_sent, deadline)
        except ExchangeError as error:
            # Its traceback holds this frame, whose locals hold the signed headers.
            failure = error.with_traceback(None)
            if self._closed and isinstance(failure, TransportError):
                failure = ClientClosedError("the client was closed")
        except TimeoutError:
            failure = RequestTimeoutError(f"no reply within {request.timeout:g}s")
        except OSError as exc:  # refused, reset, unreachable, a certificate not verified
            if self._closed:
                failure = ClientClosedError("the client was closed")
            else:
                failure = TransportError(f"{type(exc).__name__}: {_clean(exc)}")
        # Raised outside the except blocks, so the library's exception does not ride along;
        # and this frame stays on the traceback, so it lets go of the signed headers first.
        del request, head
        raise failure

    async def _exchange(
        self,
        pool: HostPool,
        loop: asyncio.AbstractEventLoop,
        head: bytes,
        body: bytes | None,
        on_sent: OnSent,
        deadline: float,
    ) -> TransportResponse:
        # The common case awaits one thing, the reply: an idle connection is at hand, on_sent
        # returns None, and the deadline is kept by the sweep (no timer per request).
        conn = pool.take()
        if conn is None:
            async with asyncio.timeout_at(deadline):
                conn = await pool.get(loop)
        try:
            waiting = on_sent()
            if waiting is not None:  # a wait for a new start slot, before any byte is written
                async with asyncio.timeout_at(deadline):
                    await waiting
                    if not alive(conn):  # it died while we waited; nothing was sent on it
                        conn = await pool.replace(conn, loop)
            self._watch(conn, deadline, loop)
            reply = await conn.request(head, body, loop)
        except BaseException:
            pool.discard(conn)
            raise
        pool.release(conn)
        return reply

    def _watch(self, conn: Connection, deadline: float, loop: asyncio.AbstractEventLoop) -> None:
        conn.deadline = deadline
        if deadline < self._sweep_at:  # (with one timeout for all, only the first request)
            self._arm(deadline, loop)

    def _arm(self, when: float, loop: asyncio.AbstractEventLoop) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._sweep_at = when
        self._sweeper = loop.call_at(when, self._sweep, loop)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Fail the requests past their deadline; wake again at the next deadline."""
        self._sweeper, self._sweep_at = None, _NEVER
        now, earliest = loop.time(), _NEVER
        for pool in self._pools.values():
            for conn in tuple(pool.busy):
                if conn.waiter is None:
                    continue
                if conn.deadline <= now:
                    conn.expire()
                elif conn.deadline < earliest:
                    earliest = conn.deadline
        if earliest < _NEVER:
            self._arm(earliest, loop)

    @property
    def open_connections(self) -> int:
        """Connections open now (idle or carrying a request), over every origin."""
        return sum(
            1
            for pool in self._pools.values()
            for conn in (*pool.idle, *pool.busy)
            if not conn.closed
        )

    def _pool(self, origin: str) -> HostPool:
        pool = self._pools[origin] = HostPool(
            origin,
            limit=self.max_connections,
            max_reply_bytes=self.max_reply_bytes,
            ssl_context=self._ssl,
            connect_timeout=self.connect_timeout,
        )
        return pool

    async def _follow(self, loop: asyncio.AbstractEventLoop) -> None:
        old = self._loop
        if old is not None and not old.is_closed():
            raise ClientClosedError(
                "the client is in use on another event loop; create one client per loop"
            )
        # First use, or the old loop is gone (a second asyncio.run): start afresh here.
        self._pools = {}
        self._sweeper, self._sweep_at = None, _NEVER
        self._loop = loop
        self._guard = self._close_at_loop_end()
        await anext(self._guard)

    async def _close_at_loop_end(self) -> AsyncIterator[None]:
        # An async generator the loop closes in `shutdown_asyncgens` (asyncio.run does): the
        # connections are closed on their loop even if the client never was.
        try:
            yield
        finally:
            await _closed(self._close_pools())

    def _close_pools(self) -> list[asyncio.Future[None]]:
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._sweeper, self._sweep_at = None, _NEVER
        pools, self._pools = self._pools, {}
        return [lost for pool in pools.values() for lost in pool.close()]

    async def aclose(self) -> None:
        """Close every connection. Idempotent."""
        if self._closed:
            return
        self._closed = True
        lost = self._close_pools()
        guard, self._guard = self._guard, None
        if guard is not None and self._loop is _running_loop():
            await guard.aclose()  # type: ignore[attr-defined]
            await _closed(lost)

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{len(self._pools)} origins"
        return f"<LeanTransport {state}>"


async def _closed(lost: list[asyncio.Future[None]]) -> None:
    # Wait (briefly: a TLS peer may never answer the close) until the sockets are closed.
    if lost:
        await asyncio.wait(lost, timeout=1.0)
        await asyncio.sleep(0)  # one more turn: a local peer sees the end (as with aiohttp)


def _check_int(name: str, value: object, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be an int")
    if value < least:
        why = "must not be negative (0: no limit)" if least == 0 else "must be positive"
        raise ValidationError(f"{name} {why}")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _clean(exc: BaseException) -> str:
    # The first line only, short: an OS or TLS message never holds the request, but be brief.
    text = str(exc)
    return text.splitlines()[0][:200] if text else ""
