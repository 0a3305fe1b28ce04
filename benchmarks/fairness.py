"""Accounts that start together on one IP, several calls in flight each (issue 16).

Against the simulator over HTTP on loopback (in this process; its arrival times are the
moments its handler starts), with the in-process limiter:

- two accounts x 15 concurrent calls: how long until all 30 are answered (one account alone
  needs 14 x 210 ms = 2.94 s);
- an idle account's single call while another account has 40 calls queued: its latency;
- 28 accounts x 3 calls in flight: requests/s in total (the per-IP 6,000/min allows 95.2/s
  steady, after a burst of 143), the most any account had in 1 s at the server (limit 5), and
  the least-served account's share of the fair share.

Then client CPU per paced request with 15 accounts started together on one IP (every account
at 5 req/s from the same instant, one per-IP budget), this SDK (on its lean transport and on
aiohttp's) against raw aiohttp + ``json.loads``, interleaved rounds, server in its own process
(``benchmarks._pageserver``); the ratio is taken per round, then the median.
"""

from __future__ import annotations

import asyncio
import bisect
import sys
from collections import defaultdict
from typing import Any

import exchange_async as ea

from ._common import Outcome, Table, fmt, median, rotated, run_async
from ._contenders import CONTENDERS
from ._proc import server_process
from ._sim import Simulator, SimulatorConfig, SimulatorServer
from .request_cpu import drive

NAME = "fairness"
TRACK = "/api/v2/copy/mix-trader/order-current-track"


def settings(quick: bool) -> dict[str, Any]:
    """Durations and sizes of a run."""
    if quick:
        return {"many_s": 3.0, "steady_from": 2.0, "cpu_rounds": 1, "cpu_s": 1.5, "warm_s": 0.5}
    return {"many_s": 12.0, "steady_from": 5.0, "cpu_rounds": 3, "cpu_s": 6.0, "warm_s": 1.5}


def _clients(server: SimulatorServer, sim: Simulator, n: int) -> list[ea.BitgetClient]:
    made = []
    for i in range(n):
        key, secret, phrase = f"fair-{i}", f"fair-secret-{i}", f"fair-pass-{i}"
        sim.add_bitget_account(api_key=key, secret_key=secret, passphrase=phrase, orders=5)
        credentials = ea.BitgetCredentials(key, secret, phrase)
        made.append(ea.BitgetClient(credentials, base_url=server.base_url))
    return made


async def _call(client: ea.BitgetClient) -> None:
    await client.get_current_tracking_orders("USDT-FUTURES")


async def _with_accounts(n: int, case: Any) -> Any:
    sim = Simulator(SimulatorConfig(seed=1))
    async with SimulatorServer(sim) as server:
        clients = _clients(server, sim, n)
        try:
            return await case(sim, clients)
        finally:
            for client in clients:
                await client.close()


async def two_by_15(sim: Simulator, clients: list[ea.BitgetClient]) -> dict[str, float]:
    """Seconds until 2 accounts x 15 concurrent calls are all answered."""
    loop = asyncio.get_running_loop()
    await asyncio.gather(*(_call(c) for c in clients))  # connections open
    await asyncio.sleep(1.1)
    started = loop.time()
    await asyncio.gather(*(_call(c) for c in clients for _ in range(15)))
    return {"seconds": loop.time() - started, "violations": sim.limit_violations()}


async def idle_beside_backlog(sim: Simulator, clients: list[ea.BitgetClient]) -> dict[str, float]:
    """Latency of an idle account's call while another has 40 calls queued."""
    loop = asyncio.get_running_loop()
    busy, idle = clients
    await asyncio.gather(*(_call(c) for c in clients))
    await asyncio.sleep(1.1)
    backlog = [asyncio.ensure_future(_call(busy)) for _ in range(40)]
    await asyncio.sleep(0.5)
    started = loop.time()
    await _call(idle)
    took = loop.time() - started
    await asyncio.gather(*backlog)
    return {"seconds": took, "violations": sim.limit_violations()}


def _max_in_window(times: list[float]) -> int:
    times = sorted(times)
    return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)


