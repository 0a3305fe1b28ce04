"""CoinW: filter by instrument, and ask for more ids than one request may carry.

`python coinw_many_ids.py` (with `exchange-async simulate` running).
"""

import asyncio
import os

import exchange_async as ea

BASE_URL = os.environ.get("EXCHANGE_ASYNC_BASE_URL", "http://127.0.0.1:8080")
CREDENTIALS = ea.CoinWCredentials(
    os.environ.get("COINW_API_KEY", "demo-coinw-key"),
    os.environ.get("COINW_SECRET_KEY", "demo-coinw-secret"),
)


async def main() -> None:
    async with ea.CoinWClient(CREDENTIALS, base_url=BASE_URL) as coinw:
        # Every unfilled order, one request per position type (CoinW may add other types to a
        # reply: filter on order.pos_type if that matters).
        everything: dict[int, ea.OrderInfo] = {}
        for kind in ea.PositionType:
            for order in await coinw.get_order_info(kind):
                everything[order.id] = order
        print(f"{len(everything)} unfilled orders")

        btc = await coinw.get_order_info("execute", instrument="btc")  # any case
        print(f"{len(btc)} execute orders on BTC")

        # 45 ids: CoinW takes at most 20 per request, so the SDK sends 3 requests (each through
        # the rate limiter) and merges the replies in the order the ids were given.
        ids = list(everything)[:45]
        before = coinw.stats.requests
        orders = await coinw.get_order_info(ea.PositionType.PLAN, source_ids=ids)
        print(f"asked for {len(ids)} ids: {coinw.stats.requests - before} requests")
        print(f"got {len(orders)} orders, first {orders[0].id if orders else None}")

        # Ids are exact ints, money is Decimal, whatever CoinW sent.
        for order in orders[:3]:
            print(order.id, order.pos_type, order.order_status, order.margin, order.created_date)


asyncio.run(main())
