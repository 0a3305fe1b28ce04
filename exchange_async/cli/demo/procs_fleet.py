"""``demo --processes N`` as a fleet, in the parent: the stream read as a consumer would read it
(every event, de-duplicated by ``event_id``), and ``--kill-one-after``: a worker killed
mid-run, and how long until its accounts were polled again by the others."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ... import Event, Fleet, FleetEvents, OrderChanged, OrderClosed, OrderOpened

if TYPE_CHECKING:
    from .._sim import FleetAccount, Simulator

__all__ = ["StreamCheck", "Takeover"]

READ_BLOCK = 0.25
"""Seconds one read of the stream waits for new events."""


class StreamCheck:
    """Reads the fleet's stream through a consumer group, as a user's consumer would."""

    def __init__(self, redis_url: str, fleet_name: str) -> None:
        self._url = redis_url
        self._name = fleet_name
        self.read = 0
        """Events delivered by the group (duplicates included)."""
        self.duplicates = 0
        """Events delivered again (same ``event_id``), dropped."""
        self.gaps = 0
        """Events missing from an account's sequence (``seq`` jumped): lost."""
        self.contradictions = 0
        """Events that contradict the orders the earlier ones described."""
        self.books: dict[str, dict[str, Any]] = {}
        """Each account's open orders as the stream describes them."""
        self._seen: set[str] = set()
        self._sequence: dict[str, int] = {}

    async def run(self) -> None:
        """Read and acknowledge until cancelled."""
        async with FleetEvents(
            self._url, name=self._name, group="demo", consumer="summary", block=READ_BLOCK
        ) as events:
            async for event in events:
                self.apply(event)
                await events.ack(event)

    def apply(self, event: Event) -> None:
        """Take one delivered event into the books (a duplicate only counts)."""
        self.read += 1
        if event.event_id in self._seen:
            self.duplicates += 1
            return
        self._seen.add(event.event_id)
        number = int(event.event_id.rpartition(":")[2])
        self.gaps += max(0, number - self._sequence.get(event.account, 0) - 1)
        self._sequence[event.account] = max(number, self._sequence.get(event.account, 0))
        book = self.books.setdefault(event.account, {})
        if isinstance(event, OrderOpened):
            self.contradictions += event.key in book
            book[event.key] = event.order
        elif isinstance(event, OrderChanged):
            self.contradictions += book.get(event.key) != event.previous
            book[event.key] = event.order
        elif isinstance(event, OrderClosed):
            self.contradictions += book.pop(event.key, None) is None

    def summary(self) -> dict[str, int]:
        """The numbers for the demo's summary."""
        return {
            "events_read": self.read,
            "duplicates_removed": self.duplicates,
            "events_lost": self.gaps,
            "contradictions": self.contradictions,
        }


class Takeover:
    """What became of the accounts of the worker killed with ``--kill-one-after``."""

    def __init__(self) -> None:
        self.worker: str | None = None
        """The worker killed: the one holding the most accounts then."""
        self.killed_at: float | None = None
        """``time.monotonic()`` of the kill."""
        self.after: float | None = None
        """Seconds into the run."""
        self.accounts: list[str] = []
        """The accounts it held when killed."""
        self.seconds: float | None = None
        """Until the last of them was polled again by another worker (None: not seen)."""

    async def choose(self, fleet: Fleet) -> str | None:
        """The worker to kill (the busiest), noting what it holds; None when none holds any."""
        owners = await fleet.owners()
        counts = Counter(owners.values())
        if not counts:
            return None
        self.worker = counts.most_common(1)[0][0]
        self.accounts = sorted(name for name, worker in owners.items() if worker == self.worker)
        return self.worker

    async def watch(
        self, sim: Simulator, fleet: list[FleetAccount], lease_ttl: float, limit: float = 30.0
    ) -> None:
        """Until every account of the killed worker reached the simulator again (its own
        requests still on the wire arrive in the first third of ``lease_ttl``: not counted)."""
        assert self.killed_at is not None
        keys = {a.api_key for a in fleet if a.name in self.accounts}
        since = self.killed_at + lease_ttl / 3
        while time.monotonic() < self.killed_at + limit:
            first = _first_arrivals(sim.arrivals, keys, since)
            if len(first) == len(keys):
                self.seconds = max(first.values(), default=since) - self.killed_at
                return
            await asyncio.sleep(0.25)

    def summary(self) -> dict[str, Any]:
        """The numbers for the demo's summary."""
        return {
            "killed": self.worker,
            "killed_after_seconds": None if self.after is None else round(self.after, 1),
            "accounts_moved": len(self.accounts),
            "polled_again_within_seconds": None if self.seconds is None else round(self.seconds, 2),
        }


def _first_arrivals(arrivals: Iterable[Any], keys: set[str], since: float) -> dict[str, float]:
    first: dict[str, float] = {}
    for arrival in arrivals:
        if arrival.time >= since and arrival.api_key in keys:
            first.setdefault(arrival.api_key, arrival.time)
    return first
