"""The first call to CoinW: the account's unfilled plan orders on BTC.

Start the simulator in another terminal first (`exchange-async simulate`), or set
EXCHANGE_ASYNC_BASE_URL and the COINW_* variables. Then: `python coinw_first_call.py`.
"""

import asyncio
import os

import exchange_async as ea

# The simulator's address and demo keys, unless the environment says otherwise. For the real
# exchange, set your own keys and EXCHANGE_ASYNC_BASE_URL=https://api.coinw.com (or leave
# base_url= out: it defaults to CoinW's own host).
BASE_URL = os.environ.get("EXCHANGE_ASYNC_BASE_URL", "http://127.0.0.1:8080")
CREDENTIALS = ea.CoinWCredentials(
    os.environ.get("COINW_API_KEY", "demo-coinw-key"),
    os.environ.get("COINW_SECRET_KEY", "demo-coinw-secret"),
)


async def main() -> None:
    async with ea.CoinWClient(CREDENTIALS, base_url=BASE_URL) as coinw:
        orders = await coinw.get_order_info("plan")
        print(f"{len(orders)} unfilled plan orders")
        for order in orders[:5]:
            print(
                order.id, order.instrument, order.direction, order.quantity, "@", order.order_price
            )

        # Ask for some of them by id (more than 20 ids are split into several requests).
        ids = [order.id for order in orders[:3]]
        again = await coinw.get_order_info("plan", source_ids=ids)
        assert [order.id for order in again] == ids  # in the order the ids were given


asyncio.run(main())
