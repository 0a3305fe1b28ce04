"""How many CoinW accounts one client process keeps at full allowance.

For each fleet size the simulator runs in its own process (``benchmarks._simserver``) and the
client in another (``python -m benchmarks.scale --client ...``): one `ea.CoinWClient` per
account, each calling ``get_order_info("execute")`` as fast as the SDK's limiter allows
(CoinW: 10 req/s per user on this endpoint, the SDK keeps 5 % under). Measured in the client:
achieved vs allowed req/s, CPU per request, p99 event-loop lag (a 10 ms ticker's overshoot),
memory per account (RSS growth over opening the clients and one call each); at the server:
violations as the simulator counts them (must be 0) and its CPU share. With and without uvloop,
on the SDK's default (lean) transport and on aiohttp's.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import time
from typing import Any

import exchange_async as ea

from ._common import ROOT, Outcome, Table, fmt, percentile, run_async
from ._proc import server_process
from ._sdk import sdk_transport
from ._simserver import scale_credentials
from ._spacing import spacing

NAME = "scale"
PER_ACCOUNT = 10
"""CoinW's documented limit for this endpoint, requests per second per user."""


class SendRecorder:
    """The client's own transport, noting ``time.monotonic()`` when each request's headers are
    written (the moment the SDK's limiter dates the send). The clock is the simulator's too
    (one machine), so the client's send times and the server's arrival times line up."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.times: list[float] = []

    async def send(self, request: ea.TransportRequest, on_sent: Any) -> ea.TransportResponse:
        """Send through the inner transport, recording the send time."""
        times = self.times
        first = len(times)

        def sent() -> None:  # called again after the reply (a no-op for the SDK): once here
            if len(times) == first:
                times.append(time.monotonic())
            on_sent()

        response: ea.TransportResponse = await self.inner.send(request, sent)
        return response

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()


def rss_bytes() -> int:
    """This process's resident set size."""
    with open(f"/proc/{os.getpid()}/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def client_run(
    accounts: int, port: int, seconds: float, warmup: float, transport: str = "lean"
) -> dict[str, Any]:
    """The client side of one fleet size (runs in its own process), on SDK ``transport``."""
    base_url = f"http://127.0.0.1:{port}"
    gc.collect()
    rss0 = rss_bytes()
    recorders = [SendRecorder(sdk_transport(transport)) for _ in range(accounts)]
    clients = [
        ea.CoinWClient(
            ea.CoinWCredentials(*scale_credentials(i)), base_url=base_url, transport=recorders[i]
        )
        for i in range(accounts)
    ]
    await asyncio.gather(*(c.get_order_info("execute") for c in clients))
    gc.collect()
    per_account = (rss_bytes() - rss0) / accounts
    counts = {"done": 0, "errors": 0}
    lags: list[float] = []
    measuring = False

    async def worker(client: ea.CoinWClient) -> None:
        while True:
            try:
                await client.get_order_info("execute")
                counts["done"] += 1
            except ea.ExchangeError:
                counts["errors"] += 1

    async def ticker() -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            if measuring:
                lags.append(loop.time() - before - 0.01)

    tasks = [asyncio.create_task(worker(c)) for c in clients]
    tasks.append(asyncio.create_task(ticker()))
    await asyncio.sleep(warmup)
    measuring = True
    done0, cpu0, wall0 = counts["done"], time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    done1, cpu1, wall1 = counts["done"], time.process_time(), time.perf_counter()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(c.close() for c in clients))
    await asyncio.gather(*(r.aclose() for r in recorders))
    requests = done1 - done0
    return {
        "req_per_s": requests / (wall1 - wall0),
        "cpu_us_per_request": (cpu1 - cpu0) / requests * 1e6 if requests else float("nan"),
        "client_cpu_share": (cpu1 - cpu0) / (wall1 - wall0),
        "lag_p99_ms": percentile(lags, 99) * 1e3,
        "lag_max_ms": max(lags, default=0.0) * 1e3,
        "memory_per_account_kib": per_account / 1024,
        "errors": counts["errors"],
        "sends": {scale_credentials(i)[0]: r.times for i, r in enumerate(recorders)},
    }


