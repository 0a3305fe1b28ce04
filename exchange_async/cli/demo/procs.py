"""``exchange-async demo --processes N``: N worker processes run as a fleet (`ea.Fleet`): each
is given every account and polls those it holds a lease on; they share the rate limits through
Redis; one simulator (in this process) for all of them.

This process runs the simulator, the phases (running, settling, the check), the view and
the summary; each worker (`worker`) reports over its pipes, and this process reads the fleet's
event stream as a consumer would (`procs_fleet.StreamCheck`): the event check is made on it,
de-duplicated by ``event_id``. ``--kill-one-after`` kills a worker mid-run (SIGKILL) and
times the takeover. Without ``--redis`` a local ``redis-server`` is started for the run
(`local_redis`). The summary adds up every process; limit violations are the simulator's own
count, so they cover every worker together (Bitget's per-IP limit is shared by all of them).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from ... import Fleet
from .. import _sim
from .advice import _failures
from .frame import counted
from .local_redis import LocalRedis, shown_url
from .procs_fleet import StreamCheck, Takeover
from .procs_state import FleetState
from .report import DemoReport, names
from .run import (
    BAD_KEY,
    DemoOptions,
    View,
    _demo_config,
    _opening,
    _peak_rss_mib,
    _sigint_sets,
    _wait,
    make_view,
)
from .sends import read_sends
from .worker import WorkerSpec, spec_for

if TYPE_CHECKING:
    from .._sim import FleetAccount, SimulatorConfig

__all__ = ["Workers", "run_demo_processes", "split"]

READ_AFTER = 0.5
"""Seconds the stream consumer reads on after the settling phase (the last commits)."""
LINE_LIMIT = 1 << 26
"""Bytes a worker's line may take (its final report holds every order key it watched)."""


def split(fleet: list[FleetAccount], parts: int) -> list[list[FleetAccount]]:
    """``fleet`` dealt into ``parts``: each exchange's accounts round-robin, so every part
    gets its share of both (the fleet alternates exchanges: dealing it as one list would give
    all Bitget accounts to the even parts)."""
    bitget = [a for a in fleet if a.exchange == "bitget"]
    coinw = [a for a in fleet if a.exchange != "bitget"]
    dealt: list[list[FleetAccount]] = [[] for _ in range(parts)]
    for i, account in enumerate(bitget + coinw):
        dealt[i % parts].append(account)
    return dealt


