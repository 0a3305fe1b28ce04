"""What the server saw: every arrival, in order, and the largest count in any window."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

__all__ = ["Arrival", "ArrivalLog", "max_in_window"]


@dataclass(frozen=True, slots=True)
class Arrival:
    """One request as the server saw it.

    ``time`` is ``time.monotonic()`` when the handler started. ``status`` and ``code`` are the
    HTTP status and the exchange code of the reply (``code`` is ``""`` when the reply carried
    none, e.g. an injected HTTP 500); both are ``0`` / ``""`` while the request is still being
    answered, and ``status`` stays ``0`` when the connection was dropped on purpose.
    """

    time: float
    exchange: str
    path: str
    account: str | None
    api_key: str | None
    query: str
    status: int = 0
    code: str = ""
    method: str = "GET"


def max_in_window(times: list[float], window: float) -> int:
    """The largest number of ``times`` inside any half-open window ``[t, t + window)``."""
    ordered = sorted(times)
    best = 0
    start = 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


class ArrivalLog:
    """Every request in arrival order; a record is filled in when its reply is decided.

    ``limit`` (``None``: unbounded) bounds the log: once it would hold more than ``limit``
    records, the oldest quarter of them is dropped at once, so keeping the newest costs
    amortised O(1) per arrival. :attr:`dropped` counts what was dropped.
    """

    __slots__ = ("_generation", "_offset", "dropped", "limit", "records")

    def __init__(self, limit: int | None = None) -> None:
        self.records: list[Arrival] = []
        self.limit = limit
        self.dropped = 0
        self._generation = 0
        self._offset = 0

    def begin(self, arrival: Arrival) -> tuple[int, int]:
        """Append ``arrival``; return the token :meth:`finish` needs."""
        records = self.records
        if self.limit is not None and len(records) >= self.limit:
            keep = max(self.limit * 3 // 4, 1) - 1
            drop = len(records) - keep
            del records[:drop]
            self._offset += drop
            self.dropped += drop
        records.append(arrival)
        return (self._generation, self._offset + len(records) - 1)

    def finish(self, token: tuple[int, int], status: int, code: str) -> None:
        """Record the reply of the arrival ``token`` names (ignored after :meth:`clear`, and
        when the record was dropped meanwhile)."""
        generation, position = token
        index = position - self._offset
        if generation == self._generation and index >= 0:
            self.records[index] = replace(self.records[index], status=status, code=code)

    def clear(self) -> None:
        """Forget every arrival; replies still in flight are then not recorded."""
        self.records.clear()
        self._generation += 1
        self._offset = 0
        self.dropped = 0

    def select(
        self,
        path: str | None = None,
        *,
        account: str | int | None = None,
        status: int | None = None,
    ) -> Iterator[Arrival]:
        """Arrivals for ``path`` (any if None) of ``account`` (uid, user id or API key)."""
        wanted = None if account is None else str(account)
        for arrival in self.records:
            if path is not None and arrival.path != path:
                continue
            if wanted is not None and wanted not in (arrival.account, arrival.api_key):
                continue
            if status is not None and arrival.status != status:
                continue
            yield arrival
