"""The request pipeline every exchange client runs on, one step per concern.

    request            the exact query, once (the bytes signed are the bytes sent)
    _send_with_retries carry out the `RetryPolicy`'s decision after each failed attempt
    _attempt           sync the server's clock if never done (`_sync_clock`), send, decode
    _transmit          limiter -> timestamp and sign -> transport (the permit is re-dated
                       when the bytes leave)
    decode_reply       envelope -> data -> the endpoint's conversion, or the mapped error

Exchange packages declare endpoints, an `ExchangeSpec` and a pure signing function; they never
see the transport, the limiter or the clock. What does not change between requests (headers,
the URL prefix, each endpoint's budgets, the event loop's limiter and clock) is worked out
once per client, or once per client and event loop.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from ..._errors import ClientClosedError, ExchangeError, ValidationError
from ..declarations import Endpoint, ExchangeSpec
from ..limits import Budget, Limiter, Permit, Scope, budgets_for, limiter_here
from ..paging import PageRule, Paginator
from ..transport import OnSent, Transport, TransportRequest, TransportResponse
from .clock import ServerClock, clock_for
from .options import ClientOptions
from .reply import decode_reply

__all__ = ["Pipeline", "PipelineStats", "Signer", "SignerFactory"]

T = TypeVar("T")
P = TypeVar("P")
I = TypeVar("I")  # noqa: E741

logger = logging.getLogger("exchange_async")

Signer = Callable[[int, str, str, str], Mapping[str, str]]
"""(timestamp_ms, METHOD, path_and_query, body) -> every header of a signed request. Pure."""

SignerFactory = Callable[[Mapping[str, str]], Signer]
"""(the headers every request carries) -> the client's `Signer`, built once."""

