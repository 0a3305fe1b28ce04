"""One worker process of ``exchange-async demo --processes N``: a fleet worker (`ea.Fleet`) over
every account, polling those whose lease it holds, limits shared through Redis, reporting to
the parent over its pipes.

Run as ``python -m exchange_async.cli.demo.worker``. Protocol (one JSON object per line):
the parent writes the :class:`WorkerSpec` on stdin, then ``"freeze"`` (the data stopped
changing: start the settling phase) and ``"stop"`` (close and report; end of stdin too). The
worker writes a status object every :data:`STATUS_EVERY` seconds and, after ``"stop"``, a
final one with ``"final": true``, each account's books and statuses, then exits.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, cast

from ... import AccountState, AccountStatus, Fleet, RedisLimiter
from ..._core.transport.lean import LeanTransport
from .frame import sort_rows
from .run import _peak_rss_mib, _poller
from .sends import SendLog
from .tracker import Tracker, _row

if TYPE_CHECKING:
    from .._sim import FleetAccount, Simulator

__all__ = ["STATUS_EVERY", "WorkerSpec", "main", "spec_for"]

STATUS_EVERY = 0.25
"""Seconds between status lines."""
ROWS = 30
"""Account rows per status line (problems first): enough for the live view's table."""
REDIS_CALL_TIMEOUT = 1.0
"""Seconds one Redis call may take before a worker falls back to its share. Longer than the
limiter's default (0.25 s): a worker polling hundreds of accounts on a busy machine can lag
that long, and each fallback costs a second of throughput."""
REDIS_CONNECTIONS = 4096
"""Most connections a worker opens to Redis."""
CLOSE_GRACE = 10.0
"""Seconds the poller may take to close before the worker reports and exits anyway."""
NOT_CLOSED = (
    "exchange-async demo: a worker's poller did not close within "
    f"{CLOSE_GRACE:g} s; its report was sent and it exits anyway"
)


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What one worker watches and where."""

    base_url: str
    redis_url: str
    accounts: list[dict[str, Any]]
    """`FleetAccount` fields, one dict per account."""
    bad_key: bool
    """Also watch the CoinW account with a wrong secret (``--faults``)."""
    send_log: str
    """The file to write when each request was sent (`SendLog.write`), before the final
    report."""
    fleet_name: str = "demo"
    """The fleet every worker of this run joins (`ea.Fleet`'s ``name``)."""
    worker_id: str = "worker-1"


def spec_for(
    fleet: list[FleetAccount],
    base_url: str,
    redis_url: str,
    *,
    bad_key: bool,
    send_log: str,
    fleet_name: str = "demo",
    worker_id: str = "worker-1",
) -> WorkerSpec:
    """The spec of a worker watching ``fleet`` as ``worker_id`` of fleet ``fleet_name``."""
    fields = [_account_fields(a) for a in fleet]
    return WorkerSpec(base_url, redis_url, fields, bad_key, send_log, fleet_name, worker_id)


def _account_fields(account: FleetAccount) -> dict[str, Any]:
    names = ("name", "exchange", "api_key", "secret_key", "passphrase", "uid")
    return {name: getattr(account, name) for name in names}


def _held(tracker: Tracker) -> list[AccountStatus]:
    """The accounts this worker polls right now (the fleet gave the others to other workers)."""
    return [s for s in tracker.poller.accounts.values() if s.state is not AccountState.IDLE]


def status(tracker: Tracker) -> dict[str, Any]:
    """The numbers the parent adds up for its frame (of the accounts this worker holds)."""
    statuses = _held(tracker)
    return {
        "phase": tracker.phase,
        "requests": tracker.requests(),
        "retries": tracker.retries(),
        "events": dict(tracker.poller.event_counts),
        "orders": dict(tracker.orders),
        "states": _count(s.state.value for s in statuses),
        "unsynced": sum(1 for s in statuses if not s.snapshots and s.state != "stopped"),
        "waiting": len(tracker.waiting()) if tracker.phase == "settling" else 0,
        "recent": list(tracker.recent)[-10:],
        "rows": _rows(tracker),
    }


def _rows(tracker: Tracker) -> list[dict[str, Any]]:
    rows = sort_rows([_row(s) for s in _held(tracker)])[:ROWS]
    return [asdict(row) for row in rows]


def _count(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def final(tracker: Tracker) -> dict[str, Any]:
    """The last report: status plus what the parent's check and summary need."""
    statuses = {s.name: s for s in _held(tracker)}
    return status(tracker) | {
        "final": True,
        "books": {name: sorted(book) for name, book in tracker.books.items()},
        "statuses": {
            name: {"state": s.state.value, "snapshots": s.snapshots, "error": s.last_error}
            for name, s in statuses.items()
        },
        "targets": tracker.targets,
        "contradictions": tracker.contradictions,
        "peak_rss_mib": _peak_rss_mib(),
    }


def _send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def _commands(tracker: Tracker) -> None:
    """Follow the parent's commands until ``stop`` or the end of stdin."""
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        command = line.strip()
        if command == "freeze":
            tracker.freeze()
        elif command == "stop" or not line:
            return


async def _report_status(tracker: Tracker) -> None:
    while True:
        _send(status(tracker))
        await asyncio.sleep(STATUS_EVERY)


def _limiter(redis_url: str) -> tuple[RedisLimiter, Any]:
    """The worker's shared limiter: its own Redis client with a pool as large as the
    concurrent acquisitions of hundreds of accounts (the limiter's own pool of 64, waited
    for inside the call timeout, made calls time out and fall back under load)."""
    import redis.asyncio as aioredis

    pool = aioredis.ConnectionPool.from_url(redis_url, max_connections=REDIS_CONNECTIONS)
    client = aioredis.Redis(connection_pool=pool)
    return RedisLimiter(client=client, call_timeout=REDIS_CALL_TIMEOUT), client


async def run_worker(spec: WorkerSpec) -> bool:
    """Poll the spec's accounts until the parent says stop, then send the final report.
    False when the poller did not close within :data:`CLOSE_GRACE` (the report went anyway)."""
    module = __import__("exchange_async_sim")
    fleet = [module.FleetAccount(**fields) for fields in spec.accounts]
    limiter, client = _limiter(spec.redis_url)
    sends = SendLog(LeanTransport())
    member = Fleet(spec.redis_url, name=spec.fleet_name, worker_id=spec.worker_id)
    poller = _poller(
        fleet, spec.base_url, bad_key=spec.bad_key, rate_limits=limiter, sends=sends, member=member
    )
    # The tracker's simulator-side parts (frame, check) run in the parent, not here.
    tracker = Tracker(cast("Simulator", None), poller, fleet, duration=0.0, settle_limit=0.0)
    gc.freeze()
    await poller.start()
    consumer = asyncio.create_task(tracker.consume())
    reporter = asyncio.create_task(_report_status(tracker))
    tracker.start()
    try:
        await _commands(tracker)
    finally:
        reporter.cancel()
        await asyncio.gather(reporter, return_exceptions=True)
        closing = asyncio.create_task(poller.aclose())
        done, _ = await asyncio.wait([closing, consumer], timeout=CLOSE_GRACE)
        sends.write(spec.send_log, fleet)
        _send(final(tracker))
    if len(done) < 2:
        print(NOT_CLOSED, file=sys.stderr, flush=True)
        return False
    await sends.aclose()
    await limiter.aclose()
    await client.aclose(close_connection_pool=True)
    return True


def main() -> None:
    """Entry point: read the spec from the first line of stdin and run."""
    fields = json.loads(sys.stdin.readline())
    loop = asyncio.new_event_loop()
    if not loop.run_until_complete(run_worker(WorkerSpec(**fields))):
        os._exit(0)  # tasks that will not finish: do not wait for them at shutdown
    loop.close()


if __name__ == "__main__":
    main()
