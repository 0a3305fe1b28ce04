"""Rate-limit accuracy as the server sees it: the SDK against the limiters users reach for.

One account each, all at once, against the canned server in its own process (which logs every
arrival with the system-wide monotonic clock). Each contender pushes with 4 concurrent callers
as fast as its limiter lets it, for Bitget's tracking endpoint (documented: 5 req/s per UID):

- ``exchange_async``: `ea.BitgetClient`, its own limiter (5/s with a 5 % margin);
- ``AsyncLimiter(5, 1)``: aiolimiter as most people write it, + raw aiohttp;
- ``AsyncLimiter(1, 0.2)``: aiolimiter spaced one request per 200 ms, + raw aiohttp;
- ``ccxt (as shipped)``: ccxt's Bitget with ``enableRateLimit=True``, its throttler with the
  rateLimit and cost ccxt ships for this endpoint.

Reported: the most arrivals in any 1 s window, windows over the limit, utilization (steady
rate / 5). The SDK over the limit is a problem (exit 1); the others are what they are.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import yarl
from aiolimiter import AsyncLimiter

import exchange_async as ea

from ._common import Outcome, Table, max_in_window, run_async, windows_over
from ._contenders import QUERY_STRING, bitget_headers, ccxt_bitget, credentials
from ._proc import server_process
from ._sim import BITGET_PATH

NAME = "ratelimit_accuracy"
LIMIT = 5
WORKERS = 4

Call = Callable[[], Awaitable[object]]


async def sdk_caller(base_url: str, index: int) -> tuple[Call, Callable[[], Awaitable[None]]]:
    """The SDK client of account ``index``."""
    client = ea.BitgetClient(ea.BitgetCredentials(*credentials(index)), base_url=base_url)

    async def call() -> object:
        return await client.get_current_tracking_orders("USDT-FUTURES", limit=50)

    return call, client.close


def limited_raw(limiter: AsyncLimiter) -> Callable[[str, int], Awaitable[tuple[Call, Any]]]:
    """Raw aiohttp behind ``limiter``."""

    async def open_(base_url: str, index: int) -> tuple[Call, Any]:
        key, secret, passphrase = credentials(index)
        session = aiohttp.ClientSession()
        url = yarl.URL(f"{base_url}{BITGET_PATH}?{QUERY_STRING}", encoded=True)

        async def call() -> object:
            async with limiter:
                headers = bitget_headers(key, secret.encode(), passphrase)
                async with session.get(url, headers=headers) as response:
                    return json.loads(await response.read())

        return call, session.close

    return open_


async def ccxt_caller(base_url: str, index: int) -> tuple[Call, Any]:
    """ccxt's Bitget with its own throttler on, as shipped."""
    exchange = ccxt_bitget(base_url, index, enable_rate_limit=True)
    params = {"productType": "USDT-FUTURES", "limit": 50}

    async def call() -> object:
        return await exchange.privateCopyGetV2CopyMixTraderOrderCurrentTrack(params)

    return call, exchange.close


def ccxt_budget() -> str:
    """What ccxt ships for this endpoint: rateLimit (ms) and cost."""
    import ccxt.async_support as ccxt_async  # type: ignore[import-untyped, unused-ignore]

    exchange = ccxt_async.bitget()
    cost = exchange.api["private"]["copy"]["get"]["v2/copy/mix-trader/order-current-track"]
    rate = float(exchange.rateLimit) * float(cost.get("cost", 1))
    return f"rateLimit {exchange.rateLimit} ms x cost {cost.get('cost', 1)} = {1000 / rate:g}/s"


async def push(open_: Any, base_url: str, index: int, seconds: float) -> int:
    """Call as fast as the contender's limiter allows, ``WORKERS`` at once; failures."""
    call, close = await open_(base_url, index)
    failures = 0

    async def worker() -> None:
        nonlocal failures
        while True:
            try:
                await call()
            except Exception:
                failures += 1
                await asyncio.sleep(0.05)

    tasks = [asyncio.create_task(worker()) for _ in range(WORKERS)]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await close()
    return failures


def arrivals(port: int) -> list[tuple[float, str]]:
    """Drain the server's arrival log."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__arrivals") as reply:
        return [(float(t), str(k)) for t, k in json.loads(reply.read())]


def run(quick: bool = False) -> Outcome:
    """All contenders at once; counted at the server."""
    seconds = 4.0 if quick else 15.0
    outcome = Outcome(NAME, f"Rate-limit accuracy at the server (limit {LIMIT}/s, {seconds:g} s)")
    contenders: dict[str, Any] = {
        "exchange_async": sdk_caller,
        "AsyncLimiter(5, 1)": limited_raw(AsyncLimiter(LIMIT, 1)),
        "AsyncLimiter(1, 0.2)": limited_raw(AsyncLimiter(1, 1 / LIMIT)),
    }
    try:
        outcome.notes.append(f"ccxt ships for this endpoint: {ccxt_budget()}.")
        contenders["ccxt (as shipped)"] = ccxt_caller
    except ImportError as error:
        outcome.skipped["ccxt (as shipped)"] = f"not installed ({error})"
    with server_process("benchmarks._pageserver", ["1"]) as server:
        port = server.port
        base_url = f"http://127.0.0.1:{port}"
        arrivals(port)
        start = time.monotonic()

        async def all_at_once() -> list[int]:
            return list(
                await asyncio.gather(
                    *(
                        push(open_, base_url, i, seconds)
                        for i, open_ in enumerate(contenders.values())
                    )
                )
            )

        failures = run_async(all_at_once())
        logged = arrivals(port)
    table = Table(
        "Requests as the server counted them",
        ["limiter", "max in any 1 s", "windows over 5", "utilization", "failures"],
    )
    timeline: dict[str, list[float]] = {}
    summary: dict[str, Any] = {}
    for i, name in enumerate(contenders):
        key = credentials(i)[0]
        times = sorted(t - start for t, k in logged if k == key)
        timeline[name] = [round(t, 4) for t in times]
        peak = max_in_window(times)
        over = windows_over(times, LIMIT)
        steady = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        table.rows.append([name, str(peak), str(over), f"{steady / LIMIT:.1%}", str(failures[i])])
        summary[name] = {
            "max_in_1s": peak,
            "windows_over": over,
            "utilization": steady / LIMIT,
            "requests": len(times),
            "failures": failures[i],
        }
        if name == "exchange_async" and (peak > LIMIT or failures[i]):
            outcome.problems.append(
                f"the SDK sent {peak} in one second (limit {LIMIT}) or failed {failures[i]} calls"
            )
    outcome.tables.append(table)
    outcome.data = {"seconds": seconds, "limit": LIMIT, "summary": summary, "timeline": timeline}
    outcome.notes.append(
        "windows over 5: arrivals that start a 1 s window [t, t+1) holding more than 5; "
        "utilization: (n-1)/(last-first) over the run, divided by 5."
    )
    return outcome


if __name__ == "__main__":
    from .__main__ import standalone

    sys.exit(standalone(NAME))
