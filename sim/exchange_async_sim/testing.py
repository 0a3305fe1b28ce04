"""What a bot's tests hold: a running simulator with its ``base_url``, accounts with keys,
fault injection, and questions about what the server saw. The pytest plugin hands these out;
they work without pytest too::

    async with SimulatorServer(Simulator()) as server:
        running = RunningSimulator(server)
        account = running.add_bitget_account()

For a test that answers the client itself (a handler of its own, the SDK's
``MemoryTransport``), the reply builders give the exchanges' bodies as bytes:
:func:`bitget_page`, :func:`bitget_reply`, :func:`bitget_error`, :func:`coinw_rows`,
:func:`coinw_reply`, :func:`coinw_error`, with documented example rows from
:func:`bitget_tracking_row` and :func:`coinw_order_row`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

from .arrivals import Arrival
from .bitget import TRACKING_PATH
from .coinw import ORDER_PATH
from .engine import Simulator
from .faults import FaultKind
from .replies import (
    bitget_error,
    bitget_page,
    bitget_reply,
    bitget_tracking_row,
    coinw_error,
    coinw_order_row,
    coinw_reply,
    coinw_rows,
)
from .server import SimulatorServer

__all__ = [
    "BITGET_TRACKING_PATH",
    "COINW_ORDER_PATH",
    "RunningSimulator",
    "SimAccount",
    "bitget_error",
    "bitget_page",
    "bitget_reply",
    "bitget_tracking_row",
    "coinw_error",
    "coinw_order_row",
    "coinw_reply",
    "coinw_rows",
]

BITGET_TRACKING_PATH = TRACKING_PATH
"""``/api/v2/copy/mix-trader/order-current-track`` (5 requests per second per UID)."""
COINW_ORDER_PATH = ORDER_PATH
"""``/v1/perpum/order`` (10 requests per second per user)."""

_numbers = itertools.count(1)


@dataclass(frozen=True, slots=True)
class SimAccount:
    """Keys of one simulated account and where to send its requests.

    ``passphrase`` is ``None`` on CoinW. ``uid`` is the Bitget uid or the CoinW user id (as a
    string): the ``account`` the arrival log records. ``repr()`` hides the secrets.
    """

    exchange: Literal["bitget", "coinw"]
    api_key: str
    secret_key: str = field(repr=False)
    passphrase: str | None = field(repr=False)
    uid: str
    base_url: str


class RunningSimulator:
    """A :class:`Simulator` serving on a local port: the ``exchange_simulator`` fixture.

    ``sim`` is the engine itself (everything :class:`Simulator` offers), ``base_url`` the
    address to give a client (``base_url=running.base_url``).
    """

    def __init__(self, server: SimulatorServer) -> None:
        self.server = server
        self.sim: Simulator = server.sim

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        return self.server.base_url

    def add_bitget_account(
        self, *, orders: int = 50, uid: str | None = None, trader: bool = True
    ) -> SimAccount:
        """A new Bitget key with ``orders`` current tracking orders (fresh keys each call;
        the same ``uid`` makes keys of one account sharing one limit)."""
        name = f"sim-bitget-{next(_numbers)}"
        account = self.sim.add_bitget_account(
            api_key=name,
            secret_key=f"{name}-secret",
            passphrase=f"{name}-pass",
            uid=uid,
            orders=orders,
            trader=trader,
        )
        return SimAccount(
            "bitget", name, account.secret_key, account.passphrase, account.uid, self.base_url
        )

    def add_coinw_account(self, *, orders: int = 20, permission: bool = True) -> SimAccount:
        """A new CoinW futures key with ``orders`` unfilled orders."""
        name = f"sim-coinw-{next(_numbers)}"
        account = self.sim.add_coinw_account(
            api_key=name, secret_key=f"{name}-secret", orders=orders, permission=permission
        )
        return SimAccount(
            "coinw", name, account.secret_key, None, str(account.user_id), self.base_url
        )

    def inject(self, path: str, fault: FaultKind, **parameters: Any) -> None:
        """Make the next request(s) to ``path`` fail; see :meth:`Simulator.inject`
        (``count=``, ``retry_after=``, ``code=``, ``seconds=``, ...)."""
        self.sim.inject(path, fault, **parameters)

    def requests(
        self, path: str | None = None, *, account: SimAccount | str | None = None
    ) -> list[Arrival]:
        """Every request the server saw (for ``path``, of ``account``), in arrival order."""
        wanted = account.uid if isinstance(account, SimAccount) else account
        return list(self.sim.log.select(path, account=wanted))

    def max_requests_in_window(
        self,
        path: str,
        *,
        account: SimAccount | str | None = None,
        window: float = 1.0,
    ) -> int:
        """The most requests to ``path`` (of ``account``) in any ``window`` seconds, as the
        server saw them: compare with the documented limit."""
        wanted = account.uid if isinstance(account, SimAccount) else account
        return self.sim.max_in_window(path, account=wanted, window=window)

    def limit_violations(self, exchange: Literal["bitget", "coinw"] | None = None) -> int:
        """How many requests a strict exchange would have counted over its limit (zero for a
        well-behaved bot); see :meth:`Simulator.limit_violations`."""
        return self.sim.limit_violations(exchange)

    def refused_for_rate(self) -> dict[str, int]:
        """Requests the simulated limits refused (Bitget 429, CoinW 29001), by exchange."""
        return self.sim.violations()
