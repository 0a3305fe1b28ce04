"""Client CPU per request: this SDK against raw aiohttp + ``json.loads``, ccxt and pybotters.

The server (``benchmarks._pageserver``) runs in its own process and answers a canned 50-row
Bitget page, so the client process's ``time.process_time()`` is the client's own cost. Each
account has its own client. Two loads:

- *paced*: 15 accounts at the endpoint's real pace (5 req/s each; the SDK paces itself at its
  limit minus the 5 % margin, the peers are paced by a sleep to a 200 ms schedule); every
  contender's accounts start spread over one 200 ms interval (account ``i`` at
  ``i / accounts`` of it), so no contender's requests are bunched and others' spread out;
- *saturated*: many accounts (20 per loopback address, so the SDK's per-IP 6000/min budget does
  not bind) offering more than one client process can send;
- *paced TLS*, *saturated TLS*: the same over https, against a server whose certificate comes
  from a private CA (``trustme``) that every client is told to trust.

The SDK runs twice: on its default (lean) transport, and on aiohttp's (``transport="aiohttp"``).

Rounds interleave the contenders (rotated order); the ratio to the SDK is taken pair by pair
within a round, then the median over rounds.
"""

from __future__ import annotations

import asyncio
import gc
import math
import ssl
import sys
import time
from contextlib import ExitStack
from typing import Any

from ._common import Outcome, Table, fmt, median, rotated, run_async, spread
from ._contenders import CONTENDERS, Caller, Contender, skip_reason
from ._pageserver import hosts
from ._proc import server_process
from ._tls import local_ca, tls_skip_reason, trusting

NAME = "request_cpu"
SERVER = "benchmarks._pageserver"
NAN = float("nan")
PER_HOST = 20
"""Accounts per loopback address (20 x 4.75 req/s stays under Bitget's 6000/min per IP)."""


def settings(quick: bool) -> dict[str, Any]:
    """Durations and sizes of a run."""
    if quick:
        return {
            "rounds": 1,
            "paced_s": 1.5,
            "saturated_s": 1.0,
            "warmup_s": 0.5,
            "paced_accounts": 15,
            "saturated_accounts": 60,
            "loads": ["paced", "saturated", "saturated TLS"],
        }
    return {
        "rounds": 3,
        "paced_s": 8.0,
        "saturated_s": 5.0,
        "warmup_s": 1.5,
        "paced_accounts": 15,
        "saturated_accounts": 400,
        "loads": ["paced", "saturated", "paced TLS", "saturated TLS"],
    }


