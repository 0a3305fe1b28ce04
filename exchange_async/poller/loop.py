"""One account's polling loop: snapshot, diff, record, emit; back off on failure."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping

from .._core.pipeline.retry import RetryPolicy
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
from .publish import CommitError, LeaseLostError, Publisher
from .status import Account, AccountState

__all__ = ["AccountLoop"]

logger = logging.getLogger("exchange_async.poller")


class AccountLoop:
    """The per-account task of `Poller` (a mixin: the poller holds the state it reads)."""

    _backoff: RetryPolicy
    _max_doublings: int
    _publisher: Publisher

    async def _emit(self, account: Account, event: Event) -> None:
        raise NotImplementedError

    async def _record(self, account: Account, events: list[Event]) -> None:
        """Commit ``events`` through the publisher, then hand them to the consumer."""
        for event in await self._publisher.commit(account, events):
            await self._emit(account, event)

    async def _poll(self, account: Account) -> None:
        try:
            await self._poll_forever(account)
        except asyncio.CancelledError:
            raise
        except LeaseLostError:  # another worker polls it now: nothing to say
            if account.status.state is not AccountState.STOPPED:
                account.status.state = AccountState.IDLE
        except Exception as error:  # a bug must not make an account vanish silently
            logger.exception("%s: polling stopped by an unexpected error", account.status.name)
            account.status.state = AccountState.STOPPED
            account.status.last_error = f"{type(error).__name__}: {error}"
            reason = f"internal error: {type(error).__name__}"
            await self._emit(account, self._stopped(account, reason))

    async def _poll_forever(self, account: Account) -> None:
        status = account.status
        loop = asyncio.get_running_loop()
        initial = await self._publisher.resume(account)
        while True:
            started = loop.time()
            if not self._publisher.may_poll(account):
                raise LeaseLostError(f"the lease on account {status.name!r} lapsed")
            try:
                snapshot = await account.source.snapshot()
            except (AuthenticationError, ValidationError, ClientClosedError) as error:
                if isinstance(error, TimestampError):
                    await self._failed(account, error)
                    continue
                status.state = AccountState.STOPPED
                status.last_error = str(error)
                reason = f"{type(error).__name__}: {error.message}"
                await self._record(account, [self._stopped(account, reason, error.code)])
                return
            except LeaseLostError:
                raise
            except ExchangeError as error:
                await self._failed(account, error)
                continue
            try:
                await self._succeeded(account, snapshot, initial=initial)
            except CommitError as error:
                await self._failed(account, error, record=False)
                # Only the reply may have been lost (the commit went through): go on from
                # the checkpoint, or the next snapshot would announce the same changes again.
                initial = await self._publisher.resume(account)
                continue
            initial = False
            if account.interval:
                await asyncio.sleep(max(0.0, account.interval - (loop.time() - started)))
            else:
                await asyncio.sleep(0)  # let other accounts' tasks run between snapshots

    async def _succeeded(
        self, account: Account, snapshot: Mapping[str, Order], *, initial: bool
    ) -> None:
        """Record what changed since the last snapshot (in a fleet: since the checkpoint); the
        account's first snapshot ever ends with `AccountSynced`."""
        status = account.status
        common = {"account": status.name, "exchange": status.exchange}
        events = self._diff_events(account, snapshot, initial=initial)
        if status.failures:
            recovered = AccountRecovered(
                account=status.name,
                exchange=status.exchange,
                at=time.time(),
                failures=status.failures,
            )
            events.insert(0, recovered)
        if initial:
            events.append(AccountSynced(**common, at=time.time(), orders=len(snapshot)))
        await self._record(account, events)
        account.known = dict(snapshot)
        status.failures = 0
        status.state = AccountState.OK
        status.snapshots += 1
        status.orders = len(snapshot)
        status.last_snapshot_at = time.monotonic()

    @staticmethod
    def _diff_events(
        account: Account, snapshot: Mapping[str, Order], *, initial: bool
    ) -> list[Event]:
        """The order events from the account's last known orders to ``snapshot``."""
        diff = diff_snapshots(account.known, snapshot)
        common = {"account": account.status.name, "exchange": account.status.exchange}
        now = time.time()
        events: list[Event] = [
            OrderOpened(**common, at=now, key=key, order=order, initial=initial)
            for key, order in diff.opened
        ]
        events.extend(
            OrderChanged(**common, at=now, key=key, order=new, previous=old, changes=changes)
            for key, old, new, changes in diff.changed
        )
        events.extend(
            OrderClosed(**common, at=now, key=key, order=order) for key, order in diff.closed
        )
        return events

    async def _failed(self, account: Account, error: ExchangeError, *, record: bool = True) -> None:
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
        if record:
            # The fleet's Redis down too: the account just waits and retries.
            with contextlib.suppress(CommitError):
                await self._record(account, [event])
        await asyncio.sleep(delay)

    @staticmethod
    def _stopped(account: Account, reason: str, code: str | None = None) -> AccountStopped:
        status = account.status
        return AccountStopped(
            account=status.name, exchange=status.exchange, at=time.time(), reason=reason, code=code
        )
