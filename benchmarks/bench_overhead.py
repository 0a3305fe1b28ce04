"""Per-request cost of the SDK's pipeline against raw aiohttp, with rate limits out of the way.

Both send the same signed ``GET /v1/perpum/order`` (one order in the reply) to the same local
simulator (``enforce_limits=False``, no latency), one request at a time over a kept-alive
connection. The SDK side is a `Session` with a copy of ``ORDER_INFO`` whose limits are 100,000/s,
so the limiter runs but never waits: what is measured is the pipeline (query building, two
buckets, signing, send, typed decode, error mapping). The baseline signs the same way, sends
with aiohttp, reads the body and ``json.loads`` it: the least any client does.

The simulator runs in the same process and event loop, so both latencies include the server's
own work; the difference SDK - raw is the SDK's overhead. Requests alternate SDK / raw one by
one (the order flips every request) in several rounds; reported are the medians of each round's
median latency, and the medians of the per-round ratios and differences.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from yarl import URL

from exchange_async._core.endpoint import Endpoint
from exchange_async._core.ratelimit import RateLimit, Scope
from exchange_async._core.session import Session, SessionOptions
from exchange_async.coinw.auth import CoinWCredentials, auth_headers
from exchange_async.coinw.endpoints import ORDER_INFO
from exchange_async.coinw.errors import COINW
from exchange_async_sim import Simulator, SimulatorConfig, SimulatorServer

from ._common import Outcome, fmt, median

NAME = "overhead"

UNLIMITED_ORDER_INFO = Endpoint(
    ORDER_INFO.method,
    ORDER_INFO.path,
    (
        RateLimit("bench GET /v1/perpum/order", 100_000, 1.0, Scope.ENDPOINT),
        RateLimit("bench coinw.futures.private", 100_000, 1.0, Scope.ACCOUNT),
    ),
    ORDER_INFO.data_type,
)
"""``ORDER_INFO`` with the same two kinds of limit, but so high the limiter never waits."""

Request = Callable[[], Awaitable[object]]


async def _measure(
    sdk: Request, raw: Request, rounds: int, pairs: int
) -> tuple[list[float], list[float]]:
    """Per-round median latency (µs) of each side; requests alternate, order flipping."""
    sdk_medians: list[float] = []
    raw_medians: list[float] = []
    for r in range(rounds):
        sdk_times: list[float] = []
        raw_times: list[float] = []
        for i in range(pairs):
            order = ((sdk, sdk_times), (raw, raw_times))
            for request, out in order if (i + r) % 2 == 0 else order[::-1]:
                started = time.perf_counter()
                await request()
                out.append((time.perf_counter() - started) * 1e6)
        sdk_medians.append(median(sdk_times))
        raw_medians.append(median(raw_times))
    return sdk_medians, raw_medians


async def _run(rounds: int, pairs: int) -> dict[str, Any]:
    sim = Simulator(SimulatorConfig(seed=5, enforce_limits=False, latency=0.0))
    credentials = CoinWCredentials("cw-overhead", "cw-overhead-secret")
    account = sim.add_coinw_account(
        api_key=credentials.api_key, secret_key=credentials.secret_key, orders=60
    )
    wanted = next(o.id for o in account.orders.values() if o.is_open and o.pos_type == "plan")
    params = {"positionType": "plan", "sourceIds": str(wanted)}
    async with SimulatorServer(sim) as server:
        session = Session(
            exchange=COINW,
            base_url=server.base_url,
            signer=functools.partial(auth_headers, credentials),
            account_id="bench-overhead",
            options=SessionOptions(),
        )

        async def sdk() -> object:
            rows = await session.request(UNLIMITED_ORDER_INFO, params)
            if not rows or rows[0].id != wanted:
                raise RuntimeError("SDK reply without the order asked for")
            return rows

        async with aiohttp.ClientSession() as http:

            async def raw() -> object:
                path_qs = f"{ORDER_INFO.path}?positionType=plan&sourceIds={wanted}"
                headers = auth_headers(credentials, int(time.time() * 1000), "GET", path_qs)
                url = URL(server.base_url + path_qs, encoded=True)
                async with http.get(url, headers=headers) as response:
                    body = await response.read()
                payload = json.loads(body)
                if payload.get("code") != 0 or payload["data"][0]["id"] != wanted:
                    raise RuntimeError("raw reply without the order asked for")
                return payload

            try:
                await _measure(sdk, raw, 1, 50)  # warm-up: connections, caches, code paths
                sdk_us, raw_us = await _measure(sdk, raw, rounds, pairs)
            finally:
                await session.close()
    return {
        "sdk_us_round_medians": sdk_us,
        "raw_us_round_medians": raw_us,
        "requests_seen_by_server": len(sim.arrivals),
        "non_200_replies": sum(1 for a in sim.arrivals if a.status != 200),
    }


def run(quick: bool = False) -> Outcome:
    """Sequential requests, SDK and raw aiohttp alternating, in rounds."""
    rounds = 3 if quick else 7
    pairs = 150 if quick else 400
    data = asyncio.run(_run(rounds, pairs))
    sdk_us, raw_us = data["sdk_us_round_medians"], data["raw_us_round_medians"]
    ratio = median(s / r for s, r in zip(sdk_us, raw_us, strict=True))
    extra = median(s - r for s, r in zip(sdk_us, raw_us, strict=True))
    data.update(
        rounds=rounds,
        pairs_per_round=pairs,
        sdk_us_median=median(sdk_us),
        raw_us_median=median(raw_us),
        ratio_median=ratio,
        overhead_us_median=extra,
    )
    outcome = Outcome(
        name=NAME,
        title=f"Per-request overhead: {rounds} rounds × {pairs} SDK/raw pairs, sequential, "
        "simulator in-process",
        columns=[
            "request",
            "SDK µs (median)",
            "raw aiohttp µs (median)",
            "SDK / raw",
            "SDK - raw µs",
        ],
        rows=[
            [
                "CoinW GET /v1/perpum/order, 1 order",
                fmt(median(sdk_us), 0),
                fmt(median(raw_us), 0),
                f"{ratio:.3f}",
                fmt(extra, 0),
            ]
        ],
        data=data,
    )
    if data["non_200_replies"]:
        outcome.problems.append(f"overhead: {data['non_200_replies']} non-200 replies")
    outcome.notes.append(
        "latencies include the in-process simulator's own handling; "
        "raw = aiohttp + same signing + json.loads."
    )
    return outcome
