"""Testing a bot against the simulator: a complete pytest file.

Needs the simulator (``pip install -e ".[sim]"`` in the clone) and pytest-asyncio. Run it with
``pytest docs/examples/test_bot_example.py`` (or ``python docs/examples/test_bot_example.py``).
The fixtures ``exchange_simulator``, ``bitget_account`` and ``coinw_account`` come from the
simulator's pytest plugin; nothing needs to be imported or configured for them.
"""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal

import pytest

import exchange_async as ea
from exchange_async_sim import BitgetTrackingOrder
from exchange_async_sim.testing import (
    BITGET_TRACKING_PATH,
    COINW_ORDER_PATH,
    RunningSimulator,
    SimAccount,
)

pytestmark = pytest.mark.asyncio  # also works when pytest-asyncio runs in strict mode

# -- the bot under test -----------------------------------------------------------------------


async def exposure_by_symbol(bitget: ea.BitgetClient) -> dict[str, Decimal]:
    """The bot: total open size per symbol over every current USDT-FUTURES tracking order."""
    totals: dict[str, Decimal] = {}
    async for order in bitget.iter_current_tracking_orders("USDT-FUTURES", page_size=10):
        totals[order.symbol] = totals.get(order.symbol, Decimal(0)) + order.open_size
    return totals


def bitget_client(account: SimAccount) -> ea.BitgetClient:
    """A real SDK client pointed at the simulator: its keys and its ``base_url``."""
    assert account.passphrase is not None
    credentials = ea.BitgetCredentials(account.api_key, account.secret_key, account.passphrase)
    return ea.BitgetClient(credentials, base_url=account.base_url)


# -- the tests --------------------------------------------------------------------------------


async def test_bot_sees_every_order(
    exchange_simulator: RunningSimulator, bitget_account: SimAccount
) -> None:
    async with bitget_client(bitget_account) as bitget:
        totals = await exposure_by_symbol(bitget)
    # The simulator's own state is the ground truth.
    truth = exchange_simulator.sim.open_orders(bitget_account.api_key)
    usdt = [
        order
        for order in truth.values()
        if isinstance(order, BitgetTrackingOrder) and order.product_type == "USDT-FUTURES"
    ]
    assert sum(totals.values()) == sum(order.open_size for order in usdt)


async def test_bot_never_exceeds_the_rate_limit(
    exchange_simulator: RunningSimulator, bitget_account: SimAccount
) -> None:
    async with bitget_client(bitget_account) as bitget:
        # Three copies of the bot at once, sharing one account: 5 requests per second at most.
        await asyncio.gather(*(exposure_by_symbol(bitget) for _ in range(3)))
    seen = exchange_simulator.requests(BITGET_TRACKING_PATH, account=bitget_account)
    assert len(seen) >= 6
    assert (
        exchange_simulator.max_requests_in_window(BITGET_TRACKING_PATH, account=bitget_account) <= 5
    )
    assert exchange_simulator.limit_violations() == 0


async def test_bot_rides_out_a_flaky_exchange(
    exchange_simulator: RunningSimulator, coinw_account: SimAccount
) -> None:
    exchange_simulator.inject(COINW_ORDER_PATH, "http_503", count=2)
    credentials = ea.CoinWCredentials(coinw_account.api_key, coinw_account.secret_key)
    async with ea.CoinWClient(credentials, base_url=coinw_account.base_url) as coinw:
        orders = await coinw.get_order_info("execute")
    assert all(order.user_id == int(coinw_account.uid) for order in orders)
    statuses = [arrival.status for arrival in exchange_simulator.requests(COINW_ORDER_PATH)]
    assert statuses == [503, 503, 200]


async def test_bot_reports_a_revoked_permission(
    exchange_simulator: RunningSimulator, coinw_account: SimAccount
) -> None:
    exchange_simulator.inject(COINW_ORDER_PATH, "code", code=6003, msg="require more permission")
    credentials = ea.CoinWCredentials(coinw_account.api_key, coinw_account.secret_key)
    async with ea.CoinWClient(credentials, base_url=coinw_account.base_url) as coinw:
        with pytest.raises(ea.PermissionDeniedError):
            await coinw.get_order_info("plan")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
