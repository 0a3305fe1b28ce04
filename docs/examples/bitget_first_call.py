"""The first call to Bitget: one page of an elite trader's current tracking orders.

Start the simulator in another terminal first (`exchange-async simulate`), or set
EXCHANGE_ASYNC_BASE_URL and the BITGET_* variables. Then: `python bitget_first_call.py`.
"""

import asyncio
import os

import exchange_async as ea

# The simulator's address and demo keys, unless the environment says otherwise. For the real
# exchange, set your own keys and EXCHANGE_ASYNC_BASE_URL=https://api.bitget.com (or leave
# base_url= out: it defaults to Bitget's own host).
BASE_URL = os.environ.get("EXCHANGE_ASYNC_BASE_URL", "http://127.0.0.1:8080")
CREDENTIALS = ea.BitgetCredentials(
    os.environ.get("BITGET_API_KEY", "demo-bitget-key"),
    os.environ.get("BITGET_SECRET_KEY", "demo-bitget-secret"),
    os.environ.get("BITGET_PASSPHRASE", "demo-passphrase"),
)


async def main() -> None:
    async with ea.BitgetClient(CREDENTIALS, base_url=BASE_URL) as bitget:
        page = await bitget.get_current_tracking_orders("USDT-FUTURES", limit=5)
        for order in page.tracking_list:
            print(
                order.tracking_no,
                order.symbol,
                order.pos_side,
                order.open_size,
                "@",
                order.open_price_avg,  # a Decimal, exactly as Bitget sent it
            )
        print("cursor to the next (older) page:", page.end_id)


asyncio.run(main())