async def drive(
    contender: Contender,
    port: int,
    accounts: int,
    seconds: float,
    warmup: float,
    tls: ssl.SSLContext | None = None,
    *,
    together: bool = False,
) -> dict[str, float]:
    """Run ``accounts`` callers for ``warmup + seconds`` (https with ``tls``, a context
    trusting the server's CA); CPU and requests of the last part.

    ``together``: every account starts at once (no staggered schedule), as a bot's accounts
    do when it starts."""
    addresses = hosts(max(1, -(-accounts // PER_HOST)))
    scheme = "http" if tls is None else "https"
    callers = [
        await contender.open(f"{scheme}://{addresses[i // PER_HOST]}:{port}", i, tls)
        for i in range(accounts)
    ]
    failed_first = await _first_calls(callers)
    counts = {"done": 0, "errors": 0, "rows": 0}
    interval = 0.2

    async def worker(index: int) -> None:
        call = callers[index].call
        loop = asyncio.get_running_loop()
        offset = 0.0 if together else interval * index / accounts
        next_at = loop.time() + offset
        if contender.self_paced and offset:  # the same staggered start as the peers' schedule
            await asyncio.sleep(offset)
        while True:
            if not contender.self_paced:
                delay = next_at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                next_at = max(next_at, loop.time()) + interval
            try:
                rows = await call()
                counts["rows"] += rows
                counts["done"] += 1
            except Exception:
                counts["errors"] += 1
                await asyncio.sleep(0.05)

    tasks = [asyncio.create_task(worker(i)) for i in range(accounts)]
    try:
        await asyncio.sleep(warmup)
        gc.collect()
        done0, cpu0, wall0 = counts["done"], time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        done1, cpu1, wall1 = counts["done"], time.process_time(), time.perf_counter()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(caller.close() for caller in callers), return_exceptions=True)
    counts["errors"] += failed_first
    return _result(done1 - done0, cpu1 - cpu0, wall1 - wall0, counts)


def _result(requests: int, cpu: float, wall: float, counts: dict[str, int]) -> dict[str, float]:
    """One run's figures from the measured window's requests, CPU and wall seconds."""
    return {
        "requests": requests,
        "cpu_us_per_request": cpu / requests * 1e6 if requests else float("nan"),
        "req_per_s": requests / wall,
        "cpu_share": cpu / wall,
        "errors": counts["errors"],
        "rows_ok": counts["rows"] == counts["done"] * 50,
    }


async def _first_calls(callers: list[Caller]) -> int:
    """One call each (ten at a time): connections, clock sync and lazy set-up are not what is
    measured. Returns how many failed (counted, not fatal)."""
    gate = asyncio.Semaphore(10)

    async def first(caller: Caller) -> None:
        async with gate:
            await caller.call()

    try:
        warm = await asyncio.gather(*(first(c) for c in callers), return_exceptions=True)
    except BaseException:
        await asyncio.gather(*(caller.close() for caller in callers), return_exceptions=True)
        raise
    return sum(1 for w in warm if isinstance(w, BaseException))


def _servers(stack: ExitStack, hosts_needed: int, tls_too: bool) -> tuple[int, int, Any]:
    """``(port, tls_port, tls)``: the page servers (TLS: 0, None when not needed)."""
    port = stack.enter_context(server_process(SERVER, [str(hosts_needed)])).port
    if not tls_too:
        return port, 0, None
    ca_path, server_files = stack.enter_context(local_ca(hosts(hosts_needed)))
    tls_server = server_process(SERVER, [str(hosts_needed), *server_files])
    return port, stack.enter_context(tls_server).port, trusting(ca_path)


def run(quick: bool = False, *, use_uvloop: bool = False) -> Outcome:
    """Every contender, both loads, interleaved rounds."""
    cfg = settings(quick)
    outcome = Outcome(NAME, "Client CPU per request (server in its own process, 50-row page)")
    ready = []
    for contender in CONTENDERS:
        reason = skip_reason(contender)
        if reason:
            outcome.skipped[contender.name] = reason
        else:
            ready.append(contender)
    sizes = {"paced": (cfg["paced_accounts"], cfg["paced_s"])}
    sizes["saturated"] = (cfg["saturated_accounts"], cfg["saturated_s"])
    loads = {load: sizes[load.split()[0]] for load in cfg["loads"]}
    tls_reason = tls_skip_reason()
    if tls_reason:
        loads = {load: size for load, size in loads.items() if not load.endswith("TLS")}
        outcome.skipped["TLS loads"] = tls_reason
    hosts_needed = max(1, -(-cfg["saturated_accounts"] // PER_HOST))
    results: dict[str, dict[str, list[dict[str, float]]]] = {
        load: {c.name: [] for c in ready} for load in loads
    }
    with ExitStack() as stack:
        tls_too = any(load.endswith("TLS") for load in loads)
        port, tls_port, tls = _servers(stack, hosts_needed, tls_too)
        for r in range(cfg["rounds"]):
            for load, (accounts, seconds) in loads.items():
                secure = load.endswith("TLS")
                for contender in rotated(ready, r):
                    run_once = drive(
                        contender,
                        tls_port if secure else port,
                        accounts,
                        seconds,
                        cfg["warmup_s"],
                        tls if secure else None,
                    )
                    results[load][contender.name].append(
                        _run_guarded(
                            outcome,
                            run_once,
                            use_uvloop,
                            f"{load}, round {r + 1}: {contender.name}",
                        )
                    )
    outcome.data = {"settings": cfg, "uvloop": use_uvloop, "runs": results, "summary": {}}
    for load, (accounts, _) in loads.items():
        summarize(outcome, load, accounts, results[load])
    _explain(outcome)
    return outcome


def _explain(outcome: Outcome) -> None:
    outcome.notes.append(
        "CPU = time.process_time() of the client process over the measured window / requests "
        "completed in it; the server's CPU is not counted. Peers run with their own rate "
        "limiting off and are paced by the benchmark; the SDK paces itself (5 req/s minus its "
        "5 % margin). SDK / client = the SDK's CPU per request over this client's, per "
        "round, median over rounds (below 1: the SDK is cheaper)."
    )
    if "pybotters" not in outcome.skipped:
        outcome.notes.append(
            "pybotters chooses its signer by URL host: the benchmark registers the loopback "
            "hosts as Bitget hosts (pybotters.auth.Hosts.items) so it signs as it would live."
        )


def _run_guarded(outcome: Outcome, run_once: Any, use_uvloop: bool, where: str) -> dict[str, float]:
    """One contender's run; a peer that falls over is reported, not fatal."""
    try:
        result: dict[str, float] = run_async(run_once, use_uvloop)
    except Exception as error:
        outcome.notes.append(f"{where}: failed: {error!r}"[:300])
        return {
            "cpu_us_per_request": NAN,
            "req_per_s": NAN,
            "errors": 1,
            "cpu_share": NAN,
            "rows_ok": False,
        }
    return result


def summarize(
    outcome: Outcome,
    load: str,
    accounts: int,
    runs: dict[str, list[dict[str, float]]],
) -> None:
    """One table per load: medians, spreads, ratios to the SDK per round."""
    table = Table(
        f"{load}: {accounts} accounts, each its own client",
        [
            "client",
            "CPU µs/request (median)",
            "spread (min-max)",
            "SDK / client",
            "req/s",
            "client CPU share",
            "errors",
        ],
    )
    sdk = runs.get("exchange_async", [])
    summary: dict[str, Any] = {}
    for name, items in runs.items():
        cpu = [i["cpu_us_per_request"] for i in items if math.isfinite(i["cpu_us_per_request"])]
        ratios = [
            s["cpu_us_per_request"] / i["cpu_us_per_request"]
            for i, s in zip(items, sdk, strict=False)
            if math.isfinite(s["cpu_us_per_request"] / i["cpu_us_per_request"])
        ]
        low, high = spread(cpu)
        errors = int(sum(i["errors"] for i in items))
        table.rows.append(
            [
                name,
                fmt(median(cpu)),
                f"{fmt(low)}-{fmt(high)}",
                f"{median(ratios):.2f}x",
                fmt(median(i["req_per_s"] for i in items), 0),
                f"{median(i['cpu_share'] for i in items):.0%}",
                str(errors),
            ]
        )
        summary[name] = {
            "cpu_us_per_request_median": median(cpu),
            "cpu_us_per_request_min": low,
            "cpu_us_per_request_max": high,
            "sdk_over_client_median": median(ratios),
            "sdk_over_client_by_round": ratios,
            "req_per_s_median": median(i["req_per_s"] for i in items),
            "errors": errors,
        }
        complete = all(i["rows_ok"] for i in items)
        if name == "exchange_async" and (errors or not complete):
            outcome.problems.append(f"{load}: the SDK had {errors} failed calls or short pages")
        elif errors:
            outcome.notes.append(f"{load}: {name} had {errors} failed calls")
    outcome.data["summary"][load] = summary
    outcome.tables.append(table)


if __name__ == "__main__":
    from .__main__ import standalone

    sys.exit(standalone(NAME))
