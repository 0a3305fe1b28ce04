"""``python -m benchmarks.redis_acquire [--quick]``: the cost of one rate-limit acquisition,
in-process against Redis (a local ``redis-server`` this script starts), side by side.

One acquisition at a time (``acquire`` then ``sent``), each on a budget of its own account so
no wait is ever due: what is measured is the limiter's own work and, for Redis, the round trip
(redis-py's client work included). Three plans: one account budget; Bitget's request (two
account budgets and the per-IP one, one script call on one server). Rounds are interleaved;
medians over rounds of each round's median and p99 latency and of CPU per acquisition.
Needs ``redis-server`` on the PATH and the ``redis`` extra. Not part of ``python -m benchmarks``
(it needs a Redis); the numbers feed docs/running-many-processes.md's cost table.

It reaches SDK internals (the limiter seam: `Budget`, ``acquire``), as `_sdk.py` does for
decoding: a limiter has no public "acquire" call.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Any

from ._common import fmt, median, percentile

NAME = "redis_acquire"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _plans() -> dict[str, Any]:
    from exchange_async._core.limits import Budget, RateLimit, Scope

    roomy = RateLimit("/bench", 1_000_000, 1.0, Scope.ENDPOINT)
    ip = RateLimit("ip", 100_000_000, 60.0, Scope.IP)

    def one(i: int) -> list[Budget]:
        return [Budget("http://bench", roomy, f"key:{i}", 0.05)]

    def bitget(i: int) -> list[Budget]:
        return [
            Budget("http://bench", roomy, f"key:{i}", 0.05),
            Budget("http://bench", roomy, f"uid:{i}", 0.05),
            Budget("http://bench", ip, "ip", 0.05),
        ]

    return {"one budget": one, "Bitget (3 budgets)": bitget}


async def _round(limiter: Any, make: Any, n: int) -> tuple[float, float, float]:
    group = limiter.wait_group()
    plans = [make(i % 50) for i in range(n)]
    latencies = []
    cpu0 = time.process_time()
    for budgets in plans:
        t0 = time.perf_counter()
        permit = await limiter.acquire(budgets, max_wait=None, group=group)
        latencies.append(time.perf_counter() - t0)
        permit.sent()
    cpu = (time.process_time() - cpu0) / n
    return median(latencies) * 1e6, percentile(latencies, 99) * 1e6, cpu * 1e6


async def _measure(url: str, rounds: int, n: int) -> dict[str, dict[str, list[float]]]:
    from exchange_async._core.limits.memory import MemoryLimiter
    from exchange_async._core.limits.redis import RedisLimiter

    redis = RedisLimiter(url)
    results: dict[str, dict[str, list[float]]] = {}
    try:
        for name, make in _plans().items():
            await _round(redis, make, 200)  # open the connections, load the script
            for r in range(rounds):
                order = [("in-process", MemoryLimiter()), ("Redis", redis)]
                for label, limiter in order if r % 2 == 0 else order[::-1]:
                    row = results.setdefault(f"{label}, {name}", {"p50": [], "p99": [], "cpu": []})
                    p50, p99, cpu = await _round(limiter, make, n)
                    row["p50"].append(p50)
                    row["p99"].append(p99)
                    row["cpu"].append(cpu)
    finally:
        await redis.aclose()
    return results


def main() -> None:
    """Start a redis-server, measure, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.redis_acquire")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 500 (default 7 of 2000)")
    args = parser.parse_args()
    rounds, n = (3, 500) if args.quick else (7, 2000)
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is not on the PATH (apt-get install redis-server)")
    port = _free_port()
    with tempfile.TemporaryDirectory() as directory:
        server = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", directory],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.02)
            results = asyncio.run(_measure(f"redis://127.0.0.1:{port}/0", rounds, n))
        finally:
            server.terminate()
            server.wait()
    print(f"{rounds} rounds of {n} acquisitions; medians over rounds (µs)")
    print(f"{'limiter, plan':34} {'latency p50':>12} {'latency p99':>12} {'CPU':>8}")
    for label, row in results.items():
        cells = (fmt(median(row[k])) for k in ("p50", "p99", "cpu"))
        print(f"{label:34} " + " ".join(f"{c:>12}" for c in cells))


if __name__ == "__main__":
    main()
