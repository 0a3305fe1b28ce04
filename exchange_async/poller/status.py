"""The live state of each watched account."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field

from .._core.client import BaseClient
from .._errors import ValidationError
from .events import Order
from .sources import Source

__all__ = ["AccountState", "AccountStatus", "check_poller_options"]


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
    IDLE = "idle"
    """In a fleet: not polled by this worker right now (another worker holds it)."""


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
class Account:
    """One watched account: its status, source, pace and last snapshot."""

    status: AccountStatus
    source: Source
    interval: float | None
    known: dict[str, Order] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None


def check_poller_options(
    interval: object, max_pending: object, backoff: object, max_backoff: object
) -> None:
    """Raise `ValidationError` for a bad pace, queue size or back-off (any type)."""
    if interval is not None and _seconds(interval) is None:
        raise ValidationError("interval must be >= 0 seconds or None")
    if isinstance(max_pending, bool) or not isinstance(max_pending, int) or max_pending < 1:
        raise ValidationError("max_pending must be an int of at least 1")
    low, high = _seconds(backoff), _seconds(max_backoff)
    if low is None or high is None or not 0 < low <= high:
        raise ValidationError("backoff must be positive and at most max_backoff (seconds)")


def _seconds(value: object) -> float | None:
    """``value`` as a finite, non-negative number of seconds, or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and abs(value) > 10**12:  # float() of a huge int overflows
        return None
    seconds = float(value)
    return seconds if 0 <= seconds < float("inf") else None