class Workers:
    """The worker processes: started with their specs, fed commands, read into ``state``."""

    def __init__(self, specs: list[WorkerSpec], state: FleetState) -> None:
        self.specs = specs
        self.state = state
        self.processes: list[asyncio.subprocess.Process] = []
        self.failures: list[str] = []
        """One sentence per worker that ended without its final report."""
        self.killed: set[int] = set()
        """Workers killed on purpose (``--kill-one-after``): no report expected."""
        self._readers: list[asyncio.Task[None]] = []
        self._started = [asyncio.Event() for _ in specs]

    async def start(self) -> None:
        """Start every worker and hand it its spec."""
        for index, spec in enumerate(self.specs):
            process = await asyncio.create_subprocess_exec(
                *(sys.executable, "-m", "exchange_async.cli.demo.worker"),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                start_new_session=True,  # Ctrl-C goes to this process; it tells the workers
                limit=LINE_LIMIT,
            )
            self.processes.append(process)
            assert process.stdin is not None
            process.stdin.write(json.dumps(asdict(spec)).encode() + b"\n")
            self._readers.append(asyncio.create_task(self._read(index, process)))

    async def ready(self) -> None:
        """Until every worker has sent its first status (it is polling)."""
        await asyncio.gather(*(event.wait() for event in self._started))

    async def _read(self, index: int, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        final = False
        try:
            async for line in process.stdout:
                try:
                    message: dict[str, Any] = json.loads(line)
                except ValueError:  # not ours (something printed to stdout): skip it
                    continue
                self.state.latest[index] = message
                self._started[index].set()
                final = final or bool(message.get("final"))
        finally:
            self._started[index].set()  # a dead worker must not hold the start back
            if not final and index not in self.killed:
                code = await process.wait()
                self.failures.append(f"worker {index + 1} exited without its report ({code})")

    def kill(self, index: int) -> None:
        """SIGKILL worker ``index``: no goodbye, its leases lapse by themselves."""
        self.killed.add(index)
        self.state.gone.add(index)
        self.processes[index].kill()

    async def send(self, command: str) -> None:
        """Write ``command`` to every live worker."""
        for process in self.processes:
            if process.stdin is not None and process.returncode is None:
                process.stdin.write(command.encode() + b"\n")
                try:
                    await process.stdin.drain()
                except (BrokenPipeError, ConnectionResetError):
                    continue

    async def stop(self, grace: float = 30.0) -> None:
        """Tell every worker to stop, read their final reports (``grace`` seconds at most),
        then kill any that hang."""
        await self.send("stop")
        pending: set[asyncio.Task[None]] = set()
        if self._readers:
            _, pending = await asyncio.wait(self._readers, timeout=grace)
        for process in self.processes:
            if process.returncode is None and pending:
                process.kill()
            await process.wait()
        await asyncio.gather(*pending, return_exceptions=True)


async def run_demo_processes(
    options: DemoOptions,
    config: SimulatorConfig | None,
    *,
    processes: int,
    redis_url: str | None = None,
    kill_one_after: float | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> DemoReport:
    """Run the demo over a fleet of ``processes`` workers on ``redis_url`` (None: a local
    ``redis-server`` started for the run), killing one after ``kill_one_after`` seconds if
    given, and return the added-up report."""
    module = _sim.load_simulator()
    fleet_size = options.accounts - 1 if options.faults else options.accounts
    sim, fleet = module.Simulator.with_demo_fleet(fleet_size, _demo_config(config, options.faults))
    view, note = make_view(options, out, err)
    if note:
        print(f"exchange-async demo: {note}", file=err, flush=True)
    sim.referee.keep = True  # the summary pairs its arrivals with the workers' sends
    with ExitStack() as stack:
        url = redis_url or stack.enter_context(LocalRedis())
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="exchange-async-")))
        async with module.SimulatorServer(sim) as server:
            name = f"demo-{uuid.uuid4().hex[:8]}"  # a given Redis may hold earlier runs
            specs = [
                spec_for(
                    fleet,
                    server.base_url,
                    url,
                    bad_key=options.faults,
                    send_log=str(logs / f"sends-{i}.jsonl"),
                    fleet_name=name,
                    worker_id=f"worker-{i + 1}",
                )
                for i in range(processes)
            ]
            state = FleetState(
                sim, fleet, processes, duration=options.duration, settle_limit=options.settle
            )
            opening = _opening(fleet, options, server.base_url) + (
                f" {processes} processes share the rate limits through Redis at {shown_url(url)}."
                " They run as a fleet: each leases its share of the accounts"
                + (f"; one is killed after {kill_one_after:g} s." if kill_one_after else ".")
            )
            workers = Workers(specs, state)
            fleet_run = FleetRun(url, name, kill_one_after)
            try:
                await workers.start()
                report = await _watch(state, workers, view, opening, fleet_run)
            finally:
                await workers.stop()
    return report


class FleetRun:
    """The fleet's side of a run: the stream consumer and the worker killed mid-run."""

    def __init__(self, redis_url: str, name: str, kill_after: float | None) -> None:
        self.fleet = Fleet(redis_url, name=name)
        self.stream = StreamCheck(redis_url, name)
        self.kill_after = kill_after
        self.takeover = Takeover() if kill_after else None

    async def kill(self, state: FleetState, workers: Workers) -> None:
        """Kill the busiest worker after ``kill_after`` seconds, then time the takeover."""
        assert self.takeover is not None
        assert self.kill_after is not None
        await asyncio.sleep(self.kill_after)
        victim = await self.takeover.choose(self.fleet)
        if victim is None:
            return
        workers.kill(int(victim.rpartition("-")[2]) - 1)
        self.takeover.killed_at = time.monotonic()
        self.takeover.after = self.takeover.killed_at - state.started
        await self.takeover.watch(state.sim, state.fleet, self.fleet.lease_ttl)

    def summary(self) -> dict[str, object]:
        """The ``fleet`` part of the report."""
        takeover = self.takeover.summary() if self.takeover is not None else {}
        return {**self.stream.summary(), **takeover}


