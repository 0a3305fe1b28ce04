"""Simulated accounts (credentials plus state) and the demo credentials."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .models import BitgetHistoryOrder, BitgetTrackingOrder, CoinWOrder

__all__ = [
    "DEMO_BITGET",
    "DEMO_COINW",
    "BitgetAccount",
    "CoinWAccount",
    "DemoBitgetCredentials",
    "DemoCoinWCredentials",
    "NumberStyle",
]

NumberStyle = Literal["numbers", "strings"]
"""How CoinW renders numeric fields: JSON numbers (as documented) or JSON strings."""


@dataclass(eq=False, slots=True)
class BitgetAccount:
    """An API key of a simulated Bitget account and the account's state.

    Keys registered with the same ``uid`` share one rate limit, one ``orders`` dict and one
    cursor table. ``orders`` maps trackingNo to the current tracking order, ``history`` to the
    closed ones; tests may read and change them while the server runs.
    ``history_spelling`` picks how history rows name their average prices: ``"example"``
    (``openPriceAvg``, as Bitget's response example) or ``"table"`` (``openAvgPrice``).
    """

    api_key: str
    secret_key: str = field(repr=False)
    passphrase: str = field(repr=False)
    uid: str
    trader: bool = True
    orders: dict[str, BitgetTrackingOrder] = field(default_factory=dict, repr=False)
    cursor_positions: dict[int, tuple[int, int]] = field(default_factory=dict, repr=False)
    """Every ``endId`` issued so far (as an int) and the row position it stands for."""
    history: dict[str, BitgetHistoryOrder] = field(default_factory=dict, repr=False)
    history_cursors: dict[int, tuple[int, int]] = field(default_factory=dict, repr=False)
    """The same for ``order-history-track``'s ``endId``."""
    history_spelling: Literal["example", "table"] = "example"

    def next_seq(self) -> int:
        """A ``seq`` larger than any row or cursor so far, for a newly opened order."""
        used = [order.seq for order in self.orders.values()]
        used.extend(self.cursor_positions)
        return max(used, default=0) + 1


@dataclass(eq=False, slots=True)
class CoinWAccount:
    """An API key of a simulated CoinW futures account and its orders.

    ``orders`` maps order id to order; only open ones (``unFinish`` / ``part``) are served.
    ``permission=False`` makes every private call answer code 6003.
    """

    api_key: str
    secret_key: str = field(repr=False)
    user_id: int
    number_style: NumberStyle = "numbers"
    permission: bool = True
    orders: dict[int, CoinWOrder] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class DemoBitgetCredentials:
    """Credentials of the demo Bitget account of :meth:`Simulator.with_demo_accounts`."""

    api_key: str
    secret_key: str
    passphrase: str


@dataclass(frozen=True, slots=True)
class DemoCoinWCredentials:
    """Credentials of the demo CoinW account of :meth:`Simulator.with_demo_accounts`."""

    api_key: str
    secret_key: str


DEMO_BITGET = DemoBitgetCredentials("demo-bitget-key", "demo-bitget-secret", "demo-passphrase")
"""The demo Bitget key: ``demo-bitget-key`` / ``demo-bitget-secret`` / ``demo-passphrase``."""
DEMO_COINW = DemoCoinWCredentials("demo-coinw-key", "demo-coinw-secret")
"""The demo CoinW key: ``demo-coinw-key`` / ``demo-coinw-secret``."""
