"""The pytest plugin's fixtures, as a user's test takes them (overriding the config)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import aiohttp
import pytest

from exchange_async_sim import SimulatorConfig
from exchange_async_sim.testing import BITGET_TRACKING_PATH, RunningSimulator, SimAccount


@pytest.fixture
def exchange_simulator_config() -> SimulatorConfig:
    return SimulatorConfig(seed=5, bitget_rate_limit=2)


async def _get(http: aiohttp.ClientSession, account: SimAccount) -> int:
    assert account.passphrase is not None
    target = f"{BITGET_TRACKING_PATH}?productType=USDT-FUTURES"
    ts = str(int(time.time() * 1000))
    digest = hmac.new(
        account.secret_key.encode(), f"{ts}GET{target}".encode(), hashlib.sha256
    ).digest()
    headers = {
        "ACCESS-KEY": account.api_key,
        "ACCESS-SIGN": base64.b64encode(digest).decode(),
        "ACCESS-TIMESTAMP": ts,
        "ACCESS-PASSPHRASE": account.passphrase,
    }
    async with http.get(account.base_url + target, headers=headers) as response:
        return response.status


async def test_fixtures_serve_accounts_and_log_what_they_saw(
    exchange_simulator: RunningSimulator, bitget_account: SimAccount, coinw_account: SimAccount
) -> None:
    assert bitget_account.base_url == coinw_account.base_url == exchange_simulator.base_url
    assert bitget_account.exchange == "bitget"
    assert coinw_account.passphrase is None
    assert bitget_account.secret_key not in repr(bitget_account)
    assert bitget_account.passphrase is not None
    assert bitget_account.passphrase not in repr(bitget_account)
    async with aiohttp.ClientSession() as http:
        statuses = [await _get(http, bitget_account) for _ in range(3)]
    assert statuses == [200, 200, 429]  # the overridden config: 2 per second
    window = exchange_simulator.max_requests_in_window(BITGET_TRACKING_PATH, account=bitget_account)
    assert window == 3
    assert exchange_simulator.limit_violations("bitget") == 1
    assert exchange_simulator.refused_for_rate() == {"bitget": 1, "coinw": 0}
    assert len(exchange_simulator.requests(account=bitget_account)) == 3


async def test_each_test_gets_a_fresh_simulator(exchange_simulator: RunningSimulator) -> None:
    assert exchange_simulator.sim.arrivals == []
    assert not exchange_simulator.sim.bitget.accounts
