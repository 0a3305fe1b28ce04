"""Fixtures: the simulator (the ``exchange_async_sim`` pytest plugin's, with fixed accounts),
clients wired to it in memory, and a virtual-time event loop for tests marked ``virtual_time``.

- ``sim``: the simulator engine (``exchange_simulator_engine``), with one Bitget and one
  CoinW account under the fixed keys below; its rate windows read the running loop's clock.
- ``server``: ``sim`` serving on a free local port (the plugin's ``exchange_simulator``).
- ``make_server``: starts real local servers answering every path with a handler of the
  test's (`support.servers.ServerMaker`), all stopped after the test.
- ``bitget`` / ``coinw``: clients of those accounts whose requests go to ``sim`` in memory
  (`simulator_transport`): no socket, so they run on a virtual clock as well as a real one.

A test (or module, with ``pytestmark``) marked ``virtual_time`` runs on `VirtualTimeLoop`:
``asyncio.sleep`` and ``call_later`` return as soon as nothing else can run, and
``loop.time()`` reads exactly the schedule (a 5/s limit shows starts at 0.0, 0.21, ...).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping

import pytest
from support.servers import ServerMaker
from support.sim_transport import simulator_transport
from support.virtual_time import VirtualTimeLoop

import exchange_async as ea
from exchange_async._core.limits.carry import forget_other_loops
from exchange_async_sim import Simulator, SimulatorConfig, SimulatorServer, running_loop_time
from exchange_async_sim.testing import RunningSimulator

TRACK = "/api/v2/copy/mix-trader/order-current-track"
TIME = "/api/v2/public/time"
ORDER = "/v1/perpum/order"

BITGET_KEY, BITGET_SECRET, BITGET_PASS = "bg-key-0001", "bg-secret-0001", "bg-pass-0001"
COINW_KEY, COINW_SECRET = "cw-key-0001", "cw-secret-0001"

# Fast retries keep the suite quick; rate-limit back-off keeps its real shape.
FAST_RETRY = ea.RetryPolicy(max_attempts=3, base_delay=0.02, max_delay=0.1, rate_limit_delay=0.3)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """A `VirtualTimeLoop` for tests marked ``virtual_time``, the default loop otherwise."""
    if item.get_closest_marker("virtual_time") is not None:
        return {"virtual_time": VirtualTimeLoop}
    return {"asyncio": asyncio.new_event_loop}


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Each test's event loop starts with fresh budgets: the tests reuse one account on one
    address with a fresh simulator each (a real process carries them from loop to loop).
    A hook, not an autouse fixture: hypothesis refuses function-scoped fixtures."""
    forget_other_loops()


@pytest.fixture
def exchange_simulator_config() -> SimulatorConfig:
    return SimulatorConfig(seed=7)


@pytest.fixture
def exchange_simulator_engine(exchange_simulator_config: SimulatorConfig) -> Simulator:
    simulator = Simulator(exchange_simulator_config, clock=running_loop_time)
    simulator.add_bitget_account(
        api_key=BITGET_KEY, secret_key=BITGET_SECRET, passphrase=BITGET_PASS, orders=230
    )
    simulator.add_coinw_account(api_key=COINW_KEY, secret_key=COINW_SECRET, orders=60)
    return simulator


@pytest.fixture
def sim(exchange_simulator_engine: Simulator) -> Simulator:
    return exchange_simulator_engine


@pytest.fixture
def server(exchange_simulator: RunningSimulator) -> SimulatorServer:
    return exchange_simulator.server


@pytest.fixture
def bitget_credentials() -> ea.BitgetCredentials:
    return ea.BitgetCredentials(BITGET_KEY, BITGET_SECRET, BITGET_PASS)


@pytest.fixture
def coinw_credentials() -> ea.CoinWCredentials:
    return ea.CoinWCredentials(COINW_KEY, COINW_SECRET)


@pytest.fixture
async def bitget(
    sim: Simulator, bitget_credentials: ea.BitgetCredentials
) -> AsyncIterator[ea.BitgetClient]:
    transport = simulator_transport(sim)
    async with ea.BitgetClient(bitget_credentials, transport=transport, retry=FAST_RETRY) as c:
        yield c


@pytest.fixture
async def coinw(
    sim: Simulator, coinw_credentials: ea.CoinWCredentials
) -> AsyncIterator[ea.CoinWClient]:
    transport = simulator_transport(sim)
    async with ea.CoinWClient(coinw_credentials, transport=transport, retry=FAST_RETRY) as c:
        yield c


@pytest.fixture
async def make_server() -> AsyncIterator[ServerMaker]:
    maker = ServerMaker()
    yield maker
    await maker.close()
