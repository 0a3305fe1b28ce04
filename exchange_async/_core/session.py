"""The request pipeline every exchange client runs on.

One call of `Session.request` goes: build the query once -> (per attempt) wait for the rate
limiters -> sign with a fresh timestamp -> send -> decode the envelope -> map an error -> maybe
back off and retry. Exchange packages declare endpoints and error tables; they never touch
aiohttp themselves.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, TypeVar

import aiohttp
import msgspec
from yarl import URL

from .._errors import (
    ClientClosedError,
    DecodeError,
    ExchangeError,
    RateLimitError,
    RateLimitWaitTimeout,
    RequestTimeoutError,
    TimestampError,
    TransportError,
    UnknownExchangeError,
    ValidationError,
)
from .clock import ServerClock, clock_for
from .endpoint import Endpoint
from .envelope import status_decoder
from .exchange import ExchangeSpec
from .query import encode_query
from .ratelimit import (
    Bucket,
    Reservation,
    Scope,
    acquire,
    registry_for_running_loop,
    validate_margin,
)
from .retry import RetryPolicy

__all__ = [
    "Session",
    "SessionOptions",
    "SessionStats",
    "Signer",
    "new_http_session",
    "send_trace",
]

T = TypeVar("T")

logger = logging.getLogger("exchange_async")

Signer = Callable[[int, str, str, str], Mapping[str, str]]
"""(timestamp_ms, METHOD, path_and_query, body) -> auth headers. Pure; no clock, no I/O."""

_USER_AGENT = "exchange-async/0.1"

_exchange_window: contextvars.ContextVar[tuple[float, float]] = contextvars.ContextVar(
    "exchange_window", default=(0.0, 0.0)
)
"""Wall-clock ms around the current task's last reply, for measuring the server's clock."""


@dataclass(frozen=True, slots=True)
class SessionOptions:
    """Transport settings of one client (see the clients' keyword arguments)."""

    timeout: float = 10.0
    """Seconds for one attempt in all: connecting, sending and reading the whole reply."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """What is retried and how long to wait between attempts."""
    rate_limit_margin: float = 0.05
    """Safety margin on every limit, as a fraction of its window (0.05: 5 % under the limit)."""
    max_rate_wait: float | None = None
    """Raise `RateLimitWaitTimeout` instead of queueing longer than this for the limiter."""
    max_connections: int = 100
    """Size of the connection pool when the client creates its own aiohttp session."""

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValidationError("timeout must be positive")
        if self.max_rate_wait is not None and not self.max_rate_wait > 0:
            raise ValidationError("max_rate_wait must be positive or None")
        if self.max_connections < 0:
            raise ValidationError("max_connections must not be negative")
        validate_margin(self.rate_limit_margin)


@dataclass(slots=True)
class SessionStats:
    """Counters of one client's traffic (for dashboards, the demo and benchmarks)."""

    requests: int = 0
    """Attempts sent to the server."""
    retries: int = 0
    """Attempts that were retries of an earlier failed one."""
    rate_limited: int = 0
    """Replies in which the exchange refused for rate."""
    errors: int = 0
    """Calls that ended in an exception."""


class _State(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSED = "closed"


class Session:
    """Owns one aiohttp session and runs requests through the pipeline for one account.

    Create it anywhere; the aiohttp session is created inside the running loop on first use or
    ``__aenter__``. ``close()`` is idempotent; a request after it raises `ClientClosedError`.
    Pass ``http`` to share an existing ``aiohttp.ClientSession`` (it is then not closed here).
    """

    def __init__(
        self,
        *,
        exchange: ExchangeSpec,
        base_url: str,
        signer: Signer,
        account_ids: tuple[str, ...],
        options: SessionOptions,
        server_time: Callable[[], Awaitable[int]] | None = None,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        self.exchange = exchange
        self.base_url = _normalize_base_url(base_url)
        self.account_ids = account_ids
        self.options = options
        self._timeout = aiohttp.ClientTimeout(total=options.timeout)
        self.stats = SessionStats()
        self._signer = signer
        self._server_time = server_time
        self._http = http
        self._owns_http = http is None
        if http is not None:
            _disable_silent_retry(http)
        self._state = _State.NEW
        self._buckets: dict[Endpoint[Any], tuple[Bucket, ...]] = {}
        self._clock: ServerClock | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether ``close()`` has been called."""
        return self._state is _State.CLOSED

    def _open(self) -> aiohttp.ClientSession:
        if self._state is _State.CLOSED:
            raise ClientClosedError("the client is closed", exchange=self.exchange.name)
        if self._http is None:
            self._http = new_http_session(self.options.timeout, self.options.max_connections)
        self._state = _State.OPEN
        return self._http

    def use_http(self, http: aiohttp.ClientSession) -> None:
        """Send through ``http`` (shared, not closed here). Only before the first request."""
        if self._state is not _State.NEW or (self._http is not None and self._owns_http):
            raise ClientClosedError("use_http() must come before the session is opened")
        _disable_silent_retry(http)
        self._http = http
        self._owns_http = False

    async def open(self) -> None:
        """Create the aiohttp session now (it is otherwise created on first use)."""
        self._open()

    async def close(self) -> None:
        """Close the aiohttp session if this session created it. Safe to call twice."""
        if self._state is _State.CLOSED:
            return
        self._state = _State.CLOSED
        http, self._http = self._http, None
        if http is not None and self._owns_http:
            await http.close()

    # -- the pipeline ----------------------------------------------------------------------

    async def request(self, endpoint: Endpoint[T], params: Mapping[str, str]) -> T | None:
        """Send ``endpoint`` with ``params`` and return the envelope's ``data``.

        Retries what `RetryPolicy` allows, every attempt through the rate limiters. Raises an
        `ExchangeError` subclass for every failure.
        """
        http = self._open()
        query = encode_query(params)
        path_qs = f"{endpoint.path}?{query}" if query else endpoint.path
        url = URL(self.base_url + path_qs, encoded=True)
        buckets = self._buckets.get(endpoint)
        if buckets is None:
            buckets = self._buckets[endpoint] = registry_for_running_loop().buckets_for(
                self.base_url, endpoint.limits, self.account_ids, self.options.rate_limit_margin
            )
        clock_retried = False
        attempt = 1
        while True:
            clock: ServerClock | None = None
            try:
                clock = await self._synced_clock(endpoint)
                return await self._attempt(http, endpoint, url, path_qs, buckets, clock)
            except TimestampError:
                # The server says our clock is off: measure it again and retry once.
                if clock is None or clock_retried:
                    self.stats.errors += 1
                    raise
                clock_retried = True
                await clock.resync(self._fetch_server_time, seen_generation=clock.generation)
                self.stats.retries += 1
                continue
            except ExchangeError as error:
                wait = self._after_failure(error, attempt, buckets)
                if wait is None:
                    self.stats.errors += 1
                    raise
                logger.info(
                    "%s %s %s: %s; retry %d in %.2fs",
                    self.exchange.name,
                    endpoint.method,
                    endpoint.path,
                    error,
                    attempt,
                    wait,
                )
                self.stats.retries += 1
                attempt += 1
                await asyncio.sleep(wait)

    def _after_failure(
        self, error: ExchangeError, attempt: int, buckets: tuple[Bucket, ...]
    ) -> float | None:
        """Seconds to wait before retrying ``error``, or ``None`` to raise it."""
        policy = self.options.retry
        if isinstance(error, RateLimitError) and not isinstance(error, RateLimitWaitTimeout):
            # The server counts our rate differently than we do (another process, a proxy):
            # pause every caller of this account, not just this one, and retry behind them.
            self.stats.rate_limited += 1
            gives_up = policy.gives_up_early(error)  # judged on the server's own Retry-After
            pause = policy.delay(error, attempt)
            error.retry_after = max(error.retry_after or 0.0, pause)
            paused = [b for b in buckets if b.scope is not Scope.IP]
            for bucket in paused:
                bucket.pause(pause)
            wait = 0.0 if paused else pause  # the limiter itself holds a paused caller back
        else:
            gives_up = False
            wait = policy.delay(error, attempt)
        if attempt >= policy.max_attempts or not policy.is_retryable(error) or gives_up:
            return None
        return wait

    async def _synced_clock(self, endpoint: Endpoint[Any]) -> ServerClock | None:
        if not endpoint.signed or self._server_time is None:
            return None
        if self._clock is None:
            self._clock = clock_for(self.base_url)
        await self._clock.ensure_synced(self._fetch_server_time)
        return self._clock

    async def _fetch_server_time(self) -> tuple[int, float]:
        assert self._server_time is not None
        server_ms = await self._server_time()
        sent, received = _exchange_window.get()  # set by the attempt that just answered
        return server_ms, (sent + received) / 2

    async def _attempt(
        self,
        http: aiohttp.ClientSession,
        endpoint: Endpoint[T],
        url: URL,
        path_qs: str,
        buckets: tuple[Bucket, ...],
        clock: ServerClock | None,
    ) -> T | None:
        reservation = await acquire(buckets, max_wait=self.options.max_rate_wait)
        failure: ExchangeError | None = None
        try:
            if self._state is _State.CLOSED:
                raise ClientClosedError("the client was closed", exchange=self.exchange.name)
            if endpoint.signed:
                now_ms = clock.now_ms() if clock is not None else int(time.time() * 1000)
                headers: Mapping[str, str] | None = self._signer(
                    now_ms, endpoint.method, path_qs, ""
                )
            else:
                headers = None
            self.stats.requests += 1
            started = time.perf_counter()
            try:
                async with http.request(
                    endpoint.method,
                    url,
                    headers=headers,
                    # Per request, so a caller's shared session cannot change the pipeline:
                    # a redirect would be a request the limiter never saw (and would carry
                    # the auth headers to another host); raise_for_status would hide codes.
                    allow_redirects=False,
                    raise_for_status=False,
                    timeout=self._timeout,
                    trace_request_ctx=reservation,
                ) as response:
                    replied_ms = time.time() * 1000
                    await reservation.sent()  # already done by the trace hook, if installed
                    _exchange_window.set((reservation.sent_ms or replied_ms, replied_ms))
                    body = await response.read()
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
            except TimeoutError:
                failure = RequestTimeoutError(
                    f"no reply within {self.options.timeout:g}s", exchange=self.exchange.name
                )
            except (aiohttp.ClientError, OSError) as exc:
                failure = TransportError(
                    f"{type(exc).__name__}: {exc}", exchange=self.exchange.name
                )
            except RuntimeError:
                if not http.closed:
                    raise
                failure = ClientClosedError("the client was closed", exchange=self.exchange.name)
        finally:
            reservation.release()
        if failure is not None:
            # Raised outside the except blocks: the aiohttp exception (whose request_info
            # carries the signed headers) must not ride along as __context__.
            raise failure
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s %s -> HTTP %d in %.1f ms",
                self.exchange.name,
                endpoint.method,
                path_qs,
                status,
                (time.perf_counter() - started) * 1000,
            )
        return self._interpret(endpoint, status, body, retry_after)

    def _interpret(
        self, endpoint: Endpoint[T], status: int, body: bytes, retry_after: str | None
    ) -> T | None:
        spec = self.exchange
        why = ""
        try:
            envelope = endpoint.decoder.decode(body)
        except msgspec.DecodeError as exc:
            envelope = None
            why = f"{exc}; "  # names the field and row: "open_fee must be finite - at `$...`"
        if envelope is not None:
            code = None if envelope.code is None else str(envelope.code)
            if status == 200 and code == spec.success_code:
                return envelope.data
            raise spec.error(status, code, envelope.text, _seconds(retry_after))
        # The data did not fit the model: an error reply with odd data, or a broken body.
        try:
            head = status_decoder.decode(body)
        except msgspec.DecodeError:
            head = None
        if head is not None and head.code is not None and str(head.code) != spec.success_code:
            raise spec.error(status, str(head.code), head.text, _seconds(retry_after))
        if 300 <= status < 400:
            raise UnknownExchangeError(
                f"unexpected redirect (HTTP {status}); redirects are not followed",
                http_status=status,
                exchange=spec.name,
            )
        if status >= 500 or status == 429 or status in (401, 403, 404):
            raise spec.error(status, None, f"HTTP {status}", _seconds(retry_after))
        raise DecodeError(
            f"unexpected reply body for {endpoint.path}: {why}{_snippet(body)}",
            http_status=status,
            exchange=spec.name,
        )

    def __repr__(self) -> str:
        return f"<Session {self.exchange.name} {self.base_url} {self._state.value}>"


async def _on_headers_sent(
    session: aiohttp.ClientSession,
    context: SimpleNamespace,
    params: aiohttp.TraceRequestHeadersSentParams,
) -> None:
    reservation = getattr(context, "trace_request_ctx", None)
    if isinstance(reservation, Reservation):
        await reservation.sent()


def send_trace() -> aiohttp.TraceConfig:
    """A trace hook that tells a request's `Reservation` the moment its bytes leave.

    Without it (a caller's own ``aiohttp.ClientSession``), the reservation ends when the reply
    arrives instead: just as safe, a little slower for an account on a slow link.
    """
    trace = aiohttp.TraceConfig()
    trace.on_request_headers_sent.append(_on_headers_sent)
    return trace


def new_http_session(timeout: float, max_connections: int = 100) -> aiohttp.ClientSession:
    """The aiohttp session the SDK creates for itself (a client's own, or a poller's shared)."""
    http = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max_connections),
        headers={"User-Agent": _USER_AGENT},
        timeout=aiohttp.ClientTimeout(total=timeout),
        raise_for_status=False,
        trace_configs=[send_trace()],
    )
    _disable_silent_retry(http)
    return http


def _disable_silent_retry(http: aiohttp.ClientSession) -> None:
    # aiohttp re-sends an idempotent request once, by itself, when a connection drops. That
    # request would bypass the rate limiter (and the retry policy); aiohttp's own test client
    # turns it off the same way. Every attempt must be one the limiter counted.
    if hasattr(http, "_retry_connection"):
        http._retry_connection = False


def _normalize_base_url(base_url: str) -> str:
    if not isinstance(base_url, str):
        raise ValidationError("base_url must be a string")
    url = URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValidationError("base_url must be an http:// or https:// URL with a host")
    return str(url).rstrip("/")


def _seconds(header: str | None) -> float | None:
    if header is None:
        return None
    try:
        value = float(header)
    except ValueError:
        return None
    return value if value >= 0 else None


def _snippet(body: bytes, limit: int = 120) -> str:
    text = body[:limit].decode("utf-8", "replace")
    return repr(text + ("…" if len(body) > limit else ""))
