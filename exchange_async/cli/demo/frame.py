"""One picture of the demo at a moment: what every view renders and the summary reports.

The live view, the status lines and the summary all read a :class:`Frame`; the last frame
and the summary come from the same one, so their numbers agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "LIMIT_WINDOW",
    "MIN_RATE_SECONDS",
    "STATE_ORDER",
    "AccountRow",
    "Frame",
    "counted",
    "sort_rows",
]

MIN_RATE_SECONDS = 3.0
"""No live rate before this many seconds of data (the first seconds are bursts), and an
average over a shorter run is marked as such."""

LIMIT_WINDOW = 1.0
"""Seconds of the demo's per-account limits' windows: any such window may hold a full second's
worth of requests at once, so over ``T`` seconds the limits allow ``allowed * (T + 1)``."""

STATE_ORDER = {"stopped": 0, "failing": 1, "rate_limited": 2, "starting": 3, "ok": 4}
"""Accounts with problems first: stopped, failing, rate-limited, still without a snapshot."""


@dataclass(frozen=True, slots=True)
class AccountRow:
    """One account as the views show it."""

    name: str
    exchange: str
    state: str
    """An ``AccountState`` value: ``ok``, ``failing``, ``rate_limited``, ``starting``, ..."""
    orders: int
    snapshots: int
    requests: int
    note: str
    """Why it is not ``ok`` (the last error), else its latest event."""


def counted(count: int, noun: str) -> str:
    """``1 account``, ``2 accounts``: ``count`` and ``noun``, plural unless one."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def sort_rows(rows: list[AccountRow]) -> list[AccountRow]:
    """Problems first (see :data:`STATE_ORDER`), then by name."""
    return sorted(rows, key=lambda r: (STATE_ORDER.get(r.state, 5), r.name))


@dataclass(frozen=True, slots=True)
class Frame:
    """The demo's numbers at one moment (times in seconds, rates in requests per second)."""

    phase: str
    """``running``, ``settling`` (data frozen, accounts catching up), ``done`` or
    ``interrupted``."""
    elapsed: float
    """Since polling started."""
    duration: float
    """The running phase's planned length (``--duration``)."""
    run_seconds: float
    """Length of the running phase so far (at most ``duration``)."""
    settle_seconds: float
    """Length of the settling phase so far (0 before it)."""
    settle_limit: float
    waiting: int
    """While settling: accounts that have not caught up with the frozen data yet."""
    rate: float | None
    """Requests per second: over the last few seconds while running, the running phase's
    average afterwards; ``None`` until a few seconds of data exist."""
    allowed: float
    """Requests per second the documented limits allow this fleet."""
    requests: int
    run_requests: int
    """Requests sent during the running phase (all of them while it lasts)."""
    retries: int
    events: int
    orders: dict[str, int]
    """``initial`` (found by first snapshots), ``opened``, ``changed``, ``closed``."""
    states: dict[str, int]
    """Accounts per state."""
    unsynced: int
    """Accounts (not stopped) whose first snapshot has not completed."""
    violations: int
    """Windows over a limit, as the simulator counted them."""
    rate_seconds: float = 0.0
    """The span ``rate`` was measured over (seconds)."""
    rows: tuple[AccountRow, ...] = ()
    recent: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    """Warnings to show above the table (e.g. accounts starved by the per-IP cap)."""

    @property
    def rate_share(self) -> float | None:
        """The requests of the measured span as a fraction of what the limits allow in it:
        ``allowed`` per second plus one window's burst (a sliding-window limit of N per
        second allows N at once, then N per second), so a client within the limits never
        shows more than 100 %."""
        if self.rate is None or not self.allowed or self.rate_seconds <= 0:
            return None
        span = self.rate_seconds
        return self.rate * span / (self.allowed * (span + LIMIT_WINDOW))

    def clock(self) -> str:
        """``running 12.3 s / 20 s``, ``settling 2.1 s / 15 s max``, ``done in 23.4 s``."""
        if self.phase == "running":
            return f"running {self.run_seconds:5.1f} s / {self.duration:g} s"
        if self.phase == "settling":
            return (
                f"settling {self.settle_seconds:4.1f} s / {self.settle_limit:g} s max "
                f"(data frozen, {counted(self.waiting, 'account')} catching up)"
            )
        word = "interrupted after" if self.phase == "interrupted" else "done in"
        settle = f" + {self.settle_seconds:.1f} s settling" if self.settle_seconds else ""
        return f"{word} {self.elapsed:.1f} s ({self.run_seconds:.1f} s running{settle})"

    def rate_text(self) -> str:
        """``38.2 req/s (83 % of what 45/s limits allow)``, or why there is no figure yet."""
        share = self.rate_share
        if self.rate is None or share is None:
            return f"req/s: measuring for {MIN_RATE_SECONDS:g} s ({self.allowed:g}/s allowed)"
        label = "req/s" if self.phase == "running" else "req/s avg"
        short = ""
        if self.phase != "running" and self.run_seconds < MIN_RATE_SECONDS:
            short = f", over only {self.run_seconds:.1f} s"
        allowed = f"{self.allowed:g}/s limits allow"
        return f"{self.rate:.1f} {label} ({share:.0%} of what {allowed}{short})"

    def requests_text(self) -> str:
        """``requests 1234 (1100 while running)  retries 3``."""
        running = f" ({self.run_requests} while running)" if self.settle_seconds else ""
        return f"requests {self.requests}{running}  retries {self.retries}"

    def orders_text(self) -> str:
        """``orders: 1400 initial, 3 opened, 5 changed, 2 closed``."""
        o = self.orders
        return (
            f"orders: {o.get('initial', 0)} initial, {o.get('opened', 0)} opened, "
            f"{o.get('changed', 0)} changed, {o.get('closed', 0)} closed"
        )

    def accounts_text(self) -> str:
        """``accounts 20: ok 18, failing 1, stopped 1`` plus the unsynced count."""
        states = ", ".join(
            f"{k.replace('_', '-')} {v}"
            for k, v in sorted(self.states.items(), key=lambda kv: STATE_ORDER.get(kv[0], 5))
        )
        unsynced = f"; {self.unsynced} without a first snapshot" if self.unsynced else ""
        return f"accounts {sum(self.states.values())}: {states}{unsynced}"