async def many(
    sim: Simulator, clients: list[ea.BitgetClient], seconds: float, steady_from: float
) -> dict[str, float]:
    """28 accounts x 3 in flight: the per-IP budget shared, every account's share."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    end = started + seconds

    async def keep_busy(client: ea.BitgetClient) -> None:
        while loop.time() < end:
            await _call(client)

    await asyncio.gather(*(keep_busy(c) for c in clients for _ in range(3)))
    per: dict[str | None, list[float]] = defaultdict(list)
    for arrival in sim.arrivals:
        if arrival.path == TRACK and started <= arrival.time < end:
            per[arrival.account].append(arrival.time)
    total = sum(len(t) for t in per.values())
    steady = sum(1 for ts in per.values() for t in ts if t >= started + steady_from)
    least = min((len(t) for t in per.values()), default=0) if len(per) == len(clients) else 0
    return {
        "req_per_s": total / seconds,
        "steady_req_per_s": steady / (seconds - steady_from),
        "max_per_account_1s": max((_max_in_window(t) for t in per.values()), default=0),
        "min_share_of_fair": least / (total / len(clients)) if total else 0.0,
        "violations": sim.limit_violations(),
    }


def cpu_together(cfg: dict[str, Any]) -> dict[str, list[float]]:
    """CPU µs per paced request, 15 accounts started together on one IP, per contender."""
    names = ("exchange_async", "exchange_async[aiohttp]", "aiohttp+json")
    wanted = [c for c in CONTENDERS if c.name in names]
    cpu: dict[str, list[float]] = {c.name: [] for c in wanted}
    with server_process("benchmarks._pageserver", ["1"]) as server:
        for r in range(cfg["cpu_rounds"]):
            for contender in rotated(wanted, r):
                once = drive(contender, server.port, 15, cfg["cpu_s"], cfg["warm_s"], together=True)
                cpu[contender.name].append(run_async(once, False)["cpu_us_per_request"])
    return cpu


def run(quick: bool = False) -> Outcome:
    """The fairness cases, then the CPU comparison."""
    cfg = settings(quick)
    outcome = Outcome(NAME, "Accounts started together on one IP, several calls in flight")
    two = asyncio.run(_with_accounts(2, two_by_15))
    idle = asyncio.run(_with_accounts(2, idle_beside_backlog))
    crowd = asyncio.run(
        _with_accounts(28, lambda s, c: many(s, c, cfg["many_s"], cfg["steady_from"]))
    )
    table = Table("in-process limiter, simulator over HTTP", ["case", "figure", "target"])
    table.rows += [
        ["2 accounts x 15 concurrent calls", f"{two['seconds']:.2f} s", "< 3.3 s"],
        ["idle account beside a 40-call backlog", f"{idle['seconds'] * 1000:.0f} ms", "< 350 ms"],
        ["28 accounts x 3 in flight: total", f"{crowd['req_per_s']:.1f} req/s", ">= 88"],
        ["  once the per-IP burst is spent", f"{crowd['steady_req_per_s']:.1f} req/s", ">= 88"],
        ["  most per account in any 1 s", str(crowd["max_per_account_1s"]), "<= 5"],
        ["  least-served account / fair share", f"{crowd['min_share_of_fair']:.0%}", ">= 70 %"],
    ]
    outcome.tables.append(table)
    violations = two["violations"] + idle["violations"] + crowd["violations"]
    if violations or crowd["max_per_account_1s"] > 5:
        outcome.problems.append(f"the simulator counted {violations} arrivals over a limit")
    cpu = cpu_together(cfg)
    cpu_table = Table(
        "client CPU per paced request, 15 accounts started together on one IP",
        ["client", "CPU µs/request (median)", "client / raw aiohttp+json"],
    )
    raw = cpu["aiohttp+json"]
    for name, values in cpu.items():
        ratios = [v / r for v, r in zip(values, raw, strict=True)]
        cpu_table.rows.append([name, fmt(median(values)), f"{median(ratios):.2f}x"])
    outcome.tables.append(cpu_table)
    outcome.data = {"settings": cfg, "two_by_15": two, "idle": idle, "many": crowd, "cpu": cpu}
    outcome.notes.append(
        "Fairness cases: the simulator runs in the client's process (arrivals stamped when its "
        "handler starts). CPU: time.process_time() of the client process per completed "
        "request, server in its own process; client / raw per round, median over rounds."
    )
    return outcome


if __name__ == "__main__":
    from .__main__ import standalone

    sys.exit(standalone(NAME))
