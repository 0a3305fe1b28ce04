"""The demo's bookkeeping: counters, phases, each account's orders as its events told them,
and the final check of those orders against the simulator's truth."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ... import (
    AccountError,
    AccountRateLimited,
    AccountStatus,
    AccountStopped,
    AccountSynced,
    Event,
    OrderChanged,
    OrderClosed,
    OrderOpened,
    Poller,
)
from .frame import AccountRow, Frame, counted, sort_rows
from .rates import BITGET_PER_ACCOUNT, BITGET_PER_IP, COINW_PER_ACCOUNT, RateMeter

if TYPE_CHECKING:
    from .._sim import FleetAccount, Simulator

__all__ = [
    "BITGET_PER_ACCOUNT",
    "BITGET_PER_IP",
    "COINW_PER_ACCOUNT",
    "Check",
    "Tracker",
    "describe",
]


def describe(event: Event) -> str:
    """One short line for the events stream."""
    who = f"{event.account:<11}"
    if isinstance(event, OrderOpened):
        tag = "initial" if event.initial else "opened "
        return f"{who} {tag} {event.key} {_order_label(event.order)}"
    if isinstance(event, OrderChanged):
        return f"{who} changed {event.key} {', '.join(event.changes)}"
    if isinstance(event, OrderClosed):
        return f"{who} closed  {event.key}"
    if isinstance(event, AccountSynced):
        return f"{who} synced  {counted(event.orders, 'order')} in the first snapshot"
    if isinstance(event, AccountError):
        return f"{who} error   {event.error} ({event.failures}x), retry in {event.retry_in:.1f}s"
    if isinstance(event, AccountRateLimited):
        return f"{who} rate-limited, retry in {event.retry_in:.1f}s"
    if isinstance(event, AccountStopped):
        return f"{who} STOPPED {event.reason}"
    return f"{who} {type(event).__name__}"


def _order_label(order: Any) -> str:
    symbol = getattr(order, "symbol", None) or getattr(order, "instrument", "")
    side = getattr(order, "pos_side", None) or getattr(order, "direction", "")
    return f"{symbol} {side}"


@dataclass(slots=True)
class Check:
    """The events-versus-simulator comparison after the settling phase."""

    checked: int = 0
    """Accounts compared."""
    lost: int = 0
    """Orders open at the simulator that the events never reported (or reported closed)."""
    invented: int = 0
    """Orders the events say are open that are not, plus events contradicting earlier ones."""
    not_caught_up: list[str] = field(default_factory=list)
    """Accounts with a first snapshot but none completed on the frozen data: not compared."""


class Tracker(RateMeter):
    """The poller over the fleet, plus what the views and the summary read."""

    def __init__(
        self,
        sim: Simulator,
        poller: Poller,
        fleet: list[FleetAccount],
        *,
        duration: float,
        settle_limit: float,
        recent: int = 50,
    ) -> None:
        super().__init__()
        self.sim = sim
        self.poller = poller
        self.fleet = fleet
        self.duration = duration
        self.settle_limit = settle_limit
        self.on_event: Callable[[Event], None] | None = None
        """Called with every event (the status-lines view prints them with ``--events``)."""
        self.recent: deque[str] = deque(maxlen=recent)
        self.orders: Counter[str] = Counter()
        self.books: dict[str, dict[str, Any]] = {}
        """Each account's open orders as its events describe them."""
        self.contradictions = 0
        self.phase = "running"
        self.ended_at: float | None = None
        self.targets: dict[str, int] = {}

    # -- counters -------------------------------------------------------------------------------

    def requests(self) -> int:
        """Requests sent so far, every account."""
        return sum(s.requests for s in self.poller.accounts.values())

    def retries(self) -> int:
        """Retries so far, every account."""
        return sum(s.client.stats.retries for s in self.poller.accounts.values() if s.client)

    # -- events ---------------------------------------------------------------------------------

    async def consume(self) -> None:
        """Read every event of the poller until it closes."""
        async for event in self.poller:
            self._count(event)
            self._book(event)
            if not (isinstance(event, OrderOpened) and event.initial):
                self.recent.append(describe(event))
            if self.on_event is not None:
                self.on_event(event)

    def _count(self, event: Event) -> None:
        if isinstance(event, OrderOpened):
            self.orders["initial" if event.initial else "opened"] += 1
        elif isinstance(event, OrderChanged):
            self.orders["changed"] += 1
        elif isinstance(event, OrderClosed):
            self.orders["closed"] += 1

    def _book(self, event: Event) -> None:
        book = self.books.setdefault(event.account, {})
        if isinstance(event, OrderOpened):
            self.contradictions += event.key in book
            book[event.key] = event.order
        elif isinstance(event, OrderChanged):
            self.contradictions += book.get(event.key) != event.previous
            book[event.key] = event.order
        elif isinstance(event, OrderClosed):
            self.contradictions += book.pop(event.key, None) is None

    # -- phases ---------------------------------------------------------------------------------

    def freeze(self) -> None:
        """The data stopped changing: every live account must now complete a whole snapshot
        started after this moment (two more than it has) before it can be checked."""
        self.frozen_at = time.monotonic()
        self.run_requests = self.requests()
        self.phase = "settling"
        self.targets = {
            s.name: s.snapshots + 2
            for s in self.poller.accounts.values()
            if s.state not in ("stopped", "idle")  # idle: another worker of a fleet holds it
        }

    def waiting(self) -> list[str]:
        """While settling: accounts that have not caught up with the frozen data yet."""
        statuses = self.poller.accounts
        return [
            name
            for name, target in self.targets.items()
            if name in statuses
            and statuses[name].state not in ("stopped", "idle")
            and statuses[name].snapshots < target
        ]

    def finish(self, *, interrupted: bool) -> Frame:
        """End the demo; the returned frame is the last one shown and the summary's numbers."""
        now = time.monotonic()
        if self.frozen_at is None:
            self.frozen_at = now
            self.run_requests = self.requests()
        self.ended_at = now
        self.phase = "interrupted" if interrupted else "done"
        return self.frame(rows=len(self.poller.accounts))

    # -- pictures -------------------------------------------------------------------------------

    def frame(self, *, rows: int = 200) -> Frame:
        """The numbers now, with the first ``rows`` accounts (problems first)."""
        now = self.ended_at or time.monotonic()
        statuses = list(self.poller.accounts.values())
        states = Counter(s.state.value for s in statuses)
        run_end = self.frozen_at or now
        requests = self.requests()
        return Frame(
            phase=self.phase,
            elapsed=now - self.started,
            duration=self.duration,
            run_seconds=run_end - self.started,
            settle_seconds=now - self.frozen_at if self.frozen_at else 0.0,
            settle_limit=self.settle_limit,
            waiting=len(self.waiting()) if self.phase == "settling" else 0,
            rate=self._rate(now),
            allowed=self.allowed_rate(),
            rate_seconds=self._rate_seconds(now),
            requests=requests,
            run_requests=self.run_requests if self.frozen_at else requests,
            retries=self.retries(),
            events=sum(self.poller.event_counts.values()),
            orders=dict(self.orders),
            states=dict(states),
            unsynced=sum(1 for s in statuses if not s.snapshots and s.state != "stopped"),
            violations=self.sim.limit_violations(),
            rows=tuple(sort_rows([_row(s) for s in statuses])[:rows]),
            recent=tuple(self.recent),
        )

    def check(self) -> Check:
        """Compare each caught-up account's orders, as its events told them, with the
        simulator's. Accounts that did not catch up are listed, not compared."""
        result = Check(invented=self.contradictions)
        statuses = self.poller.accounts
        for account in self.fleet:
            status = statuses.get(account.name)
            if status is None or status.state == "stopped" or not status.snapshots:
                continue
            if status.snapshots < self.targets.get(account.name, 0):
                result.not_caught_up.append(account.name)
                continue
            truth = set(self.sim.open_orders(account.api_key))
            seen = set(self.books.get(account.name, {}))
            result.checked += 1
            result.lost += len(truth - seen)
            result.invented += len(seen - truth)
        return result


def _row(status: AccountStatus) -> AccountRow:
    state = status.state.value
    note = status.last_error if state not in ("ok", "starting") else status.last_event
    if state == "starting" and status.requests:
        note = f"first snapshot: {counted(status.requests, 'request')} so far"
    return AccountRow(
        name=status.name,
        exchange=status.exchange,
        state=state,
        orders=status.orders,
        snapshots=status.snapshots,
        requests=status.requests,
        note=note or "",
    )
