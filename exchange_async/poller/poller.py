"""`Poller`: watch many accounts of either exchange side by side and stream what changes."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Self

from .._core.limits import Limiter, limiter_for, release_limiter
from .._core.params import check_instance, check_seconds
from .._core.pipeline.options import ClientOptions
from .._core.pipeline.retry import RetryPolicy
from .._core.pipeline.signing import require_text
from .._core.transport import Transport
from .._core.transport.lean import LeanTransport
from .._errors import (
    AuthenticationError,
    ClientClosedError,
    ExchangeError,
    RateLimitError,
    TimestampError,
    ValidationError,
)
from .diff import diff_snapshots
from .events import (
    AccountError,
    AccountRateLimited,
    AccountRecovered,
    AccountStopped,
    AccountSynced,
    Event,
    Order,
    OrderChanged,
    OrderClosed,
    OrderOpened,
)
from .shortcuts import ExchangeShortcuts
from .sources import Source
from .status import Account, AccountState, AccountStatus, check_poller_options

__all__ = ["AccountState", "AccountStatus", "Poller"]

logger = logging.getLogger("exchange_async.poller")

_CLOSED = object()


class Poller(ExchangeShortcuts):
    """Watches many accounts at once and yields `Event`\\ s as their orders change.

    ::

        async with ea.Poller() as poller:
            poller.add_bitget("desk-1", bitget_credentials)
            poller.add_coinw("risk-7", coinw_credentials, position_types=["plan"])
            async for event in poller:
                ...

    Each account has its own task: it takes a snapshot (all pages), compares it with the last
    one and emits `OrderOpened` / `OrderChanged` / `OrderClosed`, then starts the next
    snapshot after ``interval`` seconds, or at once when ``interval`` is ``None``: its rate
    limiters, shared with every other client of the account, then set the pace. A failing
    account backs off on its own (``AccountError``, ``AccountRateLimited``, then
    ``AccountRecovered``) and never slows the others; an authentication failure stops it
    (``AccountStopped``).

    Events wait in a queue of at most ``max_pending`` events; when the consumer falls behind,
    account tasks wait before emitting more (and so before polling again), so memory stays
    bounded. Leaving ``async with`` (or ``aclose()``) cancels every task and closes every
    HTTP session; a consumer still iterating then gets the events already queued, and the
    iteration ends.

    Any exchange plugs in through `add` with a snapshot source; `add_bitget` and `add_coinw`
    build one for you. The clients it builds share one connection pool (``max_connections``)
    or ``transport``, and keep their limits where ``rate_limits`` says (None: in-process).
    Back-off between failed snapshots follows a `RetryPolicy` built from ``backoff`` and
    ``max_backoff`` (seconds), and never less than a server's ``Retry-After``. ``retry`` and
    ``timeout`` (seconds per attempt) are the clients' own.
    """

    def __init__(
        self,
        *,
        interval: float | None = None,
        max_pending: int = 1000,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        retry: RetryPolicy | None = None,
        timeout: float = 10.0,
        max_connections: int = 100,
        transport: Transport | None = None,
        rate_limits: str | Limiter | None = None,
    ) -> None:
        check_poller_options(interval, max_pending, backoff, max_backoff)
        if retry is not None:
            check_instance("retry", retry, RetryPolicy)
        timeout = check_seconds("timeout", timeout, inclusive=False)
        self._interval = interval
        self._max_pending = max_pending
        self._backoff = RetryPolicy(
            base_delay=backoff, max_delay=max_backoff, rate_limit_delay=backoff
        )
        # The failure count past which the back-off stops doubling (it has reached the cap).
        self._max_doublings = 1 + max(0, math.ceil(math.log2(max_backoff / backoff)))
        self._retry = retry or RetryPolicy()
        # One limiter for all the poller's clients (a URL's connection is shared, and given
        # back when the poller closes); checked now, not when the first account is added.
        self._limiter = limiter_for(rate_limits)
        self._owns_transport = transport is None
        self._transport: Transport = transport or LeanTransport(max_connections=max_connections)
        # One checked set of options for every client the poller builds.
        self._options = ClientOptions(
            timeout=timeout, retry=self._retry, rate_limits=self._limiter, transport=self._transport
        )
        self._accounts: dict[str, Account] = {}
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._slots: asyncio.Semaphore | None = None
        self._running = False
        self._closed = False
        self.event_counts: Counter[str] = Counter()
        """How many events of each kind were emitted."""

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start polling every account added so far (``async with`` does this)."""
        if self._closed:
            raise ClientClosedError("the poller is closed")
        if self._running:
            return
        self._slots = asyncio.Semaphore(self._max_pending)
        self._running = True
        for account in self._accounts.values():
            self._launch(account)

    async def aclose(self) -> None:
        """Stop every account task and close every session. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._running = False
        tasks = [a.task for a in self._accounts.values() if a.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for account in self._accounts.values():
            await account.source.client.close()
        try:
            if self._owns_transport:
                await self._transport.aclose()
        finally:
            await release_limiter(self._limiter)
            self._queue.put_nowait(_CLOSED)

    # -- accounts ------------------------------------------------------------------------------

    def _client_options(self) -> ClientOptions:
        return self._options

    def _check_name(self, name: str) -> None:
        require_text("name", name)
        if self._closed:
            raise ClientClosedError("the poller is closed")
        if name in self._accounts:
            raise ValidationError(f"an account named {name!r} is already watched")

    def add(self, name: str, source: Source, *, interval: float | None = None) -> AccountStatus:
        """Watch the account ``source`` snapshots (any exchange), under ``name``.

        ``interval`` overrides the poller's seconds between snapshots for this account. The
        poller closes ``source.client`` when the account is removed or the poller closes.
        """
        self._check_name(name)
        check_poller_options(interval, 1, 1.0, 1.0)
        status = AccountStatus(name=name, exchange=source.exchange, client=source.client)
        account = Account(status, source, interval if interval is not None else self._interval)
        self._accounts[name] = account
        if self._running:
            self._launch(account)
        return status

    async def remove(self, name: str) -> None:
        """Stop watching ``name``: cancel its task and close its client. No event is emitted."""
        account = self._accounts.pop(name, None)
        if account is None:
            raise ValidationError(f"no account named {name!r}")
        if account.task is not None:
            account.task.cancel()
            await asyncio.gather(account.task, return_exceptions=True)
        account.status.state = AccountState.STOPPED
        await account.source.client.close()

    @property
    def accounts(self) -> dict[str, AccountStatus]:
        """A live status per watched account, by name."""
        return {name: a.status for name, a in self._accounts.items()}

    def _launch(self, account: Account) -> None:
        account.task = asyncio.create_task(
            self._poll(account), name=f"exchange_async.poller:{account.status.name}"
        )

    # -- events --------------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        if not self._running and not self._closed:
            raise ClientClosedError("the poller is not running: use `async with Poller()`")
        while True:
            item = await self._queue.get()
            if item is _CLOSED:
                self._queue.put_nowait(_CLOSED)  # for any other consumer
                return
            assert self._slots is not None
            self._slots.release()
            assert isinstance(item, Event)
            yield item

    async def _emit(self, account: Account, event: Event) -> None:
        assert self._slots is not None
        await self._slots.acquire()
        self._queue.put_nowait(event)
        kind = type(event).__name__
        self.event_counts[kind] += 1
        account.status.last_event = kind

    # -- one account's loop --------------------------------------------------------------------

    async def _poll(self, account: Account) -> None:
        try:
            await self._poll_forever(account)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a bug must not make an account vanish silently
            logger.exception("%s: polling stopped by an unexpected error", account.status.name)
            account.status.state = AccountState.STOPPED
            account.status.last_error = f"{type(error).__name__}: {error}"
            await self._emit(
                account,
                AccountStopped(
                    account=account.status.name,
                    exchange=account.status.exchange,
                    at=time.time(),
                    reason=f"internal error: {type(error).__name__}",
                ),
            )

    async def _poll_forever(self, account: Account) -> None:
        status = account.status
        loop = asyncio.get_running_loop()
        first = True
        while True:
            started = loop.time()
            try:
                snapshot = await account.source.snapshot()
            except (AuthenticationError, ValidationError, ClientClosedError) as error:
                if isinstance(error, TimestampError):
                    await self._failed(account, error)
                    continue
                status.state = AccountState.STOPPED
                status.last_error = str(error)
                await self._emit(account, self._stopped(account, error))
                return
            except ExchangeError as error:
                await self._failed(account, error)
                continue
            if status.failures:
                await self._emit(
                    account,
                    AccountRecovered(
                        account=status.name,
                        exchange=status.exchange,
                        at=time.time(),
                        failures=status.failures,
                    ),
                )
            status.failures = 0
            status.state = AccountState.OK
            await self._publish(account, snapshot, initial=first)
            first = False
            status.snapshots += 1
            status.orders = len(snapshot)
            status.last_snapshot_at = time.monotonic()
            if account.interval:
                await asyncio.sleep(max(0.0, account.interval - (loop.time() - started)))
            else:
                await asyncio.sleep(0)  # let other accounts' tasks run between snapshots

    async def _publish(
        self, account: Account, snapshot: Mapping[str, Order], initial: bool
    ) -> None:
        status = account.status
        diff = diff_snapshots(account.known, snapshot)
        common = {"account": status.name, "exchange": status.exchange}
        for key, order in diff.opened:
            await self._emit(
                account,
                OrderOpened(**common, at=time.time(), key=key, order=order, initial=initial),
            )
            account.known[key] = order
        for key, old, new, changes in diff.changed:
            await self._emit(
                account,
                OrderChanged(
                    **common, at=time.time(), key=key, order=new, previous=old, changes=changes
                ),
            )
            account.known[key] = new
        for key, order in diff.closed:
            await self._emit(account, OrderClosed(**common, at=time.time(), key=key, order=order))
            del account.known[key]
        if initial:
            await self._emit(account, AccountSynced(**common, at=time.time(), orders=len(snapshot)))

    async def _failed(self, account: Account, error: ExchangeError) -> None:
        status = account.status
        status.failures += 1
        status.last_error = f"{type(error).__name__}: {error}"
        delay = self._backoff.delay(error, min(status.failures, self._max_doublings))
        name, exchange, now = status.name, status.exchange, time.time()
        if isinstance(error, RateLimitError):
            status.state = AccountState.RATE_LIMITED
            event: Event = AccountRateLimited(
                account=name, exchange=exchange, at=now, retry_in=delay, failures=status.failures
            )
        else:
            status.state = AccountState.FAILING
            event = AccountError(
                account=name,
                exchange=exchange,
                at=now,
                error=type(error).__name__,
                message=error.message,
                code=error.code,
                failures=status.failures,
                retry_in=delay,
            )
        logger.info("%s: %s; next snapshot in %.1fs", status.name, status.last_error, delay)
        await self._emit(account, event)
        await asyncio.sleep(delay)

    @staticmethod
    def _stopped(account: Account, error: ExchangeError) -> AccountStopped:
        return AccountStopped(
            account=account.status.name,
            exchange=account.status.exchange,
            at=time.time(),
            reason=f"{type(error).__name__}: {error.message}",
            code=error.code,
        )
