"""Watching many accounts at once: `Poller` and the events it yields."""

from .events import (
    AccountError,
    AccountEvent,
    AccountRateLimited,
    AccountRecovered,
    AccountStopped,
    AccountSynced,
    Event,
    Order,
    OrderChanged,
    OrderClosed,
    OrderEvent,
    OrderOpened,
)
from .poller import AccountState, AccountStatus, Poller

__all__ = [
    "AccountError",
    "AccountEvent",
    "AccountRateLimited",
    "AccountRecovered",
    "AccountState",
    "AccountStatus",
    "AccountStopped",
    "AccountSynced",
    "Event",
    "Order",
    "OrderChanged",
    "OrderClosed",
    "OrderEvent",
    "OrderOpened",
    "Poller",
]
