"""`Poller`: watch many accounts of either exchange side by side and stream what changes."""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from types import TracebackType
from typing import Self

from .._core.limits import Limiter, limiter_for, release_limiter
from .._core.params import check_instance, check_seconds
from .._core.pipeline.options import ClientOptions
from .._core.pipeline.retry import RetryPolicy
from .._core.pipeline.signing import require_text
from .._core.transport import Transport
from .._core.transport.lean import LeanTransport
from .._errors import ClientClosedError, ValidationError
from .events import Event
from .loop import AccountLoop
from .publish import JoinsFleet, LocalPublisher, Publisher
from .shortcuts import ExchangeShortcuts
from .sources import Source
from .status import Account, AccountState, AccountStatus, check_poller_options
from .tasks import stop

__all__ = ["AccountState", "AccountStatus", "Poller"]

logger = logging.getLogger("exchange_async.poller")

_CLOSED = object()


class Poller(ExchangeShortcuts, AccountLoop):
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

    With ``fleet`` (an `ea.Fleet`), this poller is one worker of many: every worker adds the
    same accounts, and each polls only the accounts whose lease it holds, resuming each from
    its checkpoint in Redis; every event is committed to the fleet's stream (read it with
    `ea.FleetEvents`) before it is yielded here. See "Running a fleet" in the docs.
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
        fleet: JoinsFleet | None = None,
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
        self._publisher: Publisher = LocalPublisher(self) if fleet is None else _joined(fleet, self)
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
        try:
            await self._publisher.start()
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Stop every account task and close every session. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._running = False
        await stop(*(a.task for a in self._accounts.values() if a.task is not None))
        try:
            await self._publisher.aclose()  # a fleet gives its leases back: polling stopped
        except Exception:  # closing goes on; the leases lapse by themselves
            logger.warning("the fleet worker did not close cleanly", exc_info=True)
        for account in self._accounts.values():
            await account.source.client.close()
        try:
            if self._owns_transport:
                await self._transport.aclose()
        finally:
            await release_limiter(self._limiter)
            self._queue.put_nowait(_CLOSED)

    # -- accounts ------------------------------------------------------------------------------

    def _client_options(self, name: str) -> ClientOptions:
        """The options of the clients built for account ``name`` (its transport may be
        wrapped by the fleet, to send only while this worker holds the account)."""
        transport = self._publisher.transport_for(name, self._transport)
        if transport is self._transport:
            return self._options  # one checked object for every client
        return replace(self._options, transport=transport)

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
        if not isinstance(self._publisher, LocalPublisher):
            status.state = AccountState.IDLE  # until its fleet gives this worker its lease
        account = Account(status, source, interval if interval is not None else self._interval)
        self._accounts[name] = account
        if self._running:
            self._publisher.added(name)
        return status

    async def remove(self, name: str) -> None:
        """Stop watching ``name``: cancel its task and close its client. No event is emitted."""
        account = self._accounts.pop(name, None)
        if account is None:
            raise ValidationError(f"no account named {name!r}")
        if account.task is not None:
            await stop(account.task)
        account.status.state = AccountState.STOPPED
        await account.source.client.close()

    @property
    def accounts(self) -> dict[str, AccountStatus]:
        """A live status per watched account, by name."""
        return {name: a.status for name, a in self._accounts.items()}

    # -- what a publisher (a fleet's worker) may do ---------------------------------------------

    def names(self) -> list[str]:
        """The names of every account added (for the fleet)."""
        return list(self._accounts)

    def launch(self, name: str) -> None:
        """Start polling ``name`` unless it runs, stopped for good, or is unknown."""
        account = self._accounts.get(name)
        if account is None or not self._running:
            return
        if account.task is not None and not account.task.done():
            return
        if account.status.state is AccountState.STOPPED:
            return
        if account.status.state is AccountState.IDLE:
            account.status.state = AccountState.STARTING
        account.task = asyncio.create_task(
            self._poll(account), name=f"exchange_async.poller:{account.status.name}"
        )

    async def halt(self, name: str) -> None:
        """Stop polling ``name`` (another worker takes it over) and wait for its task."""
        account = self._accounts.get(name)
        if account is None or account.task is None:
            return
        await stop(account.task)
        account.task = None
        if account.status.state is not AccountState.STOPPED:
            account.status.state = AccountState.IDLE

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


def _joined(fleet: JoinsFleet, poller: Poller) -> Publisher:
    """The fleet's worker for ``poller`` (``ea.Fleet.publisher``)."""
    factory = getattr(fleet, "publisher", None)
    if not callable(factory):
        raise ValidationError("fleet must be an ea.Fleet")
    publisher: Publisher = factory(poller)
    return publisher