async def _watch(
    state: FleetState, workers: Workers, view: View, opening: str, fleet: FleetRun
) -> DemoReport:
    """Run the phases with the view drawing; stop the workers and the view whatever happens."""
    stop = asyncio.Event()
    view.start(opening)
    interrupted = True
    tasks: list[asyncio.Task[None]] = []
    try:
        with _sigint_sets(stop):
            tasks.append(asyncio.create_task(fleet.stream.run()))
            await workers.ready()
            state.start()
            tasks.append(asyncio.create_task(_tick(state, view)))
            if fleet.takeover is not None:
                tasks.append(asyncio.create_task(fleet.kill(state, workers)))
            interrupted = await _phases(state, workers, stop)
            await asyncio.sleep(READ_AFTER)  # the stream's last events reach the consumer
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        ended = time.monotonic()  # the clock stops here; the counts include the last replies
        await workers.stop()
        final = state.finish(interrupted=interrupted, at=ended)
        report = _report(state, workers, interrupted, fleet)
        view.stop(final)
    return report


async def _tick(state: FleetState, view: View, every: float = 0.25) -> None:
    while True:
        state.sample()
        view.update(state.frame())
        await asyncio.sleep(every)


async def _phases(state: FleetState, workers: Workers, stop: asyncio.Event) -> bool:
    """Run, then settle (as in one process); True when Ctrl-C cut it short."""
    if await _wait(stop, state.duration):
        return True
    await state.sim.stop_mutations()
    state.sim.config.fault_rate = 0.0
    await workers.send("freeze")
    state.freeze()
    deadline = time.monotonic() + state.settle_limit
    while state.waiting():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        if await _wait(stop, min(0.1, remaining)):
            return True
    return False


def _report(state: FleetState, workers: Workers, interrupted: bool, fleet: FleetRun) -> DemoReport:
    """The summary: every worker's final report added up, checked against the simulator."""
    frame = state.frame(rows=len(state.fleet) + 1)
    statuses = state.statuses()
    stopped = {n: s["error"] or "stopped" for n, s in statuses.items() if s["state"] == "stopped"}
    never = [
        a.name
        for a in state.fleet
        if a.name not in statuses
        or (not statuses[a.name]["snapshots"] and statuses[a.name]["state"] != "stopped")
    ]
    bitget = sum(1 for a in state.fleet if a.exchange == "bitget")
    sends = read_sends(spec.send_log for spec in workers.specs)
    report = DemoReport(
        frame=frame,
        bitget_accounts=bitget,
        coinw_accounts=len(state.fleet) - bitget,
        bad_key=BAD_KEY if BAD_KEY in statuses else None,
        events=state.events(),
        refused_for_rate=state.sim.violations(),
        mutations=len(state.sim.mutations),
        random_faults=state.sim.random_fault_counts(),
        peak_rss_mib=_peak_rss_mib() + state.peak_rss_mib(),
        stopped=stopped,
        check=None if interrupted else state.check(fleet.stream),
        never_synced=sorted(never),
        processes=len(workers.specs),
        pairing=state.sim.referee.pair(sends),
        fleet=fleet.summary(),
    )
    if not interrupted:
        report.warnings = workers.failures + _warnings(state, report)
    return report


def _warnings(state: FleetState, report: DemoReport) -> list[str]:
    """What kept the check from covering every account (a shorter form of `advice`'s)."""
    warnings: list[str] = []
    if report.never_synced:
        warnings.append(
            f"{counted(len(report.never_synced), 'account')} never completed a first snapshot, "
            f"so the event check could not cover them: {names(report.never_synced)}"
        )
    late = report.check.not_caught_up if report.check else []
    if late:
        warnings.append(
            f"{counted(len(late), 'account')} completed no snapshot of the frozen data within the "
            f"{state.settle_limit:g} s settling phase, so the event check skipped them: "
            f"{names(late)}."
        )
    stopped = {n: r for n, r in report.stopped.items() if n != report.bad_key}
    if stopped:
        warnings.append(
            f"{counted(len(stopped), 'account')} stopped and were not checked: "
            + "; ".join(f"{n} ({r})" for n, r in list(stopped.items())[:3])
        )
    return warnings + _failures(report)
