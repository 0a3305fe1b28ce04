"""The request pipeline every exchange client runs on, one layer per concern.

    request            build the exact query once
    _send_with_retries carry out the `RetryPolicy`'s decision after each failed attempt
    _send_once         the clock, then one attempt, then decode the reply
    _exchange          limiter -> sign -> transport (the permit is re-dated when bytes leave)
    decode_reply       envelope -> data, or the mapped `ExchangeError`

Exchange packages declare endpoints, an `ExchangeSpec` and a pure signing function; they never
see the transport, the limiter or the clock.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from yarl import URL

from .._errors import ClientClosedError, ExchangeError, ValidationError
from .clock import ServerClock, clock_for
from .decode import decode_reply
from .endpoint import Endpoint
from .exchange import ExchangeSpec
from .limits import (
    DEFAULT_MARGIN,
    Budget,
    Limiter,
    Scope,
    budgets_for,
    limiter_here,
    validate_margin,
)
from .query import encode_query
from .retry import RetryPolicy
from .transport import OnSent, Transport, TransportRequest, TransportResponse

__all__ = ["Pipeline", "PipelineOptions", "PipelineStats", "Signer", "redact_url"]

T = TypeVar("T")

logger = logging.getLogger("exchange_async")

Signer = Callable[[int, str, str, str], Mapping[str, str]]
"""(timestamp_ms, METHOD, path_and_query, body) -> auth headers only. Pure; no clock, no I/O."""


@dataclass(frozen=True, slots=True)
class PipelineOptions:
    """Per-client request settings (see the clients' keyword arguments)."""

    timeout: float = 10.0
    """Seconds for one attempt in all: connecting, sending and reading the whole reply."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """What is retried and how long to wait between attempts."""
    rate_limit_margin: float = DEFAULT_MARGIN
    """Safety margin on every limit, as a fraction of its window (0.05: 5 % under the limit)."""
    max_rate_wait: float | None = None
    """Raise `RateLimitWaitTimeout` instead of queueing longer than this (seconds)."""

    def __post_init__(self) -> None:
        if not isinstance(self.timeout, int | float) or not 0 < self.timeout < float("inf"):
            raise ValidationError("timeout must be a positive number of seconds")
        wait = self.max_rate_wait
        if wait is not None and (not isinstance(wait, int | float) or not wait > 0):
            raise ValidationError("max_rate_wait must be positive or None")
        if not isinstance(self.retry, RetryPolicy):
            raise ValidationError("retry must be a RetryPolicy")
        validate_margin(self.rate_limit_margin)


@dataclass(slots=True)
class PipelineStats:
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
    OPEN = "open"
    CLOSED = "closed"


class Pipeline:
    """Runs requests of one account through limiter, signing, transport, decoding and retries.

    ``close()`` is idempotent: it fails every caller queued in the limiter at once with
    `ClientClosedError`, and a request after it raises the same.
    """

    def __init__(
        self,
        *,
        exchange: ExchangeSpec,
        base_url: str,
        signer: Signer,
        account_ids: tuple[str, ...],
        options: PipelineOptions,
        transport: Transport,
        limiter: Limiter,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.exchange = exchange
        self.base_url = normalize_base_url(base_url)
        self.account_ids = account_ids
        self.options = options
        self.stats = PipelineStats()
        self._signer = signer
        self._headers = {**exchange.headers, **(headers or {})}
        self._transport = transport
        self._limiter = limiter
        self._group = limiter.wait_group()
        self._here: tuple[asyncio.AbstractEventLoop, Limiter] | None = None  # per event loop
        self._server = redact_url(self.base_url)
        self._budgets: dict[Endpoint[Any], tuple[Budget, ...]] = {}
        self._state = _State.OPEN
        self._in_flight: set[asyncio.Task[Any]] = set()  # tasks waiting for a reply
        self._cut: set[asyncio.Task[Any]] = set()  # those `close` cancelled

    @property
    def closed(self) -> bool:
        """Whether ``close()`` has been called."""
        return self._state is _State.CLOSED

    def close(self) -> None:
        """Refuse new requests and fail the queued ones. Idempotent; the transport is the
        owner's to close."""
        self._state = _State.CLOSED
        self._group.close()
        for task in self._in_flight:  # a reply being read would otherwise run to its timeout
            self._cut.add(task)
            task.cancel()

    @property
    def limiter(self) -> Limiter:
        """The rate limiter this pipeline's requests wait for."""
        return self._limiter

    def _limiter_here(self) -> Limiter:
        """The concrete limiter of the running loop, resolved once per event loop."""
        loop = asyncio.get_running_loop()
        if self._here is None or self._here[0] is not loop:
            self._here = (loop, limiter_here(self._limiter))
        return self._here[1]

    def _check_open(self) -> None:
        if self._state is _State.CLOSED:
            raise ClientClosedError("the client is closed", exchange=self.exchange.name)

    # -- the layers, top to bottom -----------------------------------------------------------

    async def request(self, endpoint: Endpoint[T], params: Mapping[str, str]) -> T:
        """Send ``endpoint`` with ``params`` and return the envelope's ``data``.

        Retries what `RetryPolicy` allows, every attempt through the rate limiter. Raises an
        `ExchangeError` subclass for every failure.
        """
        self._check_open()
        query = encode_query(params)
        path_qs = f"{endpoint.path}?{query}" if query else endpoint.path
        return await self._send_with_retries(endpoint, path_qs)

    async def _send_with_retries(self, endpoint: Endpoint[T], path_qs: str) -> T:
        policy = self.options.retry
        attempt = 1
        resynced = not self._has_clock(endpoint)
        while True:
            try:
                return await self._send_once(endpoint, path_qs)
            except ExchangeError as error:
                failure = error
            account = self._account_budgets(endpoint)
            decision = policy.decide(
                failure,
                attempt,
                method=endpoint.method,
                clock_resynced=resynced,
                max_rate_wait=self.options.max_rate_wait,
                can_pause_account=bool(account),
            )
            if decision.pause_account:
                self.stats.rate_limited += 1
                if account:
                    await self._limiter_here().penalize(account, decision.pause_account)
            if not decision.retry:
                self.stats.errors += 1
                raise decision.error
            if decision.resync_clock:
                resynced = True
                await self._resync_clock()
            else:
                attempt += 1
            self.stats.retries += 1
            logger.info(
                "%s %s %s: %s; retrying in %.2fs",
                self.exchange.name,
                endpoint.method,
                endpoint.path,
                failure,
                decision.wait,
            )
            if decision.wait:
                await asyncio.sleep(decision.wait)

    async def _send_once(self, endpoint: Endpoint[T], path_qs: str) -> T:
        clock = await self._synced_clock(endpoint)
        started = time.perf_counter()
        response = await self._exchange(endpoint, path_qs, clock)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s %s -> HTTP %d in %.1f ms",
                self.exchange.name,
                endpoint.method,
                path_qs,
                response.status,
                (time.perf_counter() - started) * 1000,
            )
        return decode_reply(self.exchange, endpoint, response)

    async def _exchange(
        self,
        endpoint: Endpoint[Any],
        path_qs: str,
        clock: ServerClock | None,
        sent_at: list[float] | None = None,
    ) -> TransportResponse:
        permit = await self._limiter_here().acquire(
            self._budgets_for(endpoint), max_wait=self.options.max_rate_wait, group=self._group
        )

        on_sent: OnSent = permit.sent  # the common case: no closure per request
        if sent_at is not None:

            def on_sent() -> Awaitable[None] | None:
                waiting = permit.sent()
                if waiting is not None:
                    return _stamp_after(waiting, sent_at)
                if not sent_at:
                    sent_at.append(time.time() * 1000)
                return None

        task = asyncio.current_task()
        assert task is not None
        try:
            self._check_open()
            self.stats.requests += 1
            self._in_flight.add(task)
            return await self._transport.send(self._prepare(endpoint, path_qs, clock), on_sent)
        except asyncio.CancelledError:
            if task not in self._cut:
                raise
            self._cut.discard(task)
            task.uncancel()  # the cancellation was close()'s, not the caller's
            raise ClientClosedError("the client was closed", exchange=self.exchange.name) from None
        finally:
            self._in_flight.discard(task)
            permit.release()

    def _prepare(
        self, endpoint: Endpoint[Any], path_qs: str, clock: ServerClock | None
    ) -> TransportRequest:
        headers = self._headers
        if endpoint.signed:
            now_ms = clock.now_ms() if clock is not None else int(time.time() * 1000)
            headers = {**headers, **self._signer(now_ms, endpoint.method, path_qs, "")}
        else:
            headers = dict(headers)
        return TransportRequest(
            endpoint.method, self.base_url + path_qs, headers, None, self.options.timeout
        )

    # -- budgets and the clock ---------------------------------------------------------------

    def _budgets_for(self, endpoint: Endpoint[Any]) -> tuple[Budget, ...]:
        budgets = self._budgets.get(endpoint)
        if budgets is None:
            budgets = self._budgets[endpoint] = budgets_for(
                self._server, endpoint.limits, self.account_ids, self.options.rate_limit_margin
            )
        return budgets

    def _account_budgets(self, endpoint: Endpoint[Any]) -> tuple[Budget, ...]:
        return tuple(b for b in self._budgets_for(endpoint) if b.scope is not Scope.IP)

    def _has_clock(self, endpoint: Endpoint[Any]) -> bool:
        return endpoint.signed and self.exchange.server_time is not None

    async def _synced_clock(self, endpoint: Endpoint[Any]) -> ServerClock | None:
        if not self._has_clock(endpoint):
            return None
        clock = clock_for(self._server)
        await clock.ensure_synced(self._measure_server_time)
        return clock

    async def _resync_clock(self) -> None:
        clock = clock_for(self._server)
        await clock.resync(self._measure_server_time, seen_generation=clock.generation)

    async def _measure_server_time(self) -> tuple[int, float]:
        """(the server's time in ms, local wall-clock ms in the middle of that request)."""
        rule = self.exchange.server_time
        assert rule is not None
        sent_at: list[float] = []
        response = await self._exchange(rule.endpoint, rule.endpoint.path, None, sent_at)
        received = time.time() * 1000
        server_ms = rule.read(decode_reply(self.exchange, rule.endpoint, response))
        return server_ms, ((sent_at[0] if sent_at else received) + received) / 2

    def __repr__(self) -> str:
        return f"<Pipeline {self.exchange.name} {self._server} {self._state.value}>"


async def _stamp_after(waiting: Awaitable[None], sent_at: list[float]) -> None:
    await waiting
    if not sent_at:
        sent_at.append(time.time() * 1000)


def normalize_base_url(base_url: object) -> str:
    """``base_url`` checked (http or https, with a host), without a trailing slash."""
    if not isinstance(base_url, str):
        raise ValidationError("base_url must be a string")
    try:
        url = URL(base_url)
    except ValueError:
        raise ValidationError("base_url is not a valid URL") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValidationError("base_url must be an http:// or https:// URL with a host")
    return str(url).rstrip("/")


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for reprs, messages and limiter keys)."""
    parsed = URL(url)
    if parsed.password is None:
        return url
    return str(parsed.with_password("***")).rstrip("/")
