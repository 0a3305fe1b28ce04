"""`AiohttpTransport`: the one module of the SDK that imports aiohttp.

It owns the ``aiohttp.ClientSession`` (created inside the running loop on first use), the hook
that reports the moment a request's headers are written, the switch that stops aiohttp from
re-sending a request by itself, the bounded body read, and the translation of every aiohttp,
OS and timeout exception into the SDK's errors (httpx's ``_transports/default.py`` is the
model). Translated errors are raised with no ``__cause__`` or ``__context__``: aiohttp's
exceptions carry the request's signed headers.
"""

from __future__ import annotations

import asyncio
import inspect
import ssl
from collections.abc import AsyncIterator
from contextvars import ContextVar

import aiohttp
from aiohttp.connector import Connection
from yarl import URL

from ..._errors import (
    ClientClosedError,
    ExchangeError,
    ReplyTooLargeError,
    RequestTimeoutError,
    TransportError,
    ValidationError,
)
from .base import DEFAULT_MAX_REPLY_BYTES, OnSent, TransportRequest, TransportResponse

__all__ = ["DEFAULT_MAX_REPLY_BYTES", "AiohttpTransport", "HttpSession", "new_http_session"]

HttpSession = aiohttp.ClientSession
"""The aiohttp session type a caller may share with the SDK (``http_session=``)."""

_USER_AGENT = "exchange-async/0.1"
_CHUNK = 64 * 1024


