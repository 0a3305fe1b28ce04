"""A trader's closed copy-trading orders: one page, then every one since a date, with the
profit they made. Bitget's `order-history-track`, on its own 5 requests/s budget.

Start the simulator in another terminal first (`exchange-async simulate`), or set
EXCHANGE_ASYNC_BASE_URL and the BITGET_* variables. Then: `python bitget_history.py`.
"""

import asyncio
import os
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import exchange_async as ea

BASE_URL = os.environ.get("EXCHANGE_ASYNC_BASE_URL", "http://127.0.0.1:8080")
CREDENTIALS = ea.BitgetCredentials(
    os.environ.get("BITGET_API_KEY", "demo-bitget-key"),
    os.environ.get("BITGET_SECRET_KEY", "demo-bitget-secret"),
    os.environ.get("BITGET_PASSPHRASE", "demo-passphrase"),
)


async def main() -> None:
    async with ea.BitgetClient(CREDENTIALS, base_url=BASE_URL) as bitget:
        # One page: the five most recent closed orders.
        page = await bitget.get_history_tracking_orders("USDT-FUTURES", limit=5)
        for order in page.tracking_list:
            closed = datetime.fromtimestamp(order.close_time / 1000, tz=UTC)
            print(
                f"{order.tracking_no} {order.symbol:<9} {order.pos_side:<5} "
                f"{order.open_price_avg} -> {order.close_price_avg} "
                f"PnL {order.achieved_pl} ({order.stop_type or 'closed by hand'}) at {closed:%F %T}"
            )

        # Every closed order created since a date, 100 a request, newest first.
        since = datetime(2025, 11, 1, tzinfo=UTC)
        total, stops = Decimal(0), Counter[str]()
        async for order in bitget.iter_history_tracking_orders("USDT-FUTURES", start_time=since):
            total += order.achieved_pl + order.open_fee + order.close_fee  # fees are negative
            stops[order.stop_type or "manual"] += 1
        count = sum(stops.values())
        print(f"{count} orders since {since:%F}: net {total} after fees, by close: {dict(stops)}")


asyncio.run(main())
