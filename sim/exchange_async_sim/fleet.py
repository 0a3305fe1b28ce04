"""A deterministic fleet of demo accounts on both exchanges, for multi-account demos."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal, Protocol

from .accounts import BitgetAccount, CoinWAccount
from .config import SimulatorConfig

__all__ = ["AccountRegistry", "FleetAccount", "add_demo_fleet"]


class AccountRegistry(Protocol):
    """What the fleet needs of a simulator: its seed and a way to register keys."""

    @property
    def config(self) -> SimulatorConfig: ...

    def add_bitget_account(
        self, *, api_key: str, secret_key: str, passphrase: str, orders: int
    ) -> BitgetAccount: ...

    def add_coinw_account(self, *, api_key: str, secret_key: str, orders: int) -> CoinWAccount: ...


@dataclass(frozen=True, slots=True)
class FleetAccount:
    """Credentials of one account of :meth:`Simulator.with_demo_fleet`.

    ``name`` is e.g. ``"bitget-007"``; the API key is ``"demo-" + name``, the secret
    ``"demo-<name>-secret"`` and, on Bitget, the passphrase ``"demo-<name>-pass"`` (``None`` on
    CoinW). ``uid`` is the Bitget uid or the CoinW user id as a string: the ``account`` of
    arrivals and mutations.
    """

    name: str
    exchange: Literal["bitget", "coinw"]
    api_key: str
    secret_key: str = field(repr=False)
    passphrase: str | None = field(repr=False)
    uid: str


def add_demo_fleet(sim: AccountRegistry, accounts: int) -> list[FleetAccount]:
    """Register ``accounts`` demo accounts on ``sim``, alternating Bitget and CoinW.

    Bitget accounts get 20-120 current tracking orders, CoinW accounts 10-40 open orders;
    counts, uids and orders follow from ``sim.config.seed``. Names are numbered per exchange
    from 1 (``bitget-001``, ``coinw-001``, ``bitget-002``, ...).
    """
    if accounts < 0:
        raise ValueError("accounts must not be negative")
    rng = random.Random(f"{sim.config.seed}:fleet")
    fleet: list[FleetAccount] = []
    numbers = {"bitget": 0, "coinw": 0}
    for index in range(accounts):
        if index % 2 == 0:
            numbers["bitget"] += 1
            name = f"bitget-{numbers['bitget']:03d}"
            passphrase = f"demo-{name}-pass"
            bitget = sim.add_bitget_account(
                api_key=f"demo-{name}",
                secret_key=f"demo-{name}-secret",
                passphrase=passphrase,
                orders=rng.randint(20, 120),
            )
            fleet.append(
                FleetAccount(
                    name, "bitget", bitget.api_key, bitget.secret_key, passphrase, bitget.uid
                )
            )
        else:
            numbers["coinw"] += 1
            name = f"coinw-{numbers['coinw']:03d}"
            coinw = sim.add_coinw_account(
                api_key=f"demo-{name}",
                secret_key=f"demo-{name}-secret",
                orders=rng.randint(10, 40),
            )
            fleet.append(
                FleetAccount(
                    name, "coinw", coinw.api_key, coinw.secret_key, None, str(coinw.user_id)
                )
            )
    return fleet
