"""`Poller`: watch many accounts of either exchange side by side and stream what changes."""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import aiohttp

from .._core.client import BaseClient
from .._core.params import (
    check_choices,
    check_instance,
    check_int_range,
    check_seconds,
    check_token,
)
from .._core.retry import RetryPolicy
from .._core.secrets import require_text
from .._core.session import new_http_session
from .._errors import (
    AuthenticationError,
    ClientClosedError,
    ExchangeError,
    RateLimitError,
    TimestampError,
    ValidationError,
)
from ..bitget.auth import BitgetCredentials
from ..bitget.client import DEFAULT_BASE_URL as BITGET_URL
from ..bitget.client import BitgetClient
from ..bitget.models import ProductType
from ..coinw.auth import CoinWCredentials
from ..coinw.client import DEFAULT_BASE_URL as COINW_URL
from ..coinw.client import CoinWClient
from ..coinw.models import PositionType
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
from .sources import BitgetSource, CoinWSource, Source

__all__ = ["AccountState", "AccountStatus", "Poller"]

logger = logging.getLogger("exchange_async.poller")

_CLOSED = object()


class AccountState(enum.StrEnum):
    """Where an account's polling loop is."""

    STARTING = "starting"
    """Added; its first snapshot has not completed yet."""
    OK = "ok"
    """The last snapshot succeeded."""
    FAILING = "failing"
    """The last snapshot failed; retrying with back-off."""
    RATE_LIMITED = "rate_limited"
    """The exchange refused for rate; waiting before the next snapshot."""
    STOPPED = "stopped"
    """Not polled any more (authentication failure, or removed)."""


@dataclass(slots=True)
class AccountStatus:
    """A live view of one watched account (read it, do not change it)."""

    name: str
    exchange: str
    state: AccountState = AccountState.STARTING
    orders: int = 0
    """Orders in the last successful snapshot."""
    snapshots: int = 0
    """Successful snapshots so far."""
    failures: int = 0
    """Consecutive failed snapshots."""
    last_event: str | None = None
    """The kind of the account's latest event, e.g. ``OrderChanged``."""
    last_error: str | None = None
    last_snapshot_at: float | None = None
    """``time.monotonic()`` when the last successful snapshot finished."""
    client: BaseClient | None = field(default=None, repr=False)

    @property
    def requests(self) -> int:
        """Requests the account's client has sent."""
        return self.client.stats.requests if self.client is not None else 0


@dataclass(slots=True)
class _Account:
    status: AccountStatus
    source: Source
    interval: float | None
    known: dict[str, Order] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None


class Poller:
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
    ) -> None:
        if interval is not None:
            check_seconds("interval", interval)
        check_int_range("max_pending", max_pending, 1, 10**9)
        check_seconds("backoff", backoff, inclusive=False)
        check_seconds("max_backoff", max_backoff, inclusive=False)
        if not backoff <= max_backoff:
            raise ValidationError("backoff must be at most max_backoff")
        if retry is not None:
            check_instance("retry", retry, RetryPolicy)
        check_seconds("timeout", timeout, inclusive=False)
        check_int_range("max_connections", max_connections, 0, 100_000)
        self._interval = interval
        self._max_pending = max_pending
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._retry = retry or RetryPolicy()
        self._timeout = timeout
        self._max_connections = max_connections
        self._accounts: dict[str, _Account] = {}
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._slots: asyncio.Semaphore | None = None
        self._http: aiohttp.ClientSession | None = None
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
        self._http = new_http_session(self._timeout, self._max_connections)
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
        if self._http is not None:
            await self._http.close()
            self._http = None
        self._queue.put_nowait(_CLOSED)

    # -- accounts ------------------------------------------------------------------------------

    def add_bitget(
        self,
        name: str,
        credentials: BitgetCredentials,
        *,
        product_types: Iterable[ProductType | str] = (ProductType.USDT_FUTURES,),
        symbol: str | None = None,
        base_url: str = BITGET_URL,
        uid: str | int | None = None,
        interval: float | None = None,
    ) -> AccountStatus:
        """Watch every current tracking order of a Bitget elite trader."""
        kinds = check_choices("product_types", product_types, ProductType)
        if symbol is not None:
            check_token("symbol", symbol, max_length=40)
        client = BitgetClient(
            credentials,
            base_url=base_url,
            uid=uid,
            timeout=self._timeout,
            retry=self._retry,
        )
        return self._add(name, BitgetSource(client, kinds, symbol), interval)

    def add_coinw(
        self,
        name: str,
        credentials: CoinWCredentials,
        *,
        position_types: Iterable[PositionType | str] = tuple(PositionType),
        instrument: str | None = None,
        base_url: str = COINW_URL,
        uid: str | int | None = None,
        interval: float | None = None,
    ) -> AccountStatus:
        """Watch the unfilled CoinW futures orders of the chosen position types."""
        kinds = check_choices("position_types", position_types, PositionType)
        if instrument is not None:
            check_token("instrument", instrument, max_length=30)
        client = CoinWClient(
            credentials,
            base_url=base_url,
            uid=uid,
            timeout=self._timeout,
            retry=self._retry,
        )
        return self._add(name, CoinWSource(client, kinds, instrument), interval)

    def _add(self, name: str, source: Source, interval: float | None) -> AccountStatus:
        require_text("name", name)
        if self._closed:
            raise ClientClosedError("the poller is closed")
        if name in self._accounts:
            raise ValidationError(f"an account named {name!r} is already watched")
        if interval is not None:
            check_seconds("interval", interval)
        status = AccountStatus(name=name, exchange=source.exchange, client=source.client)
        account = _Account(status, source, interval if interval is not None else self._interval)
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

    def _launch(self, account: _Account) -> None:
        if self._http is not None:
            account.source.client._session.use_http(self._http)
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

    async def _emit(self, account: _Account, event: Event) -> None:
        assert self._slots is not None
        await self._slots.acquire()
        self._queue.put_nowait(event)
        kind = type(event).__name__
        self.event_counts[kind] += 1
        account.status.last_event = kind

    # -- one account's loop --------------------------------------------------------------------

    async def _poll(self, account: _Account) -> None:
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

    async def _poll_forever(self, account: _Account) -> None:
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

    async def _publish(self, account: _Account, snapshot: dict[str, Order], initial: bool) -> None:
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

    async def _failed(self, account: _Account, error: ExchangeError) -> None:
        status = account.status
        status.failures += 1
        status.last_error = f"{type(error).__name__}: {error}"
        delay = min(self._max_backoff, self._backoff * 2.0 ** (status.failures - 1))
        delay *= random.uniform(0.75, 1.25)
        name, exchange, now = status.name, status.exchange, time.time()
        if isinstance(error, RateLimitError):
            delay = max(delay, error.retry_after or 0.0)
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
    def _stopped(account: _Account, error: ExchangeError) -> AccountStopped:
        return AccountStopped(
            account=account.status.name,
            exchange=account.status.exchange,
            at=time.time(),
            reason=f"{type(error).__name__}: {error.message}",
            code=error.code,
        )
