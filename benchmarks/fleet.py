"""``python -m benchmarks.fleet [--quick]``: a fleet of worker processes on one Redis.

Three figures, each measured in this run:

- **stream throughput**: Bitget ``OrderChanged`` events committed per second through the
  commit script (batches of ten, as a snapshot with ten changes commits them: checkpoint moved,
  stream appended), and read, decoded and acknowledged per second through a consumer group
  (`ea.FleetEvents`), acknowledging each or 500 at once; one process each way;
- **change -> consumer latency**: the simulator (its own process) changes orders while the
  workers (their own processes) poll every ``interval`` seconds; a consumer in this process
  timestamps each event, matched to the change(s) it announces (the earliest unannounced
  change of that order): p50 / p99 / max against the target of two intervals + 50 ms;
- **takeover**: one worker is killed (SIGKILL); seconds until each of its accounts is polled
  again (its first request at the simulator, not counting the first ``lease_ttl / 3`` seconds:
  the victim's own last requests), median and max, with the default lease.

Correctness problems (exit 1): a limit exceeded at the simulator, an event delivered twice,
an account's sequence with a gap. Needs ``redis-server`` on the PATH (skipped otherwise).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from ._common import ROOT, Outcome, Table, fmt, median, percentile
from ._fleetmeasure import Seen, latencies, problems, throughput
from ._proc import Server, server_process

NAME = "fleet"


@dataclass(frozen=True, slots=True)
class Plan:
    """One run's size. ``interval``: seconds between the starts of an account's snapshots (a
    Bitget snapshot of every product type takes up to five requests at 5/s, about a second, so
    a shorter interval would be the limit's pace, not the interval)."""

    accounts: int
    bitget: int
    """Of the accounts, on Bitget (the rest on CoinW): every worker sends from one IP, and
    Bitget's 6,000 requests a minute per IP carry about 25 accounts at this interval."""
    workers: int
    steady: float
    lease_ttl: float
    interval: float
    events: int


FULL = Plan(
    accounts=200, bitget=25, workers=4, steady=20.0, lease_ttl=5.0, interval=1.5, events=20_000
)
QUICK = Plan(
    accounts=10, bitget=4, workers=2, steady=1.5, lease_ttl=1.0, interval=0.75, events=1_000
)


def _redis() -> tuple[subprocess.Popen[bytes], str]:
    from .redis_acquire import _free_port

    port = _free_port()
    directory = tempfile.mkdtemp()
    proc = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""),
            *("--appendonly", "no", "--dir", directory),
        ],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    return proc, f"redis://127.0.0.1:{port}/0"


