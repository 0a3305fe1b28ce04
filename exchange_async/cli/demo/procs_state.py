"""``demo --processes N`` in the parent: every worker's latest status added up into one
:class:`Frame`, and the final check of every worker's books against the simulator."""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from .frame import AccountRow, Frame, sort_rows
from .rates import RateMeter
from .tracker import Check

if TYPE_CHECKING:
    from .._sim import FleetAccount, Simulator
    from .procs_fleet import StreamCheck

__all__ = ["FleetState"]


class FleetState(RateMeter):
    """What the parent knows of the workers: their last status lines and final reports."""

    def __init__(
        self,
        sim: Simulator,
        fleet: list[FleetAccount],
        workers: int,
        *,
        duration: float,
        settle_limit: float,
    ) -> None:
        super().__init__()
        self.sim = sim
        self.fleet = fleet
        self.duration = duration
        self.settle_limit = settle_limit
        self.latest: list[dict[str, Any]] = [{} for _ in range(workers)]
        """Each worker's last status (its final report once it ended)."""
        self.phase = "running"
        self.ended_at: float | None = None
        self.gone: set[int] = set()
        """Workers killed on purpose: nothing more to wait for from them."""

    def _total(self, key: str) -> int:
        return sum(int(status.get(key, 0)) for status in self.latest)

    def _merged(self, key: str, *, live: bool = False) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for status in self._live() if live else self.latest:
            counts.update(status.get(key, {}))
        return dict(counts)

    def _live(self) -> list[dict[str, Any]]:
        """The statuses of the workers not killed: who polls what right now."""
        return [status for i, status in enumerate(self.latest) if i not in self.gone]

    def requests(self) -> int:
        """Requests sent so far, every worker."""
        return self._total("requests")

    def events(self) -> dict[str, int]:
        """Events so far by class, every worker."""
        return self._merged("events")

    def freeze(self) -> None:
        """The data stopped changing (the workers were told to settle)."""
        self.frozen_at = time.monotonic()
        self.run_requests = self.requests()
        self.phase = "settling"

    def waiting(self) -> int:
        """While settling: accounts not caught up yet (every worker until it has settled)."""
        if any(status.get("phase") != "settling" for status in self._live()):
            return max(1, self._total("waiting"))
        return self._total("waiting")

    def finish(self, *, interrupted: bool, at: float | None = None) -> Frame:
        """End the demo (at monotonic time ``at``, default now); the returned frame is the
        summary's numbers."""
        now = time.monotonic() if at is None else at
        if self.frozen_at is None:
            self.frozen_at = now
            self.run_requests = self.requests()
        self.ended_at = now
        self.phase = "interrupted" if interrupted else "done"
        return self.frame(rows=len(self.fleet) + 1)

    def frame(self, *, rows: int = 200) -> Frame:
        """The numbers now, every worker added up."""
        now = self.ended_at or time.monotonic()
        run_end = self.frozen_at or now
        requests = self.requests()
        all_rows = [AccountRow(**row) for status in self._live() for row in status.get("rows", [])]
        recent = [line for status in self.latest for line in status.get("recent", [])]
        return Frame(
            phase=self.phase,
            elapsed=now - self.started,
            duration=self.duration,
            run_seconds=run_end - self.started,
            settle_seconds=now - self.frozen_at if self.frozen_at else 0.0,
            settle_limit=self.settle_limit,
            waiting=self.waiting() if self.phase == "settling" else 0,
            rate=self._rate(now),
            allowed=self.allowed_rate(),
            rate_seconds=self._rate_seconds(now),
            requests=requests,
            run_requests=self.run_requests if self.frozen_at else requests,
            retries=self._total("retries"),
            events=sum(self.events().values()),
            orders=self._merged("orders"),
            states=self._merged("states", live=True),
            unsynced=sum(int(status.get("unsynced", 0)) for status in self._live()),
            violations=self.sim.limit_violations(),
            rows=tuple(sort_rows(all_rows)[:rows]),
            recent=tuple(recent[-50:]),
        )

    def statuses(self) -> dict[str, dict[str, Any]]:
        """Every account's final state, snapshots and last error (from the final reports)."""
        merged: dict[str, dict[str, Any]] = {}
        for status in self.latest:
            merged.update(status.get("statuses", {}))
        return merged

    def check(self, stream: StreamCheck | None = None) -> Check:
        """Each caught-up account's orders, as the events told them, against the simulator's
        (as `Tracker.check` does in one process): the events of the fleet's stream when
        ``stream`` is given, else those each worker saw."""
        result = Check(invented=self._total("contradictions"))
        statuses = self.statuses()
        books: dict[str, list[str]] = {}
        targets: dict[str, int] = {}
        for worker in self.latest:
            books.update(worker.get("books", {}))
            targets.update(worker.get("targets", {}))
        if stream is not None:
            books = {name: list(book) for name, book in stream.books.items()}
            result.invented = stream.contradictions
        for account in self.fleet:
            status = statuses.get(account.name)
            if status is None or status["state"] == "stopped" or not status["snapshots"]:
                continue
            if status["snapshots"] < targets.get(account.name, 0):
                result.not_caught_up.append(account.name)
                continue
            truth = set(self.sim.open_orders(account.api_key))
            seen = set(books.get(account.name, []))
            result.checked += 1
            result.lost += len(truth - seen)
            result.invented += len(seen - truth)
        return result

    def peak_rss_mib(self) -> float:
        """The workers' peak memory, added up."""
        return sum(float(status.get("peak_rss_mib", 0.0)) for status in self.latest)
