"""A machine whose clock is a minute off still gets through to Bitget. `python clock_sync.py`

This example starts its own simulator, with the server's clock 60 s ahead of this machine's.
"""

import asyncio

import exchange_async as ea
from exchange_async_sim import DEMO_BITGET, Simulator, SimulatorConfig, SimulatorServer


async def main() -> None:
    sim = Simulator.with_demo_accounts(SimulatorConfig(clock_offset_ms=60_000))
    async with SimulatorServer(sim) as server:
        credentials = ea.BitgetCredentials(
            DEMO_BITGET.api_key, DEMO_BITGET.secret_key, DEMO_BITGET.passphrase
        )
        async with ea.BitgetClient(credentials, base_url=server.base_url) as bitget:
            server_ms = await bitget.get_server_time()  # Unix ms, Bitget's clock
            print(f"the server's clock is {server_ms} ms")
            # Signed with a corrected timestamp: the server accepts it.
            page = await bitget.get_current_tracking_orders("USDT-FUTURES", limit=3)
            print(f"signed call accepted: {len(page.tracking_list)} orders")
        paths = [arrival.path for arrival in sim.arrivals]
        print("requests in order:", paths)


asyncio.run(main())
