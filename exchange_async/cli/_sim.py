"""The one place the CLI imports the simulator.

Only ``simulate`` and ``demo`` need it, and only when they run: the other commands (and
``import exchange_async``) never load the simulator or ``aiohttp.web``. When the simulator is
not installed, :func:`load_simulator` raises :class:`SimulatorMissing` with the install hint,
and :func:`add_simulator_arguments` adds no flags.
"""

from __future__ import annotations

import argparse
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exchange_async_sim import FleetAccount as FleetAccount
    from exchange_async_sim import Pairing as Pairing
    from exchange_async_sim import Simulator as Simulator
    from exchange_async_sim import SimulatorConfig as SimulatorConfig
    from exchange_async_sim import SimulatorServer as SimulatorServer

__all__ = [
    "NO_SIMULATOR",
    "FleetAccount",
    "Pairing",
    "Simulator",
    "SimulatorConfig",
    "SimulatorMissing",
    "SimulatorServer",
    "add_simulator_arguments",
    "install_hint",
    "load_simulator",
]


def install_hint(extra: str) -> str:
    """How to install the SDK's ``extra`` (it is not on PyPI: from a clone)."""
    return f'pip install -e ".[{extra}]" in the exchange-async clone'


NO_SIMULATOR = f"the simulator is not installed: {install_hint('sim')}"


class SimulatorMissing(Exception):
    """The simulator package is not installed (the message says how to get it)."""


def load_simulator() -> ModuleType:
    """The simulator package, imported now; :class:`SimulatorMissing` when absent."""
    try:
        import exchange_async_sim as simulator
    except ImportError:
        raise SimulatorMissing(NO_SIMULATOR) from None
    return simulator


def add_simulator_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulator's own flags on ``parser`` (none when the simulator is missing)."""
    try:
        module = load_simulator()
    except SimulatorMissing:
        return
    module.add_simulator_arguments(parser)


def config_from_arguments(args: argparse.Namespace, **overrides: Any) -> SimulatorConfig:
    """The simulator settings the command line asked for."""
    config: SimulatorConfig = load_simulator().config_from_arguments(args, **overrides)
    return config
