"""No terminal, no keys: start the simulator inside the program and call both exchanges.

This is how the test suite, the demo and the benchmarks use it. `python simulator_in_process.py`
"""

import asyncio

import exchange_async as ea
from exchange_async_sim import DEMO_BITGET, DEMO_COINW, Simulator, SimulatorServer


async def main() -> None:
    # Two demo accounts: Bitget (250 tracking orders) and CoinW (60 unfilled orders).
    sim = Simulator.with_demo_accounts()
    async with SimulatorServer(sim) as server:  # port 0: a free port is picked
        print("simulator on", server.base_url)

        bitget_credentials = ea.BitgetCredentials(
            DEMO_BITGET.api_key, DEMO_BITGET.secret_key, DEMO_BITGET.passphrase
        )
        async with ea.BitgetClient(bitget_credentials, base_url=server.base_url) as bitget:
            orders = [order async for order in bitget.iter_current_tracking_orders("USDT-FUTURES")]
            print(f"Bitget: {len(orders)} USDT-FUTURES tracking orders")

        coinw_credentials = ea.CoinWCredentials(DEMO_COINW.api_key, DEMO_COINW.secret_key)
        async with ea.CoinWClient(coinw_credentials, base_url=server.base_url) as coinw:
            for kind in ea.PositionType:
                print(f"CoinW: {len(await coinw.get_order_info(kind))} {kind} orders")

        # The simulator is a referee too: it logged every request it received.
        print(f"requests the simulator saw: {len(sim.arrivals)}")


asyncio.run(main())
