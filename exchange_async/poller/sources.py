"""What the poller needs from an exchange: a source that takes one snapshot of an account.

Each exchange package provides its own (`exchange_async.bitget.poll.BitgetSource`,
`exchange_async.coinw.poll.CoinWSource`); the poller imports none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from .._core.client import BaseClient
from .events import Order

__all__ = ["Source"]


class Source(Protocol):
    """One account's snapshot: all-or-nothing, raising an `ExchangeError` on any failure."""

    @property
    def exchange(self) -> str:
        """The exchange's name, e.g. ``"bitget"``."""
        ...

    @property
    def client(self) -> BaseClient:
        """The account's client (its stats, its lifecycle; the poller closes it)."""
        ...

    async def snapshot(self) -> Mapping[str, Order]:
        """Every watched order of the account, keyed by tracking number or order id."""
        ...
