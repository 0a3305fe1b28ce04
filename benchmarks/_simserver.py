"""The simulator in its own process, for the scale benchmark.

``python -m benchmarks._simserver N`` registers N CoinW accounts (api key ``scale-key-<i>``,
secret ``scale-secret-<i>``, 10 open orders each), serves on 127.0.0.1, prints the port, then
answers each ``stats`` line on stdin with one JSON line (violations as the simulator counts
them, arrivals, its own CPU seconds, its longest event-loop stall since the last ``reset``)
until stdin closes. ``arrivals`` answers instead with every CoinW arrival time since the last
``reset`` (``time.monotonic()``, shared with the client process), by api key.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from ._sim import COINW_PATH, Simulator, SimulatorConfig, SimulatorServer


def scale_credentials(index: int) -> tuple[str, str]:
    """``(api_key, secret_key)`` of scale account ``index``."""
    return f"scale-key-{index:05d}", f"scale-secret-{index:05d}"


async def serve(accounts: int) -> None:
    """Serve until stdin closes, answering ``stats`` requests."""
    sim = Simulator(SimulatorConfig(arrival_log_limit=400_000))
    for i in range(accounts):
        key, secret = scale_credentials(i)
        sim.add_coinw_account(api_key=key, secret_key=secret, orders=10)
    stalls: list[float] = [0.0]

    async def ticker() -> None:  # the server's own event-loop stalls delay arrival times
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.005)
            stalls[0] = max(stalls[0], loop.time() - before - 0.005)

    async with SimulatorServer(sim) as server:
        print(server.port, flush=True)
        loop = asyncio.get_running_loop()
        tick = asyncio.create_task(ticker())
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            if line.strip() == "arrivals":
                times: dict[str, list[float]] = {}
                for arrival in sim.arrivals:
                    if arrival.path == COINW_PATH and arrival.api_key is not None:
                        times.setdefault(arrival.api_key, []).append(arrival.time)
                print(json.dumps(times), flush=True)
                continue
            if line.strip() == "reset":
                sim.reset_arrivals()
                stalls[0] = 0.0
            stats = {
                "limit_violations": sim.limit_violations(),
                "refused": sim.violations(),
                "arrivals": sim.count(COINW_PATH),
                "cpu_s": time.process_time(),
                "max_stall_ms": stalls[0] * 1e3,
            }
            print(json.dumps(stats), flush=True)
        tick.cancel()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
