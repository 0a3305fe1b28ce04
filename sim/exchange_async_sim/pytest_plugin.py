"""pytest fixtures for testing a bot against the simulator (registered as a ``pytest11``
plugin, so installing ``exchange-async-sim`` makes them available everywhere).

- ``exchange_simulator_config``: the :class:`SimulatorConfig` (override it to change limits,
  faults, clock skew, ...).
- ``exchange_simulator_engine``: the :class:`Simulator` built from that config (override it to
  start with accounts of your own, or a ``clock=``); it answers requests in memory too
  (:meth:`Simulator.handle`).
- ``exchange_simulator``: a :class:`~exchange_async_sim.testing.RunningSimulator` serving on a
  free local port for the test; inject faults and read the arrival log through it.
- ``bitget_account`` / ``coinw_account``: a fresh account on it, with ``api_key``,
  ``secret_key``, ``passphrase`` (Bitget) and ``base_url``.

The async fixture works with pytest-asyncio in "auto" and "strict" mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar, cast

import pytest

from .config import SimulatorConfig
from .engine import Simulator
from .server import SimulatorServer
from .testing import RunningSimulator, SimAccount

__all__ = [
    "bitget_account",
    "coinw_account",
    "exchange_simulator",
    "exchange_simulator_config",
    "exchange_simulator_engine",
]

_F = TypeVar("_F", bound=Callable[..., Any])


def _async_fixture(function: _F) -> _F:
    """``pytest_asyncio.fixture`` when installed (works in its strict mode too)."""
    try:
        import pytest_asyncio
    except ImportError:  # pragma: no cover - an async fixture then needs another plugin
        return cast(_F, pytest.fixture(function))
    return cast(_F, pytest_asyncio.fixture(function))


@pytest.fixture
def exchange_simulator_config() -> SimulatorConfig:
    """The simulator's settings for one test (the documented limits, seed 0)."""
    return SimulatorConfig()


@pytest.fixture
def exchange_simulator_engine(exchange_simulator_config: SimulatorConfig) -> Simulator:
    """The simulator for one test, not serving yet (``exchange_simulator`` serves it)."""
    return Simulator(exchange_simulator_config)


@_async_fixture
async def exchange_simulator(
    exchange_simulator_engine: Simulator,
) -> AsyncIterator[RunningSimulator]:
    """``exchange_simulator_engine`` serving on a free local port for the test."""
    async with SimulatorServer(exchange_simulator_engine) as server:
        yield RunningSimulator(server)


@pytest.fixture
def bitget_account(exchange_simulator: RunningSimulator) -> SimAccount:
    """A Bitget elite-trader account with 50 current tracking orders."""
    return exchange_simulator.add_bitget_account()


@pytest.fixture
def coinw_account(exchange_simulator: RunningSimulator) -> SimAccount:
    """A CoinW futures account with 20 unfilled orders."""
    return exchange_simulator.add_coinw_account()
