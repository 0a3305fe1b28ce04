"""The simulator in its own process, for the fleet benchmark.

``python -m benchmarks._fleetsim N B`` serves N demo accounts (``Simulator.with_demo_fleet``),
B of them Bitget and the rest CoinW, on 127.0.0.1, prints the port, then answers one JSON line
per command on stdin until it closes:

- ``accounts``: the accounts' credentials (`FleetAccount` fields);
- ``mutate INTERVAL SHARE``: start changing orders (each account with probability SHARE every
  INTERVAL seconds); ``stop``: stop, and wait for it;
- ``mutations``: every change so far, ``[monotonic time, account uid, order key]``;
- ``first_after T``: per api key, the first arrival at or after monotonic time T;
- ``count A B``: arrivals from monotonic time A to B;
- ``stats``: limit violations and refusals as the simulator counts them.

Times are ``time.monotonic()``, the same clock in every process of the machine.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict
from typing import Any

from ._sim import Simulator, SimulatorConfig, SimulatorServer


def answer(sim: Simulator, accounts: list[Any], command: list[str]) -> Any:
    """The reply to one command (``mutate`` and ``stop`` are handled by the caller)."""
    if command[0] == "accounts":
        return [asdict(a) for a in accounts]
    if command[0] == "mutations":
        return [[m.time, m.account, m.key] for m in sim.mutations]
    if command[0] == "first_after":
        since = float(command[1])
        first: dict[str, float] = {}
        for arrival in sim.arrivals:
            if arrival.time >= since and arrival.api_key is not None:
                first.setdefault(arrival.api_key, arrival.time)
        return first
    if command[0] == "count":
        start, end = float(command[1]), float(command[2])
        return sum(1 for arrival in sim.arrivals if start <= arrival.time < end)
    return {"limit_violations": sim.limit_violations(), "refused": sim.violations()}


async def serve(accounts: int, bitget: int) -> None:
    """Serve until stdin closes."""
    sim, everyone = Simulator.with_demo_fleet(
        2 * max(bitget, accounts - bitget), SimulatorConfig(seed=4)
    )
    fleet = [a for a in everyone if a.exchange == "bitget"][:bitget]
    fleet += [a for a in everyone if a.exchange == "coinw"][: accounts - bitget]
    async with SimulatorServer(sim) as server:
        print(server.port, flush=True)
        loop = asyncio.get_running_loop()
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            command = line.split()
            if command[0] == "mutate":
                sim.config.mutation_share = float(command[2])
                sim.start_mutations(float(command[1]))
                reply: Any = "ok"
            elif command[0] == "stop":
                await sim.stop_mutations()
                reply = "ok"
            else:
                reply = answer(sim, fleet, command)
            print(json.dumps(reply), flush=True)
        await sim.stop_mutations()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), int(sys.argv[2])))
