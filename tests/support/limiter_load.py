"""Processes for the multi-process limiter tests: a server that records arrivals, and workers.

``python tests/support/limiter_load.py serve PORT_FILE`` runs an HTTP server that records when each
``GET /hit/<name>`` arrives (its own monotonic clock) and answers ``GET /arrivals`` with them.

``python tests/support/limiter_load.py work REDIS_URL BASE_URL START_AT SECONDS SKEW OUT_FILE`` runs
two "clients" of a Bitget-like account (5/s per UID, 6000/min per IP) and two of a CoinW-like
account (10/s per endpoint, 100/s per account) through one `RedisLimiter`, each sending one
request after another from wall-clock ``START_AT`` for ``SECONDS``; with ``SKEW`` its clocks
(``time.time`` and the event loop's) run that many seconds ahead. Writes a JSON summary.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from exchange_async._core.limits import RateLimit, Scope, budgets_for
from exchange_async._core.limits.redis import RedisLimiter

BITGET = budgets_for(
    "http://bitget",
    [RateLimit("/track", 5, 1.0, Scope.ENDPOINT), RateLimit("ip", 6000, 60.0, Scope.IP)],
    ["uid:1"],
    0.05,
)
COINW = budgets_for(
    "http://coinw",
    [RateLimit("/order", 10, 1.0, Scope.ENDPOINT), RateLimit("all", 100, 1.0, Scope.ACCOUNT)],
    ["key:cw"],
    0.05,
)
LIMITS = {"bitget": 5, "coinw": 10}


async def serve(port_file: Path) -> None:
    arrivals: dict[str, list[float]] = {name: [] for name in LIMITS}

    async def hit(request: web.Request) -> web.Response:
        arrivals[request.match_info["name"]].append(time.monotonic())
        return web.Response(text="ok")

    async def report(_: web.Request) -> web.Response:
        return web.json_response(arrivals)

    app = web.Application()
    app.add_routes([web.get("/hit/{name}", hit), web.get("/arrivals", report)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    port_file.write_text(str(port))  # noqa: ASYNC240 - once, before serving
    await asyncio.Event().wait()


async def work(redis_url: str, base_url: str, start_at: float, seconds: float) -> dict[str, Any]:
    limiter = RedisLimiter(redis_url, call_timeout=0.25)
    loop = asyncio.get_running_loop()
    sent = dict.fromkeys(LIMITS, 0)
    errors: list[str] = []
    log: list[tuple[float, str, str, bool]] = []
    fell_back = False

    async def client(name: str, budgets: Any, http: aiohttp.ClientSession) -> None:
        nonlocal fell_back
        group = limiter.wait_group()
        end = loop.time() + seconds
        while loop.time() < end:
            try:
                # Longer than an outage plus the hold after Redis comes back empty.
                permit = await limiter.acquire(budgets, max_wait=10.0, group=group)
            except Exception as error:  # the test wants none; report what it was
                errors.append(repr(error))
                await asyncio.sleep(0.05)
                continue
            fell_back = fell_back or not limiter.on_redis
            try:
                waiting = permit.sent()  # a late start on a shared account: a new slot first
                if waiting is not None:
                    await waiting
                log.append((time.monotonic(), name, type(permit).__name__, limiter.on_redis))
                async with http.get(f"{base_url}/hit/{name}") as reply:
                    await reply.read()
                sent[name] += 1
            finally:
                permit.release()

    await asyncio.sleep(max(0.0, start_at - time.time()))
    async with aiohttp.ClientSession() as http:
        await asyncio.gather(
            *(client(name, budgets, http) for name, budgets in [("bitget", BITGET)] * 2),
            *(client(name, budgets, http) for name, budgets in [("coinw", COINW)] * 2),
        )
    result = {
        "sent": sent,
        "errors": errors,
        "fell_back": fell_back,
        "on_redis": limiter.on_redis,
        "carried": limiter.carried,
        "log": log,
    }
    await limiter.aclose()
    return result


def main(argv: list[str]) -> None:
    if argv[0] == "serve":
        asyncio.run(serve(Path(argv[1])))
        return
    redis_url, base_url, start_at, seconds, skew, out_file = argv[1:]
    loop = asyncio.new_event_loop()
    if float(skew):
        real_time, real_loop_time = time.time, loop.time
        time.time = lambda: real_time() + float(skew)
        loop.time = lambda: real_loop_time() + float(skew)  # type: ignore[method-assign]
    try:
        result = loop.run_until_complete(work(redis_url, base_url, float(start_at), float(seconds)))
    finally:
        loop.close()
    Path(out_file).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