def one_size(
    server: Any, accounts: int, seconds: float, uvloop: bool, transport: str
) -> dict[str, Any]:
    """Run the client subprocess for ``accounts`` and read the server's counts."""
    time.sleep(1.2)  # the server's 1 s windows forget the previous client process first
    before = json.loads(server.ask("reset"))
    command = [
        sys.executable,
        "-m",
        "benchmarks.scale",
        "--client",
        str(accounts),
        str(server.port),
        str(seconds),
        "--transport",
        transport,
    ] + (["--uvloop"] if uvloop else [])
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    after = json.loads(server.ask("stats"))
    arrivals = json.loads(server.ask("arrivals"))
    if done.returncode != 0:
        return {"failed": done.stderr.strip().splitlines()[-1:] or ["no output"]}
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["spacing"] = spacing(result.pop("sends"), arrivals)
    result["server_cpu_share"] = (after["cpu_s"] - before["cpu_s"]) / wall
    result["limit_violations"] = after["limit_violations"]
    result["refused"] = sum(after["refused"].values())
    result["server_max_stall_ms"] = after["max_stall_ms"]
    result["allowed_req_per_s"] = accounts * PER_ACCOUNT
    return result


def judge(outcome: Outcome, accounts: int, loop: str, r: dict[str, Any]) -> None:
    """A problem when the CLIENT sent 11 requests of one account within a second (its own send
    times say so), or calls failed, or arrivals could not be matched to sends. Arrivals over
    the limit at the server whose sends were spaced right are the server stamping an earlier
    request late: reported with the evidence, not as an SDK problem."""
    sp = r["spacing"]
    where = f"{accounts} accounts ({loop})"
    if sp["client_violations"] or r["errors"]:
        outcome.problems.append(
            f"{where}: the client sent {sp['client_violations']} requests over the limit "
            f"(tightest 11 sends of one account: {sp['client_min_span_ms']:.1f} ms); "
            f"{r['errors']} failed calls"
        )
    if r["limit_violations"] and not sp["client_violations"]:
        outcome.notes.append(
            f"{where}: the simulator counted {r['limit_violations']} arrivals over the limit "
            f"({r['refused']} refused), but the client's send times of the same requests "
            f"kept every 11 of an account >= {sp['violation_min_client_span_ms']:.1f} ms apart "
            f"(0 client-side violations, {sp['requests']:,} sends checked): in each case the "
            f"server stamped the earlier request >= {sp['violation_min_skew_ms']:.1f} ms later "
            f"after its send than the later one (send->arrival delay p99 "
            f"{sp['delay_p99_ms']:.1f} ms, max {sp['delay_max_ms']:.0f} ms; the simulator's "
            f"loop stalled up to {r['server_max_stall_ms']:.0f} ms). Server-side queueing, "
            "not the SDK."
        )
    if sp["unmatched"] > accounts:  # at most one request per account in flight at the end
        outcome.problems.append(
            f"{where}: {sp['unmatched']} sends and arrivals did not pair up (evidence unusable)"
        )


def variants(quick: bool, accounts: int, last: int, uvloop: bool) -> list[tuple[bool, str]]:
    """``(uvloop on, transport)`` pairs to run at a fleet size (quick: the extras at the last)."""
    extras = not quick or accounts == last
    pairs = [(False, "lean")]
    if extras:
        pairs.append((False, "aiohttp"))
    if extras and uvloop:
        pairs.append((True, "lean"))
    return pairs


COLUMNS = [
    "accounts",
    "loop",
    "transport",
    "allowed req/s",
    "achieved req/s",
    "of allowed",
    "CPU µs/request",
    "p99 loop lag ms",
    "KiB/account",
    "client CPU",
    "server CPU",
    "server stall ms",
    "violations at server",
    "client-side violations",
    "min span of 11 sends ms",
]