# Characters that no HTTP client or server re-encodes in a query value. Anything else would
# be percent-encoded by someone on the way, and the signature over the raw value would break.
_SAFE_VALUE = re.compile(r"[A-Za-z0-9\-_.~,:]*\Z")


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
        server: str,
        signer: SignerFactory,
        account_ids: tuple[str, ...],
        options: ClientOptions,
        transport: Transport,
        limiter: Limiter,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """``base_url`` is already checked; ``server`` is it without a password (for the
        limiter's and the clock's keys, reprs and messages)."""
        self.exchange = exchange
        self.base_url = base_url
        self.account_ids = account_ids
        self.options = options
        self.stats = PipelineStats()
        self._headers = {**exchange.headers, **(headers or {})}
        self._sign = signer(self._headers)
        self.transport = transport
        """Where the requests go (its owner closes it)."""
        self._limiter = limiter
        self._group = limiter.wait_group()
        self._server = server
        self._budgets: dict[Endpoint[Any], tuple[Budget, ...]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_limiter: Limiter = limiter  # the running loop's own (see `_bind_loop`)
        self._clock: ServerClock | None = None
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

    def check_open(self) -> None:
        """Raise `ClientClosedError` once ``close()`` was called."""
        if self._state is _State.CLOSED:
            raise ClientClosedError("the client is closed", exchange=self.exchange.name)

    def paginate(
        self, endpoint: Endpoint[P], params: Mapping[str, str], rule: PageRule[P, I]
    ) -> Paginator[P, I]:
        """A paginator over ``endpoint``: each next page sends ``endpoint.cursor_param``."""
        if endpoint.cursor_param is None:
            raise TypeError(f"{endpoint.path} declares no cursor_param: it is not paged")
        fetch = partial(self.request, endpoint, params)
        return Paginator(fetch, rule, exchange=self.exchange.name)

    # -- the steps, top to bottom ------------------------------------------------------------

    async def request(
        self, endpoint: Endpoint[T], params: Mapping[str, str], cursor: str | None = None
    ) -> T:
        """Send ``endpoint`` with ``params`` (and ``cursor`` as its ``cursor_param``) and return
        the envelope's ``data``, converted as the endpoint declares.

        Retries what `RetryPolicy` allows, every attempt through the rate limiter. Raises an
        `ExchangeError` subclass for every failure.
        """
        if self._state is _State.CLOSED:  # check_open(), without a call on every request
            raise ClientClosedError("the client is closed", exchange=self.exchange.name)
        if cursor is not None and endpoint.cursor_param is not None:  # see `paginate`
            params = {**params, endpoint.cursor_param: cursor}
        # The query, once: ``k1=v1&k2=v2``, keys sorted, values as they are (never
        # re-encoded: the bytes signed are the bytes sent). A value that would need encoding
        # is refused, because no exchange verifies such a signature reliably.
        path_qs = endpoint.path
        if params:
            for key, value in params.items():
                if not _SAFE_VALUE.match(value):
                    raise ValidationError(f"{key} has characters that cannot be sent unencoded")
            path_qs += "?" + "&".join([f"{key}={params[key]}" for key in sorted(params)])
        return await self._send_with_retries(endpoint, path_qs)

    async def _send_with_retries(self, endpoint: Endpoint[T], path_qs: str) -> T:
        policy = self.options.retry
        attempt = 1
        resynced = not endpoint.signed or self.exchange.server_time is None
        while True:
            try:
                return await self._attempt(endpoint, path_qs)
            except ExchangeError as error:
                failure = error
            budgets = self._budgets.get(endpoint, ())
            account = tuple(b for b in budgets if b.scope is not Scope.IP)
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
                    await self._loop_limiter.penalize(account, decision.pause_account)
            if not decision.retry:
                self.stats.errors += 1
                raise decision.error
            if decision.resync_clock:
                resynced = True
                assert self._clock is not None
                await self._sync_clock(self._clock, self._clock.generation)
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

    async def _attempt(self, endpoint: Endpoint[T], path_qs: str) -> T:
        if asyncio.get_running_loop() is not self._loop:
            self._bind_loop()
        clock = None
        if endpoint.signed and self.exchange.server_time is not None:
            clock = self._clock
            assert clock is not None
            if not clock.generation:  # the first signed request here: measure the clock
                await self._sync_clock(clock, 0)
        started = time.perf_counter()
        response = await self._transmit(endpoint, path_qs, clock)
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

    async def _transmit(
        self,
        endpoint: Endpoint[Any],
        path_qs: str,
        clock: ServerClock | None,
        sent_at: list[float] | None = None,
    ) -> TransportResponse:
        """One attempt on the wire; ``sent_at`` receives the local wall-clock ms at which the
        bytes left (for the clock step)."""
        budgets = self._budgets.get(endpoint)
        if budgets is None:
            budgets = self._budgets[endpoint] = budgets_for(
                self._server, endpoint.limits, self.account_ids, self.options.rate_limit_margin
            )
        permit = await self._loop_limiter.acquire(
            budgets, max_wait=self.options.max_rate_wait, group=self._group
        )
        # The common case hands the permit's own method on: no closure per request.
        on_sent: OnSent = permit.sent if sent_at is None else _stamping(sent_at, permit)
        now_ms = int(time.time() * 1000) + (clock.offset_ms if clock is not None else 0)
        task = asyncio.current_task()
        assert task is not None
        try:
            if self._state is _State.CLOSED:  # closed while this call waited for the limiter
                raise ClientClosedError("the client is closed", exchange=self.exchange.name)
            self.stats.requests += 1
            self._in_flight.add(task)
            # Built in the call, not in a local: this frame stays on a failure's traceback,
            # and must not hold the signed headers.
            return await self.transport.send(
                TransportRequest(
                    endpoint.method,
                    self.base_url + path_qs,
                    self._sign(now_ms, endpoint.method, path_qs, "")
                    if endpoint.signed
                    else self._headers,  # shared: a transport never changes it
                    None,
                    self.options.timeout,
                ),
                on_sent,
            )
        except asyncio.CancelledError:
            if task not in self._cut:
                raise
            self._cut.discard(task)
            task.uncancel()  # the cancellation was close()'s, not the caller's
            raise ClientClosedError("the client was closed", exchange=self.exchange.name) from None
        finally:
            self._in_flight.discard(task)
            permit.release()

    # -- once per event loop: the limiter and the clock of this loop --------------------------

    def _bind_loop(self) -> None:
        """Resolve, for the running loop, the limiter instance and the server's clock (a client
        used under a second ``asyncio.run()`` resolves them again there)."""
        self._loop = asyncio.get_running_loop()
        # The registry's limiter of this loop, called directly from now on (a caller's own
        # limiter object is used as it is).
        self._loop_limiter = limiter_here(self._limiter)
        if self.exchange.server_time is not None:
            self._clock = clock_for(self._server)

    async def _sync_clock(self, clock: ServerClock, seen_generation: int) -> None:
        """The clock step: measure the server's clock, unless another caller did since
        ``seen_generation``. Unavailable, the local clock is used until a timestamp is
        rejected."""
        rule = self.exchange.server_time
        assert rule is not None
        async with clock.lock:
            if clock.generation != seen_generation:
                return
            sent_at: list[float] = []
            try:
                response = await self._transmit(rule.endpoint, rule.endpoint.path, None, sent_at)
                received = time.time() * 1000
                server_ms = rule.read(decode_reply(self.exchange, rule.endpoint, response))
            except ExchangeError as error:
                logger.warning("server time unavailable (%s); using the local clock", error)
                clock.offset_ms = 0
            else:  # against the midpoint of the request's own round trip
                local_ms = ((sent_at[0] if sent_at else received) + received) / 2
                clock.offset_ms = round(server_ms - local_ms)
            clock.generation += 1

    def __repr__(self) -> str:
        return f"<Pipeline {self.exchange.name} {self._server} {self._state.value}>"


def _stamping(sent_at: list[float], permit: Permit) -> OnSent:
    """An `OnSent` that also notes the local wall-clock ms when the bytes leave."""

    def on_sent() -> Awaitable[None] | None:
        waiting = permit.sent()
        if waiting is not None:
            return _stamp_after(waiting, sent_at)
        if not sent_at:
            sent_at.append(time.time() * 1000)
        return None

    return on_sent


async def _stamp_after(waiting: Awaitable[None], sent_at: list[float]) -> None:
    await waiting
    if not sent_at:
        sent_at.append(time.time() * 1000)
