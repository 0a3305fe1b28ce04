"""Paging through Bitget's current tracking orders, three ways. `python paging.py`"""

import asyncio
import os

import exchange_async as ea

BASE_URL = os.environ.get("EXCHANGE_ASYNC_BASE_URL", "http://127.0.0.1:8080")
CREDENTIALS = ea.BitgetCredentials(
    os.environ.get("BITGET_API_KEY", "demo-bitget-key"),
    os.environ.get("BITGET_SECRET_KEY", "demo-bitget-secret"),
    os.environ.get("BITGET_PASSPHRASE", "demo-passphrase"),
)


async def main() -> None:
    async with ea.BitgetClient(CREDENTIALS, base_url=BASE_URL) as bitget:
        # 1. Everything, one order at a time (the usual choice).
        orders = [order async for order in bitget.iter_current_tracking_orders("USDT-FUTURES")]
        print(f"1. {len(orders)} orders, newest first")

        # 2. Everything, one page at a time (to see the cursors, or to batch the work).
        pages = bitget.iter_current_tracking_order_pages("USDT-FUTURES", page_size=50)
        async for page in pages:
            print(f"2. a page of {len(page.tracking_list)}, next cursor {page.end_id}")

        # 3. By hand, passing each page's end_id back as id_less_than.
        seen = 0
        page = await bitget.get_current_tracking_orders("USDT-FUTURES", limit=50)
        while page.tracking_list and page.end_id:
            seen += len(page.tracking_list)
            page = await bitget.get_current_tracking_orders(
                "USDT-FUTURES", limit=50, id_less_than=page.end_id
            )
        seen += len(page.tracking_list)
        print(f"3. {seen} orders by hand")

        # Filters apply to every page: a symbol, and an open-time window (ms or aware datetime).
        btc = [
            o async for o in bitget.iter_current_tracking_orders("USDT-FUTURES", symbol="BTCUSDT")
        ]
        print(f"   of which {len(btc)} on BTCUSDT")


asyncio.run(main())
