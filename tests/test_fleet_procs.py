"""A fleet of worker processes against the simulator and a real redis-server, with workers
killed (SIGKILL), paused (SIGSTOP / SIGCONT) and the whole fleet restarted, while the
simulator's orders change: every change reaches the consumer group exactly once after
de-duplication, no account is polled by two workers at once, and no limit is exceeded."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import pytest
from fleet_helpers import books, stream_events, truth_mismatches
from support.redis_server import RedisServer, redis_server

import exchange_async as ea
from exchange_async_sim import FleetAccount, Simulator, SimulatorConfig, SimulatorServer

__all__ = ["redis_server"]

WORKER = Path(__file__).resolve().parent / "fleet_worker.py"
ACCOUNTS = 24
TAKEOVER_LIMIT = 10.0
"""Seconds within which a killed worker's accounts are polled again (default lease_ttl)."""


class Fleet:
    """The worker processes of one test, and what they logged."""

    def __init__(self, redis_url: str, base_url: str, accounts: list[FleetAccount]) -> None:
        self.redis_url = redis_url
        self.base_url = base_url
        self.accounts = accounts
        self.directory = Path(tempfile.mkdtemp())
        self.processes: dict[str, asyncio.subprocess.Process] = {}

    async def start(self, worker: str) -> None:
        spec = {
            "redis_url": self.redis_url,
            "base_url": self.base_url,
            "worker_id": worker,
            "accounts": [asdict(a) for a in self.accounts],
            "log": str(self.directory / f"{worker}.log"),
        }
        path = self.directory / f"{worker}.json"
        path.write_text(json.dumps(spec))
        self.processes[worker] = await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), str(path), stdin=asyncio.subprocess.PIPE
        )

    def signal(self, worker: str, number: int) -> None:
        os.kill(self.processes[worker].pid, number)

    async def kill_all(self) -> None:
        for process in self.processes.values():
            if process.returncode is None:
                process.kill()
            await process.wait()

    def sends(self) -> list[tuple[float, str, str, int]]:
        """Every request any worker let out: (monotonic time, worker, account, epoch)."""
        rows = []
        for log in self.directory.glob("*.log"):
            for line in log.read_text().splitlines():
                with_worker = json.loads(line)
                rows.append((with_worker[0], log.stem, with_worker[1], with_worker[2]))
        return sorted(rows)


def overlapping(sends: list[tuple[float, str, str, int]]) -> list[str]:
    """Requests sent under an older lease after a newer lease's first request (the epochs of
    an account's requests, in time order, must never go down)."""
    newest: dict[str, tuple[int, str]] = {}
    bad = []
    for t, worker, account, epoch in sends:
        if account == "?":  # Bitget's server time: public, no account's
            continue
        last = newest.get(account)
        if epoch < 0 or (last is not None and epoch < last[0]):
            bad.append(f"{t:.3f} {worker} {account} epoch {epoch} after {last}")
        elif last is None or epoch > last[0]:
            newest[account] = (epoch, worker)
    return bad


async def all_owned(fleet: ea.Fleet, names: set[str], workers: set[str]) -> bool:
    owners = await fleet.owners()
    return set(owners) == names and set(owners.values()) <= workers


async def until_owned(fleet: ea.Fleet, names: set[str], workers: set[str], limit: float) -> None:
    deadline = time.monotonic() + limit
    while not await all_owned(fleet, names, workers):
        assert time.monotonic() < deadline, f"not every account owned by {workers} in {limit} s"
        await asyncio.sleep(0.2)


async def drain(url: str) -> list[ea.Event]:
    """Everything the consumer group gets until the stream is quiet for a second, acked."""
    got: list[ea.Event] = []
    async with ea.FleetEvents(url, name="desk", group="check", consumer="c", block=1.0) as events:
        last = time.monotonic()
        iterator = aiter(events)
        while time.monotonic() - last < 1.0:
            try:
                event = await asyncio.wait_for(anext(iterator), 1.0)
            except TimeoutError:
                break
            got.append(event)
            await events.ack(event)
            last = time.monotonic()
    return got


@pytest.mark.slow
async def test_killed_paused_and_restarted_workers_lose_no_change_and_never_overlap(
    redis_server: RedisServer,
) -> None:
    config = SimulatorConfig(seed=21, mutation_share=0.25)
    sim, accounts = Simulator.with_demo_fleet(ACCOUNTS, config)
    names = {a.name for a in accounts}
    observer = ea.Fleet(redis_server.url, name="desk")
    async with SimulatorServer(sim) as server:
        fleet = Fleet(redis_server.url, server.base_url, accounts)
        try:
            for worker in ("w1", "w2", "w3"):
                await fleet.start(worker)
            await until_owned(observer, names, {"w1", "w2", "w3"}, 30)
            sim.start_mutations(0.3)
            await asyncio.sleep(2)

            # SIGKILL: w1's accounts are polled again by the others within 10 s.
            lost = {n for n, w in (await observer.owners()).items() if w == "w1"}
            killed_at = time.monotonic()
            fleet.signal("w1", signal.SIGKILL)
            back: dict[str, float] = {}
            while set(back) != lost and time.monotonic() < killed_at + TAKEOVER_LIMIT + 5:
                await asyncio.sleep(0.5)
                for t, worker, account, _ in fleet.sends():
                    if account in lost and t > killed_at and worker != "w1":
                        back.setdefault(account, t - killed_at)
            assert set(back) == lost
            assert max(back.values()) <= TAKEOVER_LIMIT, back

            # SIGSTOP past the lease: w2's accounts go to w3; resumed, w2 neither polls nor
            # writes under its old leases (checked with every request and event below).
            fleet.signal("w2", signal.SIGSTOP)
            await until_owned(observer, names, {"w3"}, TAKEOVER_LIMIT + 5)
            fleet.signal("w2", signal.SIGCONT)
            await asyncio.sleep(4)

            # The whole fleet killed, orders changed meanwhile, a new fleet resumes.
            await fleet.kill_all()
            sim.mutate_round()
            for worker in ("w4", "w5"):
                await fleet.start(worker)
            await until_owned(observer, names, {"w4", "w5"}, 30)
            await asyncio.sleep(1.5)
            await sim.stop_mutations()
            await asyncio.sleep(3.0)  # every account polled again after the last change
            events = await drain(redis_server.url)
        finally:
            await fleet.kill_all()
    assert events == await stream_events(redis_server.url, "desk")  # the group got them all
    state, problems = books(events)
    assert not problems, problems[:10]
    assert not truth_mismatches(sim, accounts, state)
    assert not overlapping(fleet.sends())
    for account in names:  # an account's events are committed under non-decreasing epochs
        epochs = [int(e.event_id.split(":")[-2]) for e in events if e.account == account]
        assert epochs == sorted(epochs), account
    assert sim.limit_violations() == 0
    assert sim.violations() == {"bitget": 0, "coinw": 0}
