"""Four OS processes share one Bitget-like and one CoinW-like account through Redis, against an
HTTP server in its own process that counts what arrives: never more than the limit in any
one-second window, at >= 90 % of the allowance; also with Redis killed and restarted mid-run,
and with one process's clocks 300 ms ahead."""

from __future__ import annotations

import bisect
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.redis_server import RedisServer, redis_server

from exchange_async._core.limits.redis.keys import GATHER
from exchange_async._core.limits.redis.outage import PROBE_MAX

__all__ = ["redis_server"]

ROOT = Path(__file__).resolve().parent.parent
LOAD = ROOT / "tests" / "support" / "limiter_load.py"  # run as a script in each worker process
LIMITS = {"bitget": 5, "coinw": 10}
PROCESSES = 4


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """Most arrivals inside any half-open window [t, t + window)."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + window) - i for i, t in enumerate(times)), default=0)


@pytest.fixture
def arrivals_server() -> Iterator[str]:
    """The recording server, in its own process; yields its base URL."""
    with tempfile.TemporaryDirectory() as directory:
        port_file = Path(directory) / "port"
        process = subprocess.Popen([sys.executable, str(LOAD), "serve", str(port_file)], cwd=ROOT)
        try:
            deadline = time.monotonic() + 20
            while not port_file.exists() or not port_file.read_text():
                assert time.monotonic() < deadline, "the arrivals server did not start"
                time.sleep(0.05)
            yield f"http://127.0.0.1:{port_file.read_text()}"
        finally:
            process.kill()
            process.wait(10)


def start_workers(redis_url: str, base_url: str, seconds: float, skews: list[float]) -> Any:
    directory = tempfile.mkdtemp()
    start_at = time.time() + 3.0  # every worker imported and connected by then
    outs = [Path(directory) / f"worker-{i}.json" for i in range(len(skews))]
    processes = [
        subprocess.Popen(
            [
                *(sys.executable, str(LOAD), "work", redis_url, base_url),
                *(str(start_at), str(seconds), str(skew), str(out)),
            ],
            cwd=ROOT,
        )
        for skew, out in zip(skews, outs, strict=True)
    ]
    return processes, outs, start_at


def finish(processes: list[subprocess.Popen[bytes]], outs: list[Path]) -> list[dict[str, Any]]:
    for process in processes:
        assert process.wait(60) == 0
    return [json.loads(out.read_text()) for out in outs]


def server_arrivals(base_url: str) -> dict[str, list[float]]:
    with urllib.request.urlopen(f"{base_url}/arrivals", timeout=10) as reply:
        data: dict[str, list[float]] = json.loads(reply.read())
    return data


def check_limits(arrivals: dict[str, list[float]], min_utilization: float) -> dict[str, Any]:
    report = {}
    for name, limit in LIMITS.items():
        times = sorted(arrivals[name])
        busiest = max_in_window(times)
        utilization = (len(times) - 1) / ((times[-1] - times[0]) * limit)
        report[name] = (busiest, round(utilization, 3))
        print(f"{name}: at most {busiest} in any 1 s window, utilization {utilization:.1%}")
        assert busiest <= limit, (name, busiest)
        assert utilization >= min_utilization, (name, utilization)
    return report


def run(redis_url: str, base_url: str, seconds: float, skews: list[float]) -> Any:
    processes, outs, _ = start_workers(redis_url, base_url, seconds, skews)
    results = finish(processes, outs)
    return results, server_arrivals(base_url)


@pytest.mark.slow
def test_four_processes_keep_every_limit_together(
    redis_server: RedisServer, arrivals_server: str
) -> None:
    results, arrivals = run(redis_server.url, arrivals_server, 4.0, [0.0] * PROCESSES)
    assert all(not r["errors"] and not r["fell_back"] for r in results), results
    check_limits(arrivals, 0.90)
    # Every process got its turn (first come, first served across processes).
    assert all(r["sent"]["bitget"] >= 2 and r["sent"]["coinw"] >= 4 for r in results), results


@pytest.mark.slow
def test_a_process_with_its_clock_300ms_ahead_changes_nothing(
    redis_server: RedisServer, arrivals_server: str
) -> None:
    results, arrivals = run(redis_server.url, arrivals_server, 4.0, [0.0, 0.0, 0.0, 0.3])
    assert all(not r["errors"] for r in results), results
    check_limits(arrivals, 0.90)


def windows_over(times: list[float], limit: int, window: float = 1.0) -> int:
    """Arrivals that end a window [t - window, t] holding more than ``limit``."""
    times = sorted(times)
    return sum(1 for i, t in enumerate(times) if i - bisect.bisect_left(times, t - window) >= limit)


@pytest.mark.slow
@pytest.mark.parametrize("run", range(5))
def test_redis_killed_and_restarted_empty_mid_run_keeps_every_limit(
    redis_server: RedisServer, arrivals_server: str, run: int
) -> None:
    # Redis dies 2 s in and comes back 2.5 s later with nothing: each process finds its epoch
    # gone, the budgets are held while every process carries its own sends back, and no
    # window at the server goes over. Outside the outage (and the hold after it) the
    # processes use >= 90 % of each limit.
    seconds = 9.0  # counted from each worker's start
    processes, outs, start_at = start_workers(
        redis_server.url, arrivals_server, seconds, [0.0] * PROCESSES
    )
    time.sleep(max(0.0, start_at - time.time()))
    while not all(server_arrivals(arrivals_server).values()):  # a loaded machine starts late
        assert time.time() < start_at + 30, "the workers did not start"
        time.sleep(0.05)
    time.sleep(2.0)
    killed = time.monotonic()
    redis_server.stop()
    time.sleep(2.5)
    redis_server.start()
    restarted = time.monotonic()
    results = finish(processes, outs)
    arrivals = server_arrivals(arrivals_server)
    outage = (killed, restarted + GATHER + PROBE_MAX)  # a probe's delay, then the hold
    for name, limit in LIMITS.items():
        times = sorted(arrivals[name])
        assert windows_over(times, limit) == 0, (name, max_in_window(times))
        outside = [t for t in times if not outage[0] <= t < outage[1]]
        span = times[-1] - times[0] - (outage[1] - outage[0])
        utilization = (len(outside) - 1) / (span * limit)
        print(f"{name}: {max_in_window(times)} at most in 1 s; {utilization:.1%} outside outage")
        assert utilization >= 0.90, (name, utilization)
    assert all(not r["errors"] for r in results), [r["errors"] for r in results]
    assert all(r["fell_back"] and r["on_redis"] for r in results), results
    assert sum(r["carried"] for r in results) >= 1  # the loss was found and carried back