class Workers:
    """The worker processes (``benchmarks._fleet_worker``)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, worker: str) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._fleet_worker"], stdin=subprocess.PIPE, cwd=ROOT
        )
        assert proc.stdin is not None
        proc.stdin.write(json.dumps({**self.spec, "worker_id": worker}).encode() + b"\n")
        proc.stdin.flush()
        self.procs[worker] = proc

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.kill()
            proc.wait()


async def _ask(sim: Server, line: str) -> str:
    """``sim.ask(line)`` in a thread: the consumer in this process keeps reading meanwhile
    (a blocked loop would add its wait to every event's latency)."""
    return await asyncio.to_thread(sim.ask, line)


async def _owned(url: str, names: set[str], workers: set[str], limit: float) -> float:
    """Seconds until every account is held by one of ``workers``."""
    import exchange_async as ea

    observer = ea.Fleet(url, name="bench")
    began = time.monotonic()
    while True:
        owners = await observer.owners()
        if set(owners) == names and set(owners.values()) <= workers:
            return time.monotonic() - began
        if time.monotonic() - began > limit:
            raise RuntimeError(f"accounts not all held by {sorted(workers)} in {limit} s")
        await asyncio.sleep(0.1)


async def _consume(url: str, seen: list[Seen], stop: asyncio.Event) -> None:
    import exchange_async as ea

    async with ea.FleetEvents(url, name="bench", group="bench", consumer="c", block=0.2) as events:
        iterator = aiter(events)
        while not stop.is_set():
            event = await anext(iterator)
            seen.append((time.monotonic(), event, events.committed_at(event)))
            await events.ack(event)


async def _run(quick: bool, outcome: Outcome) -> None:
    plan = QUICK if quick else FULL
    redis, url = _redis()
    try:
        committed, one, batch = await throughput(url, plan.events)
        with server_process("benchmarks._fleetsim", [str(plan.accounts), str(plan.bitget)]) as sim:
            await _fleet_phases(sim, url, plan, outcome)
    finally:
        redis.kill()
        redis.wait()
    outcome.tables.insert(
        0,
        Table(
            "events through the stream (one process each way)",
            ["path", "events/s"],
            [
                ["commit (batches of 10)", fmt(committed, 0)],
                ["read + decode, ack each", fmt(one, 0)],
                ["read + decode, ack 500 at once", fmt(batch, 0)],
            ],
        ),
    )
    outcome.data.update(
        commit_events_per_s=committed, consume_each_per_s=one, consume_batched_per_s=batch
    )


async def _fleet_phases(sim: Server, url: str, plan: Plan, outcome: Outcome) -> None:
    accounts = json.loads(await _ask(sim, "accounts"))
    names = {a["name"] for a in accounts}
    uid = {a["name"]: a["uid"] for a in accounts}
    base_url = f"http://127.0.0.1:{sim.port}"
    spec = {
        "redis_url": url,
        "base_url": base_url,
        "lease_ttl": plan.lease_ttl,
        "interval": plan.interval,
    }
    fleet = Workers({**spec, "accounts": accounts})
    seen: list[Seen] = []
    stop = asyncio.Event()
    consumer = asyncio.create_task(_consume(url, seen, stop))
    ids = [f"w{i + 1}" for i in range(plan.workers)]
    try:
        for worker in ids:
            fleet.start(worker)
        await _owned(url, names, set(ids), 60)
        await asyncio.sleep(plan.interval + 1)  # every first snapshot in
        await _ask(sim, f"mutate {plan.interval / 2} 0.2")
        began = time.monotonic()
        await asyncio.sleep(plan.steady)
        ended = time.monotonic()
        await _ask(sim, "stop")
        rate = json.loads(await _ask(sim, f"count {began} {ended}")) / (ended - began)
        await asyncio.sleep(2 * plan.interval)
        changes = json.loads(await _ask(sim, "mutations"))
        latency = latencies([s for s in seen if s[0] >= began], changes, uid)
        takeover = await _takeover(sim, url, fleet, ids, names, accounts, plan)
        stats = json.loads(await _ask(sim, "stats"))
    finally:
        stop.set()
        consumer.cancel()
        await asyncio.gather(consumer, return_exceptions=True)
        fleet.stop()
    stats["requests_per_s"] = rate
    _report(outcome, plan, latency, takeover, stats, seen)


async def _takeover(
    sim: Server,
    url: str,
    fleet: Workers,
    ids: list[str],
    names: set[str],
    accounts: list[Any],
    plan: Plan,
) -> list[float]:
    import exchange_async as ea

    owners = await ea.Fleet(url, name="bench").owners()
    victim = ids[0]
    lost = {a["api_key"] for a in accounts if owners.get(a["name"]) == victim}
    killed_at = time.monotonic()
    fleet.procs[victim].send_signal(signal.SIGKILL)
    await _owned(url, names, set(ids[1:]), 60)
    # Requests the victim had on the wire arrive after its death (late, on a loaded machine):
    # its leases live at least two thirds of lease_ttl after its last round, so an arrival in
    # the first third is still the victim's, never the new owner's.
    first: dict[str, float] = {}
    while not lost <= set(first) and time.monotonic() < killed_at + 30:
        await asyncio.sleep(0.5)
        first = json.loads(await _ask(sim, f"first_after {killed_at + plan.lease_ttl / 3}"))
    return [first[key] - killed_at for key in lost if key in first] + [
        float("inf") for key in lost if key not in first
    ]


def _p50(values: list[float]) -> float:
    return percentile(values, 50)


def _p99(values: list[float]) -> float:
    return percentile(values, 99)


def _max(values: list[float]) -> float:
    return max(values, default=float("nan"))


def _report(
    outcome: Outcome,
    plan: Plan,
    latency: list[tuple[float, float, float]],
    takeover: list[float],
    stats: dict[str, Any],
    seen: list[Seen],
) -> None:
    target = 2 * plan.interval + 0.05
    total = [t for t, _, _ in latency]
    after = [a for _, a, _ in latency]
    read = [r for _, _, r in latency]
    p50, p99 = percentile(total, 50), percentile(total, 99)
    rows = [
        [name, *(fmt(f(v) * 1e3, 0) for f in (_p50, _p99, _max))]
        for name, v in (
            ("change -> consumer", total),
            ("of which event built -> consumer", after),
            ("of which appended -> consumer", read),
        )
    ]
    outcome.tables.append(
        Table(
            f"latency of {len(total)} changes, {plan.accounts} accounts ({plan.bitget} Bitget) "
            f"on {plan.workers} "
            f"workers, interval {plan.interval:g} s (target p99: {target * 1e3:,.0f} ms)",
            ["path", "p50 ms", "p99 ms", "max ms"],
            rows,
        )
    )
    outcome.tables.append(
        Table(
            f"takeover after SIGKILL (lease_ttl {plan.lease_ttl:g} s)",
            ["accounts moved", "median s", "max s"],
            [
                [
                    str(len(takeover)),
                    fmt(median(takeover), 2),
                    fmt(max(takeover, default=float("nan")), 2),
                ]
            ],
        )
    )
    outcome.notes.append(
        f"the simulator received {stats['requests_per_s']:,.0f} requests/s during the changes "
        f"(Bitget {plan.bitget} accounts x 3-5, CoinW {plan.accounts - plan.bitget} x 4 "
        f"requests per snapshot, every {plan.interval:g} s at most): fewer means the machine, "
        "not the interval, set the pace, and the latency with it; load "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs at the end"
    )
    outcome.data.update(
        requests_per_s=stats["requests_per_s"],
        latency_p50_s=p50,
        latency_p99_s=p99,
        event_to_consumer_p99_s=_p99(after),
        appended_to_consumer_p99_s=_p99(read),
        refused=stats["refused"],
        latency_target_s=target,
        takeover_s=takeover,
        limit_violations=stats["limit_violations"],
        events=len(seen),
    )
    if stats["limit_violations"]:
        outcome.problems.append(
            f"{stats['limit_violations']} requests over a limit at the simulator"
        )
    outcome.problems.extend(problems(seen))


def run(quick: bool) -> Outcome:
    """The benchmark's entry point for ``python -m benchmarks``."""
    outcome = Outcome(NAME, "a fleet of worker processes on Redis: stream, latency, takeover")
    if shutil.which("redis-server") is None:
        outcome.skipped["fleet"] = "redis-server is not installed"
        return outcome
    asyncio.run(_run(quick, outcome))
    return outcome


if __name__ == "__main__":
    from .__main__ import standalone

    sys.exit(standalone(NAME))