class AiohttpTransport:
    """Sends requests with aiohttp. Pass ``http_session`` to share one (it is never closed here).

    ``max_connections`` sizes the pool of the session this transport creates itself, and
    ``ssl_context`` (default: the system's trust store) verifies its TLS servers.
    ``max_reply_bytes`` caps every reply body (``Content-Length`` and the decompressed bytes):
    a longer reply raises `ReplyTooLargeError` without reading further.

    The transport follows the running event loop: used again under a new ``asyncio.run()``
    after the first loop closed, it opens a fresh session there. Its own session is closed when
    the loop shuts down (``asyncio.run`` closes async generators), or by `aclose`.
    """

    def __init__(
        self,
        *,
        http_session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise ValidationError("max_connections must be an int")
        if max_connections < 0:
            raise ValidationError("max_connections must not be negative (0: no limit)")
        if isinstance(max_reply_bytes, bool) or not isinstance(max_reply_bytes, int):
            raise ValidationError("max_reply_bytes must be an int")
        if max_reply_bytes < 1:
            raise ValidationError("max_reply_bytes must be positive")
        self.max_connections = max_connections
        self.max_reply_bytes = max_reply_bytes
        self._ssl = ssl_context
        self._own = http_session is None
        self._http = http_session
        self._loop: asyncio.AbstractEventLoop | None = None
        self._guard: AsyncIterator[None] | None = None
        self._closed = False
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        if http_session is not None:
            _disable_silent_retry(http_session)

    @property
    def owns_session(self) -> bool:
        """Whether the aiohttp session is this transport's own (closed by `aclose`)."""
        return self._own

    async def open(self) -> None:
        """Create the session now (it is otherwise created by the first request)."""
        await self._session()

    async def send(self, request: TransportRequest, on_sent: OnSent) -> TransportResponse:
        """Send ``request``, read the whole reply (at most ``max_reply_bytes``)."""
        http = await self._session()
        failure: ExchangeError
        try:
            return await self._exchange(http, request, on_sent)
        except ExchangeError as error:
            # Its traceback holds `_exchange`'s frame, whose locals hold the signed headers.
            failure = error.with_traceback(None)
        except TimeoutError:
            failure = RequestTimeoutError(f"no reply within {request.timeout:g}s")
        except (aiohttp.ClientError, OSError) as exc:
            failure = TransportError(f"{type(exc).__name__}: {_clean(exc)}")
        except RuntimeError as exc:
            if not http.closed:
                failure = TransportError(f"{type(exc).__name__}: {exc}")
            else:
                failure = ClientClosedError("the client was closed")
        except ValueError as exc:  # an invalid URL or header, found by the HTTP library
            failure = TransportError(f"{type(exc).__name__}: {_clean(exc)}")
        if self._closed and isinstance(failure, TransportError):
            failure = ClientClosedError("the client was closed")  # aclose cut it short
        # Raised outside the except blocks: the aiohttp exception must not ride along; and
        # this frame stays on the traceback, so it lets go of the signed headers first.
        del request
        raise failure

    async def _exchange(
        self, http: aiohttp.ClientSession, request: TransportRequest, on_sent: OnSent
    ) -> TransportResponse:
        hook = _ON_SENT.set(on_sent)  # read by `_SendHookRequest.send`, in this task
        try:
            async with http.request(
                request.method,
                URL(request.url, encoded=True),
                headers=request.headers,
                data=request.body,
                # Per request, so a caller's shared session cannot change the pipeline: a
                # redirect would be a request the limiter never saw (and carry the auth headers
                # elsewhere).
                allow_redirects=False,
                raise_for_status=False,
                timeout=self._timeout(request.timeout),
            ) as response:
                if _ON_SENT.get() is not None:  # a caller's own session: no hook ran, and
                    waiting = on_sent()  # the bytes are gone: nothing is left to wait for
                    if inspect.iscoroutine(waiting):
                        waiting.close()
                body = await self._read(response)
                # aiohttp's read-only case-insensitive view: no per-reply copy.
                return TransportResponse(response.status, response.headers, body)
        finally:
            _ON_SENT.reset(hook)

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:  # one per distinct value (clients keep theirs), not per request
            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(total=seconds)
        return timeout

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        limit = self.max_reply_bytes
        declared = response.content_length
        if declared is not None and declared > limit:
            response.close()
            raise ReplyTooLargeError(f"reply of {declared} bytes is over the {limit}-byte cap")
        if declared is not None and "Content-Encoding" not in response.headers:
            # Not compressed: aiohttp's parser stops at the declared length, within the cap.
            return await response.content.read()
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > limit:
                response.close()
                raise ReplyTooLargeError(f"reply is over the {limit}-byte cap")
            chunks.append(chunk)
        return b"".join(chunks)

    async def _session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("the client is closed")
        loop = asyncio.get_running_loop()
        if self._loop is not loop and self._loop is not None:
            self._leave_old_loop()
        if self._http is None:
            self._http = _new_session(self.max_connections, ssl_context=self._ssl)
            self._guard = self._close_at_loop_end()
            await anext(self._guard)
        self._loop = loop
        return self._http

    def _leave_old_loop(self) -> None:
        assert self._loop is not None
        if not self._own:
            raise ClientClosedError(
                "the shared aiohttp session belongs to another event loop; "
                "create the client inside the loop that uses it"
            )
        if not self._loop.is_closed():
            raise ClientClosedError(
                "the client is in use on another event loop; create one client per loop"
            )
        # The old loop is gone (a second asyncio.run): its session was closed at its shutdown,
        # or cannot be closed any more. Start afresh on this loop.
        self._http = None
        self._guard = None

    async def _close_at_loop_end(self) -> AsyncIterator[None]:
        # An async generator the loop closes in `shutdown_asyncgens` (asyncio.run does): the
        # client's own session is then closed on its loop even if the client never was.
        try:
            yield
        finally:
            await self._close_session()

    async def _close_session(self) -> None:
        http, self._http = self._http, None
        if http is not None and self._own and not http.closed:
            await http.close()

    async def aclose(self) -> None:
        """Close the session if this transport created it. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._loop is not None and self._loop is not _running_loop():
            self._http = None  # created on a loop that is not this one: nothing to await here
            return
        await self._close_session()
        guard, self._guard = self._guard, None
        if guard is not None:
            await guard.aclose()  # type: ignore[attr-defined]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _clean(exc: BaseException) -> str:
    # Some aiohttp messages embed the request (with its headers); keep the first line only.
    return str(exc).splitlines()[0][:200] if str(exc) else ""


_ON_SENT: ContextVar[OnSent | None] = ContextVar("exchange_async_on_sent", default=None)
"""The send hook of the request the current task is making through `AiohttpTransport`."""


class _SendHookRequest(aiohttp.ClientRequest):
    """aiohttp's request, calling the transport's ``on_sent`` just before its bytes leave.

    aiohttp calls ``send`` once the connection is ready; from its first line to the write of
    the status line and headers there is no ``await``, so this is the same moment as a trace
    config's ``on_request_headers_sent``, without the trace machinery (a `Trace`, a context
    namespace, a params object and an awaited signal for every one of a request's nine
    events). What ``on_sent`` returns (a wait for a new start slot) is awaited first; an
    exception from either aborts the request before any byte is written and propagates
    unchanged. Requests made by others through a shared session have no hook; a
    caller's session without this class gets ``on_sent`` once its reply's headers are in.
    """

    async def send(self, conn: Connection) -> aiohttp.ClientResponse:
        on_sent = _ON_SENT.get()
        if on_sent is not None:
            _ON_SENT.set(None)  # once (the transport's task context: it resets the variable)
            waiting = on_sent()
            if waiting is not None:  # a new start slot to wait for, before any byte is written
                await waiting
        return await super().send(conn)


def _new_session(
    max_connections: int,
    timeout: float | None = None,
    *,
    ssl_context: ssl.SSLContext | None = None,
) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max_connections, ssl=ssl_context or True),
        headers={"User-Agent": _USER_AGENT},
        timeout=aiohttp.ClientTimeout(total=timeout),
        raise_for_status=False,
        request_class=_SendHookRequest,
    )
    _disable_silent_retry(http)
    return http


def new_http_session(timeout: float = 10.0, max_connections: int = 100) -> aiohttp.ClientSession:
    """An aiohttp session set up as the SDK's own (send hook, no silent re-send).

    Share it between clients with ``http_session=``; close it yourself.
    """
    return _new_session(max_connections, timeout)


def _disable_silent_retry(http: aiohttp.ClientSession) -> None:
    # aiohttp re-sends an idempotent request once, by itself, when a connection drops. That
    # request would bypass the rate limiter and the retry policy; aiohttp's own test client
    # turns it off the same way. Every attempt must be one the limiter counted.
    if hasattr(http, "_retry_connection"):
        http._retry_connection = False
