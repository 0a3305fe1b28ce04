"""Fixtures: a real simulator on a free port, and clients pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import exchange_async as ea
from exchange_async_sim import Simulator, SimulatorConfig, SimulatorServer

TRACK = "/api/v2/copy/mix-trader/order-current-track"
TIME = "/api/v2/public/time"
ORDER = "/v1/perpum/order"

BITGET_KEY, BITGET_SECRET, BITGET_PASS = "bg-key-0001", "bg-secret-0001", "bg-pass-0001"
COINW_KEY, COINW_SECRET = "cw-key-0001", "cw-secret-0001"

# Fast retries keep the suite quick; rate-limit back-off keeps its real shape.
FAST_RETRY = ea.RetryPolicy(max_attempts=3, base_delay=0.02, max_delay=0.1, rate_limit_delay=0.3)


@pytest.fixture
def sim() -> Simulator:
    simulator = Simulator(SimulatorConfig(seed=7))
    simulator.add_bitget_account(
        api_key=BITGET_KEY, secret_key=BITGET_SECRET, passphrase=BITGET_PASS, orders=230
    )
    simulator.add_coinw_account(api_key=COINW_KEY, secret_key=COINW_SECRET, orders=60)
    return simulator


@pytest.fixture
async def server(sim: Simulator) -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(sim) as running:
        yield running


@pytest.fixture
def bitget_credentials() -> ea.BitgetCredentials:
    return ea.BitgetCredentials(BITGET_KEY, BITGET_SECRET, BITGET_PASS)


@pytest.fixture
def coinw_credentials() -> ea.CoinWCredentials:
    return ea.CoinWCredentials(COINW_KEY, COINW_SECRET)


@pytest.fixture
async def bitget(
    server: SimulatorServer, bitget_credentials: ea.BitgetCredentials
) -> AsyncIterator[ea.BitgetClient]:
    async with ea.BitgetClient(
        bitget_credentials, base_url=server.base_url, retry=FAST_RETRY
    ) as client:
        yield client


@pytest.fixture
async def coinw(
    server: SimulatorServer, coinw_credentials: ea.CoinWCredentials
) -> AsyncIterator[ea.CoinWClient]:
    async with ea.CoinWClient(
        coinw_credentials, base_url=server.base_url, retry=FAST_RETRY
    ) as client:
        yield client