def row(accounts: int, loop_name: str, transport: str, r: dict[str, Any]) -> list[str]:
    """One table row of a run's result."""
    return [
        str(accounts),
        loop_name,
        transport,
        fmt(r["allowed_req_per_s"], 0),
        fmt(r["req_per_s"], 0),
        f"{r['req_per_s'] / r['allowed_req_per_s']:.0%}",
        fmt(r["cpu_us_per_request"]),
        fmt(r["lag_p99_ms"]),
        fmt(r["memory_per_account_kib"], 0),
        f"{r['client_cpu_share']:.0%}",
        f"{r['server_cpu_share']:.0%}",
        fmt(r["server_max_stall_ms"], 0),
        str(r["limit_violations"]),
        str(r["spacing"]["client_violations"]),
        fmt(r["spacing"]["client_min_span_ms"]),
    ]


def run(quick: bool = False) -> Outcome:
    """Every fleet size, with and without uvloop, on both transports."""
    sizes = (10, 100) if quick else (10, 100, 300, 1000)
    seconds = 2.0 if quick else 8.0
    has_uvloop = True
    try:
        import uvloop  # noqa: F401
    except ImportError as error:
        has_uvloop, skipped = False, f"not installed ({error})"
    outcome = Outcome(NAME, f"CoinW accounts polled by one process ({seconds:g} s each)")
    if not has_uvloop:
        outcome.skipped["uvloop"] = skipped
    table = Table("One client process, simulator in another", COLUMNS)
    points: list[dict[str, Any]] = []
    for accounts in sizes:
        with server_process("benchmarks._simserver", [str(accounts)]) as server:
            for uvloop_on, transport in variants(quick, accounts, sizes[-1], has_uvloop):
                r = one_size(server, accounts, seconds, uvloop_on, transport)
                loop_name = "uvloop" if uvloop_on else "asyncio"
                points.append(
                    {"accounts": accounts, "loop": loop_name, "transport": transport, **r}
                )
                where = f"{accounts} accounts ({loop_name}, {transport})"
                if "failed" in r:
                    outcome.problems.append(f"{where}: {r['failed']}")
                    continue
                table.rows.append(row(accounts, loop_name, transport, r))
                judge(outcome, accounts, f"{loop_name}, {transport}", r)
    outcome.tables.append(table)
    outcome.data = {"seconds": seconds, "points": points}
    ceiling(outcome, [p for p in points if "failed" not in p])
    outcome.notes.append(
        "allowed = accounts x 10 req/s (CoinW's limit; the SDK keeps 5 % under "
        "it, so 95 % is full allowance). violations = arrivals the simulator "
        "counted over the limit. client-side violations = the same test on the client's "
        "own send times (headers written), which is what the SDK controls (must be 0); "
        "11 sends at the SDK's pace span 1,050 ms."
    )
    return outcome


def ceiling(outcome: Outcome, ok: list[dict[str, Any]]) -> None:
    """Note the highest rate seen and what bound it."""
    best = max(ok, key=lambda p: p["req_per_s"], default=None)
    if best is None:
        return
    bound = (
        "the client process (a full core)"
        if best["client_cpu_share"] > 0.85
        else "the simulator process"
        if best["server_cpu_share"] > 0.85
        else "the machine's two shared cores (neither process had a full core)"
    )
    outcome.data["ceiling"] = {
        "req_per_s": best["req_per_s"],
        "accounts": best["accounts"],
        "loop": best["loop"],
        "transport": best["transport"],
        "bound_by": bound,
    }
    outcome.notes.append(
        f"ceiling seen: {best['req_per_s']:,.0f} req/s at {best['accounts']} accounts "
        f"({best['loop']}, {best['transport']}); bound by {bound}. CPU shares are of one core."
    )


def client_main(argv: list[str]) -> int:
    """``--client ACCOUNTS PORT SECONDS [--uvloop] [--transport lean|aiohttp]``: print one
    JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", type=int, required=True)
    parser.add_argument("port", type=int)
    parser.add_argument("seconds", type=float)
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--transport", default="lean", choices=("lean", "aiohttp"))
    args = parser.parse_args(argv)
    run_once = client_run(args.client, args.port, args.seconds, 1.0, args.transport)
    result = run_async(run_once, args.uvloop)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    if "--client" in sys.argv:
        sys.exit(client_main(sys.argv[1:]))
    from .__main__ import standalone

    sys.exit(standalone(NAME))
