"""The simulator's judge of rate limits, and the evidence of who bunched requests.

:class:`Referee` counts, on arrival, the requests a strict exchange would call over a limit
(`ViolationCounter`), on each request's arrival stamp: the moment its bytes reached the host
when the server can tell (see `stamping`), else when its handler started. It also keeps how
far its handlers ran behind those stamps (its loop lag).

Asked to (:attr:`Referee.keep`), it keeps each limited scope's arrivals, and :meth:`pair`
sets them against a client's own log of when it sent each request: the same rule counted on
the send times, on the arrival stamps and on the handlers' start, with the delays between.
Where the counts part says who bunched the requests: over on the send times is the client's
doing; over on the arrivals but not on the send times happened after the client let go of
them (its process paused between stamping and writing, or the host delayed them); over only
on the handlers' start is the server's own loop, which a socket stamp does not count.
"""

from __future__ import annotations

import time
from array import array
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from .limits import EndpointLimit, ViolationCounter, over_limit

__all__ = ["PAIRING_SLACK", "TRANSIT_LIMIT", "Pairing", "Referee", "Scope"]

Scope = tuple[str, str, str]
"""(exchange, account, path): what one limit counts (``account`` as arrivals log it)."""
TRANSIT_LIMIT = 2.0
"""Seconds a send may precede its arrival; an older unmatched send never arrived."""
PAIRING_SLACK = 0.001
"""Seconds a send may seem to follow its arrival (the two clocks are read apart)."""


@dataclass(slots=True)
class _Kept:
    limit: EndpointLimit
    arrived: array[float] = field(default_factory=lambda: array("d"))
    """``time.time()`` seconds each request reached the host."""
    lag: array[float] = field(default_factory=lambda: array("d"))
    """Seconds its handler started after that."""


@dataclass(frozen=True, slots=True)
class Pairing:
    """A client's send log set against the referee's arrivals (times in seconds)."""

    arrivals: int
    """Arrivals on limited endpoints the referee kept."""
    paired: int
    """Of them, those matched with a logged send."""
    unpaired_sends: int
    """Logged sends no arrival matched (they never reached the server)."""
    over_at_send: int
    """Paired arrivals over a limit when each is dated by its client's send time."""
    over_at_arrival: int
    """Arrivals over a limit by their arrival stamps (the referee's count)."""
    over_at_handler: int
    """Arrivals over a limit when dated by their handler's start (a lagging loop's count)."""
    transit_median: float | None
    transit_max: float | None
    """Send to arrival, over the paired requests."""
    lag_max: float
    """The longest a handler started after its request arrived."""

    @property
    def unpaired_arrivals(self) -> int:
        """Arrivals without a logged send (sent by someone who keeps no log)."""
        return self.arrivals - self.paired

    @property
    def bunched(self) -> str:
        """Who put requests over a limit: ``"client"`` (its send times are over),
        ``"after sending"`` (sent within the limits, arrived over them), ``"server loop"``
        (only the handlers' start is over: the arrival stamps are not) or ``"nobody"``."""
        if self.over_at_send:
            return "client"
        if self.over_at_arrival:
            return "after sending"
        if self.over_at_handler:
            return "server loop"
        return "nobody"


class Referee:
    """Counts arrivals over a limit as they come; keeps them for :meth:`pair` when
    :attr:`keep` is set. ``wall`` is the clock a client's send log is read on (the kept
    arrivals are dated on it)."""

    __slots__ = ("_kept", "counter", "keep", "lag_max", "wall")

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        self.wall = wall
        self.counter = ViolationCounter()
        self.keep = False
        """Keep every limited arrival (8 bytes each, twice) for :meth:`pair`."""
        self.lag_max = 0.0
        """The longest any handler started after its request arrived, seconds."""
        self._kept: dict[Scope, _Kept] = {}

    def arrive(self, scope: Scope, t: float, limit: EndpointLimit, *, lag: float = 0.0) -> None:
        """Count one arrival on a limited endpoint, stamped ``t`` (the simulator's clock),
        whose handler started ``lag`` seconds later."""
        self.counter.arrive(*scope, t, limit)
        if lag > self.lag_max:
            self.lag_max = lag
        if self.keep:
            kept = self._kept.get(scope)
            if kept is None:
                kept = self._kept[scope] = _Kept(limit)
            kept.arrived.append(self.wall() - lag)
            kept.lag.append(lag)

    def count(self, exchange: str | None = None) -> int:
        """Arrivals over a limit so far, of one exchange or of all."""
        return self.counter.count(exchange)

    def clear(self) -> None:
        """Forget every arrival, kept or counted."""
        self.counter.clear()
        self._kept.clear()
        self.lag_max = 0.0

    def pair(self, sends: Mapping[Scope, Sequence[float]]) -> Pairing:
        """Set the kept arrivals against ``sends``: per scope, the ``time.time()`` seconds a
        client sent each request. Each arrival is matched, in order, with the oldest
        unmatched send of its scope no later than it (:data:`PAIRING_SLACK`) and no more than
        :data:`TRANSIT_LIMIT` before it."""
        counts: Counter[str] = Counter()
        transit: list[float] = []
        for scope, kept in self._kept.items():
            arrived = sorted(zip(kept.arrived, kept.lag, strict=True))
            times = [a for a, _ in arrived]
            matched, lost = _match(times, sorted(sends.get(scope, ())))
            transit.extend(a - s for s, a in matched)
            counts.update(
                arrivals=len(times),
                paired=len(matched),
                lost=lost,
                at_send=over_limit(sorted(s for s, _ in matched), kept.limit),
                at_arrival=over_limit(times, kept.limit),
                at_handler=over_limit(sorted(a + lag for a, lag in arrived), kept.limit),
            )
        transit.sort()
        return Pairing(
            arrivals=counts["arrivals"],
            paired=counts["paired"],
            unpaired_sends=counts["lost"] + _unkept(sends, self._kept),
            over_at_send=counts["at_send"],
            over_at_arrival=counts["at_arrival"],
            over_at_handler=counts["at_handler"],
            transit_median=transit[len(transit) // 2] if transit else None,
            transit_max=transit[-1] if transit else None,
            lag_max=self.lag_max,
        )


def _match(arrived: list[float], sent: list[float]) -> tuple[list[tuple[float, float]], int]:
    """(send, arrival) pairs, oldest first, and how many sends matched nothing."""
    pairs: list[tuple[float, float]] = []
    lost = next_send = 0
    for t in arrived:
        while next_send < len(sent) and sent[next_send] < t - TRANSIT_LIMIT:
            next_send += 1
            lost += 1
        if next_send < len(sent) and sent[next_send] <= t + PAIRING_SLACK:
            pairs.append((sent[next_send], t))
            next_send += 1
    return pairs, lost + len(sent) - next_send


def _unkept(sends: Mapping[Scope, Sequence[float]], kept: Mapping[Scope, _Kept]) -> int:
    return sum(len(times) for scope, times in sends.items() if scope not in kept)
