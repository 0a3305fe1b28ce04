"""What a `Poller` tells its consumer: typed events about orders and accounts.

Every event names its ``account`` (the name it was added under) and ``exchange``, and carries
``at``, the Unix time in seconds when it was produced, and ``event_id``. Events of one account
arrive in the order they happened; events of different accounts interleave.
"""

from __future__ import annotations

import msgspec

__all__ = [
    "AccountError",
    "AccountEvent",
    "AccountRateLimited",
    "AccountRecovered",
    "AccountStopped",
    "AccountSynced",
    "Event",
    "Order",
    "OrderChanged",
    "OrderClosed",
    "OrderEvent",
    "OrderOpened",
]

Order = msgspec.Struct
"""A watched order: an exchange's order model (``ea.TrackingOrder``, ``ea.OrderInfo``, ...)."""


class Event(msgspec.Struct, frozen=True, kw_only=True, tag=True, gc=False):
    """Base of every poller event."""

    account: str
    exchange: str
    at: float
    event_id: str = ""
    """The same change has the same id however often it is delivered: de-duplicate by it.
    ``"<account>:<epoch>:<sequence>"``; the sequence counts the account's events (in a fleet:
    across workers and restarts; in one poller: from its start, epoch ``"local-<n>"``)."""


class OrderEvent(Event, frozen=True, kw_only=True):
    """Base of the order events. ``key`` is the tracking number (Bitget) or order id (CoinW)."""

    key: str
    order: Order


class OrderOpened(OrderEvent, frozen=True, kw_only=True):
    """An order appeared. ``initial`` is true for orders found by the account's first snapshot,
    which were there before the poller started rather than news."""

    initial: bool = False


class OrderChanged(OrderEvent, frozen=True, kw_only=True):
    """An order's fields changed: ``changes`` names them (snake_case), ``previous`` is the
    order as last seen."""

    previous: Order
    changes: tuple[str, ...]


class OrderClosed(OrderEvent, frozen=True, kw_only=True):
    """An order disappeared from the account's snapshot; ``order`` is how it was last seen."""


class AccountEvent(Event, frozen=True, kw_only=True):
    """Base of the account-level events."""


class AccountSynced(AccountEvent, frozen=True, kw_only=True):
    """The account's first snapshot is complete: every ``initial`` order has been emitted."""

    orders: int


class AccountError(AccountEvent, frozen=True, kw_only=True):
    """A snapshot failed; the account retries by itself after ``retry_in`` seconds.

    No order event is derived from a failed snapshot, so a failure never invents a close.
    """

    error: str
    """The exception's class name, e.g. ``TransportError``."""
    message: str
    code: str | None
    failures: int
    """Consecutive failed snapshots, this one included."""
    retry_in: float


class AccountRateLimited(AccountEvent, frozen=True, kw_only=True):
    """The exchange refused for rate even after the client's back-off; polling resumes after
    ``retry_in`` seconds."""

    retry_in: float
    failures: int


class AccountRecovered(AccountEvent, frozen=True, kw_only=True):
    """A snapshot succeeded after ``failures`` failed ones."""

    failures: int


class AccountStopped(AccountEvent, frozen=True, kw_only=True):
    """The account will not be polled again (bad key, no permission, not a trader, or
    removed). ``reason`` says why; ``code`` is the exchange's code when there is one."""

    reason: str
    code: str | None = None
