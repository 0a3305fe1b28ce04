"""Never over the limit, and not slower than needed: the SDK's limiter against aiolimiter.

Many concurrent callers hammer one endpoint for a fixed time through each contestant, against a
simulator that counts every arrival but never refuses (``enforce_limits=False``), so nothing
but the client decides the pace. The contestants of a scenario run *at the same time*, each on
its own account of the same simulator, so they share whatever noise the machine has; rounds are
repeated and the order in which contestants start is rotated between rounds.

Per contestant: the most requests the server saw in any 1 s window (worst round), how many
arrivals began a 1 s window holding more than the limit, and the steady-state rate (arrivals
after the first second) as a fraction of the limit and relative to the fastest baseline that
never bursts (an ``AsyncLimiter`` of capacity 1 and no margin).
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiolimiter import AsyncLimiter
from yarl import URL

import exchange_async as ea
from exchange_async.bitget.auth import auth_headers as bitget_auth_headers
from exchange_async.coinw.auth import auth_headers as coinw_auth_headers
from exchange_async_sim import Simulator, SimulatorConfig, SimulatorServer

from ._common import (
    Outcome,
    fmt,
    max_in_window,
    median,
    rotated,
    steady_rate,
    violations,
)

NAME = "ratelimit"

TRACK = "/api/v2/copy/mix-trader/order-current-track"
ORDER = "/v1/perpum/order"
TRACK_QUERY = "limit=1&productType=USDT-FUTURES"
ORDER_QUERY = "positionType=plan&sourceIds=1"

Call = Callable[[], Awaitable[object]]
Opener = Callable[[str], AbstractAsyncContextManager[Call]]
"""``base_url -> async context manager yielding the call`` the callers of one account repeat."""


@dataclass(frozen=True, slots=True)
class Lane:
    """One account driven by one contestant: ``callers`` coroutines repeating one call."""

    contestant: str
    account: str
    """The account as the simulator logs it (Bitget UID, CoinW user id)."""
    open: Opener
    callers: int


@dataclass(frozen=True, slots=True)
class Scenario:
    """Contestants that run side by side on one endpoint of one simulator."""

    name: str
    path: str
    limit: int
    """Requests per account in any 1 s window, as documented."""
    contestants: tuple[tuple[str, str], ...]
    """(key, label), the SDK first."""
    baseline: str
    """Key of the capacity-1, no-margin baseline the SDK's rate is compared with."""
    lanes: Callable[[Simulator], list[Lane]]
    """Registers the accounts on a fresh simulator and returns every lane."""


# -- the contestants -------------------------------------------------------------------------


@asynccontextmanager
async def _sdk_bitget(credentials: ea.BitgetCredentials, base_url: str) -> AsyncIterator[Call]:
    async with ea.BitgetClient(credentials, base_url=base_url) as client:

        async def call() -> object:
            return await client.get_current_tracking_orders("USDT-FUTURES", limit=1)

        yield call


@asynccontextmanager
async def _sdk_coinw(credentials: ea.CoinWCredentials, base_url: str) -> AsyncIterator[Call]:
    async with ea.CoinWClient(credentials, base_url=base_url) as client:

        async def call() -> object:
            return await client.get_order_info("plan", source_ids=[1])

        yield call


Signer = Callable[[int, str, str], dict[str, str]]
"""(timestamp_ms, method, path_and_query) -> auth headers."""


@asynccontextmanager
async def _aiohttp_limited(
    max_rate: float, period: float, path_qs: str, sign: Signer, base_url: str
) -> AsyncIterator[Call]:
    """What a hand-written client does: ``async with AsyncLimiter(...)`` around each request."""
    limiter = AsyncLimiter(max_rate, period)
    # encoded=True: the query is sent exactly as signed (yarl would otherwise re-encode it).
    url = URL(base_url + path_qs, encoded=True)
    async with aiohttp.ClientSession() as http:

        async def call() -> object:
            async with limiter:
                headers = sign(int(time.time() * 1000), "GET", path_qs)
                async with http.get(url, headers=headers) as response:
                    body = await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"HTTP {response.status}: {body[:80]!r}")
            return body

        yield call


def _bitget_account(sim: Simulator, tag: str) -> tuple[ea.BitgetCredentials, str]:
    credentials = ea.BitgetCredentials(f"bg-{tag}", f"bg-secret-{tag}", f"bg-pass-{tag}")
    account = sim.add_bitget_account(
        api_key=credentials.api_key,
        secret_key=credentials.secret_key,
        passphrase=credentials.passphrase,
        orders=5,
    )
    return credentials, account.uid


def _coinw_account(sim: Simulator, tag: str) -> tuple[ea.CoinWCredentials, str]:
    credentials = ea.CoinWCredentials(f"cw-{tag}", f"cw-secret-{tag}")
    account = sim.add_coinw_account(
        api_key=credentials.api_key, secret_key=credentials.secret_key, orders=5
    )
    return credentials, str(account.user_id)


def _bitget_lane(
    sim: Simulator, key: str, tag: str, callers: int, limiter: tuple[float, float] | None
) -> Lane:
    """A Bitget account driven by the SDK (``limiter=None``) or by aiohttp + ``limiter``."""
    credentials, uid = _bitget_account(sim, tag)
    if limiter is None:
        opener: Opener = functools.partial(_sdk_bitget, credentials)
    else:
        sign: Signer = functools.partial(bitget_auth_headers, credentials)
        opener = functools.partial(
            _aiohttp_limited, limiter[0], limiter[1], f"{TRACK}?{TRACK_QUERY}", sign
        )
    return Lane(key, uid, opener, callers)


def _coinw_lane(
    sim: Simulator, key: str, tag: str, callers: int, limiter: tuple[float, float] | None
) -> Lane:
    """A CoinW account driven by the SDK (``limiter=None``) or by aiohttp + ``limiter``."""
    credentials, user = _coinw_account(sim, tag)
    if limiter is None:
        opener: Opener = functools.partial(_sdk_coinw, credentials)
    else:
        sign: Signer = functools.partial(coinw_auth_headers, credentials)
        opener = functools.partial(
            _aiohttp_limited, limiter[0], limiter[1], f"{ORDER}?{ORDER_QUERY}", sign
        )
    return Lane(key, user, opener, callers)


CALLERS = 50
ACCOUNTS = 20
CALLERS_PER_ACCOUNT = 10

DOCUMENTED = 1 / 1.05
"""The rate the SDK documents with its default 5 % margin, as a fraction of the limit."""
WARN_BELOW = 0.94
"""Warn when the SDK's median rate falls below this fraction of the limit. Since the limiter's
catch-up allowance it reaches 95.1-95.2 % in every scenario (20 accounts at the per-IP cap
included; 90.6 % before), so 94 % leaves room for a noisy machine and still flags a real
shortfall."""

SCENARIOS = (
    Scenario(
        name="bitget 5/s, 1 account × 50 callers",
        path=TRACK,
        limit=5,
        contestants=(
            ("sdk", "SDK BitgetClient"),
            ("naive", "aiohttp + AsyncLimiter(5, 1)"),
            ("cap1", "aiohttp + AsyncLimiter(1, 0.2)"),
        ),
        baseline="cap1",
        lanes=lambda sim: [
            _bitget_lane(sim, "sdk", "sdk", CALLERS, None),
            _bitget_lane(sim, "naive", "naive", CALLERS, (5, 1.0)),
            _bitget_lane(sim, "cap1", "cap1", CALLERS, (1, 0.2)),
        ],
    ),
    Scenario(
        name="coinw 10/s, 1 account × 50 callers",
        path=ORDER,
        limit=10,
        contestants=(
            ("sdk", "SDK CoinWClient"),
            ("naive", "aiohttp + AsyncLimiter(10, 1)"),
            ("cap1", "aiohttp + AsyncLimiter(1, 0.1)"),
        ),
        baseline="cap1",
        lanes=lambda sim: [
            _coinw_lane(sim, "sdk", "sdk", CALLERS, None),
            _coinw_lane(sim, "naive", "naive", CALLERS, (10, 1.0)),
            _coinw_lane(sim, "cap1", "cap1", CALLERS, (1, 0.1)),
        ],
    ),
    Scenario(
        name=f"bitget 5/s, {ACCOUNTS} accounts × {CALLERS_PER_ACCOUNT} callers",
        path=TRACK,
        limit=5,
        contestants=(
            ("sdk", f"SDK, {ACCOUNTS} BitgetClients"),
            ("cap1", "aiohttp + AsyncLimiter(1, 0.2) per account"),
        ),
        baseline="cap1",
        lanes=lambda sim: [
            *(
                _bitget_lane(sim, "sdk", f"sdk-{i}", CALLERS_PER_ACCOUNT, None)
                for i in range(ACCOUNTS)
            ),
            *(
                _bitget_lane(sim, "cap1", f"cap1-{i}", CALLERS_PER_ACCOUNT, (1, 0.2))
                for i in range(ACCOUNTS)
            ),
        ],
    ),
)


# -- one round -------------------------------------------------------------------------------


async def _round(scenario: Scenario, duration: float, shift: int) -> dict[str, Any]:
    """Run every contestant of ``scenario`` side by side for ``duration`` seconds."""
    sim = Simulator(SimulatorConfig(seed=11, enforce_limits=False))
    lanes = scenario.lanes(sim)
    order = rotated([key for key, _ in scenario.contestants], shift)
    lanes.sort(key=lambda lane: order.index(lane.contestant))
    errors: Counter[str] = Counter()
    first_error: dict[str, str] = {}
    loop = asyncio.get_running_loop()
    async with SimulatorServer(sim) as server, AsyncExitStack() as stack:
        calls = [await stack.enter_async_context(lane.open(server.base_url)) for lane in lanes]
        start = loop.time()  # the simulator stamps arrivals with time.monotonic(): same clock
        deadline = start + duration

        async def caller(lane: Lane, call: Call) -> None:
            while loop.time() < deadline:
                try:
                    await call()
                except Exception as exc:
                    errors[lane.contestant] += 1
                    first_error.setdefault(lane.contestant, f"{type(exc).__name__}: {exc}")
                    await asyncio.sleep(0.01)

        tasks = [
            asyncio.create_task(caller(lane, call))
            for lane, call in zip(lanes, calls, strict=True)
            for _ in range(lane.callers)
        ]
        # Callers queued behind the limiter would keep going for many seconds: stop them all.
        await asyncio.sleep(duration)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    result: dict[str, Any] = {"order": order}
    for key, _ in scenario.contestants:
        mine = [lane for lane in lanes if lane.contestant == key]
        per_lane = [
            [a.time for a in sim.log.select(scenario.path, account=lane.account)] for lane in mine
        ]
        statuses = Counter(
            a.status for lane in mine for a in sim.log.select(scenario.path, account=lane.account)
        )
        every = [t for times in per_lane for t in times]
        # Summed per account: merged arrivals of accounts that run in step come in clumps,
        # and (n - 1) / (last - first) over clumps overstates the rate.
        rate = sum(steady_rate(times, start + 1.0, deadline) for times in per_lane)
        result[key] = {
            "requests": len(every),
            "max_in_1s_window": max(max_in_window(times) for times in per_lane),
            "windows_over_limit": sum(violations(times, scenario.limit) for times in per_lane),
            "all_accounts_max_in_1s_window": max_in_window(every),
            "steady_rate": rate,
            "fraction_of_limit": rate / (scenario.limit * len(mine)),
            "account_gap_ms": _gaps_ms(per_lane, start + 1.0, deadline),
            "all_accounts_gap_ms": _gaps_ms([every], start + 1.0, deadline),
            "statuses": {str(status): n for status, n in sorted(statuses.items())},
            "errors": errors[key],
            "first_error": first_error.get(key),
        }
    return result


def _gaps_ms(per_lane: list[list[float]], start: float, end: float) -> dict[str, float]:
    """Median and largest spacing between consecutive arrivals of one lane, in ``[start, end)``."""
    gaps = []
    for times in per_lane:
        inside = sorted(t for t in times if start <= t < end)
        gaps += [(b - a) * 1e3 for a, b in itertools.pairwise(inside)]
    if not gaps:
        return {"median": 0.0, "max": 0.0}
    return {"median": median(gaps), "max": max(gaps)}


# -- the benchmark ---------------------------------------------------------------------------


def run(quick: bool = False) -> Outcome:
    """Every scenario, ``rounds`` times each, contestants side by side in every round."""
    rounds = 2 if quick else 5
    duration = 3.0 if quick else 6.0
    outcome = Outcome(
        name=NAME,
        title=f"Rate limits: {rounds} round(s) × {duration:g} s per scenario, "
        "contestants side by side on separate accounts of one simulator",
        columns=[
            "scenario",
            "contestant",
            "max in any 1 s (worst)",
            "windows > limit (sum)",
            "steady req/s (median)",
            "of limit",
            "rate / cap-1 baseline",
        ],
        text_columns=2,
    )
    outcome.data = {"rounds": rounds, "duration_s": duration, "scenarios": []}
    for scenario in SCENARIOS:
        results = [asyncio.run(_round(scenario, duration, shift)) for shift in range(rounds)]
        summary: dict[str, Any] = {}
        for key, label in scenario.contestants:
            mine = [r[key] for r in results]
            ratio = median(
                r[key]["steady_rate"] / r[scenario.baseline]["steady_rate"]
                if r[scenario.baseline]["steady_rate"]
                else 0.0
                for r in results
            )
            summary[key] = {
                "label": label,
                "max_in_1s_window_worst": max(m["max_in_1s_window"] for m in mine),
                "windows_over_limit_sum": sum(m["windows_over_limit"] for m in mine),
                "steady_rate_median": median(m["steady_rate"] for m in mine),
                "fraction_of_limit_median": median(m["fraction_of_limit"] for m in mine),
                "rate_ratio_to_baseline_median": ratio,
                "requests_median": median(m["requests"] for m in mine),
                "errors_sum": sum(m["errors"] for m in mine),
            }
            s = summary[key]
            outcome.rows.append(
                [
                    scenario.name,
                    label,
                    f"{s['max_in_1s_window_worst']} (limit {scenario.limit})",
                    str(s["windows_over_limit_sum"]),
                    fmt(s["steady_rate_median"]),
                    f"{s['fraction_of_limit_median']:.1%}",
                    "baseline" if key == scenario.baseline else fmt(ratio, 3),
                ]
            )
            if s["errors_sum"]:
                outcome.problems.append(
                    f"{scenario.name} / {label}: {s['errors_sum']} failed calls, e.g. "
                    f"{next(m['first_error'] for m in mine if m['first_error'])}"
                )
        sdk = summary["sdk"]
        if sdk["max_in_1s_window_worst"] > scenario.limit or sdk["windows_over_limit_sum"]:
            outcome.problems.append(
                f"{scenario.name}: the SDK exceeded the limit "
                f"(max {sdk['max_in_1s_window_worst']} in 1 s)"
            )
        if sdk["fraction_of_limit_median"] < WARN_BELOW:
            outcome.warnings.append(
                f"{scenario.name}: the SDK ran at only {sdk['fraction_of_limit_median']:.1%} "
                f"of the limit (documented: {DOCUMENTED:.1%}, measured 95.1-95.2 % on one "
                f"account and on {ACCOUNTS}; warning below {WARN_BELOW:.0%})"
            )
        sdk["all_accounts_max_in_1s_window_worst"] = max(
            r["sdk"]["all_accounts_max_in_1s_window"] for r in results
        )
        outcome.data["scenarios"].append(
            {
                "name": scenario.name,
                "path": scenario.path,
                "limit_per_account_per_s": scenario.limit,
                "summary": summary,
                "rounds": results,
            }
        )
    multi = outcome.data["scenarios"][-1]
    sdk_rounds = [r["sdk"] for r in multi["rounds"]]
    outcome.notes.append(
        f"{ACCOUNTS} accounts through the SDK: at most "
        f"{multi['summary']['sdk']['all_accounts_max_in_1s_window_worst']} requests in any 1 s "
        "across all of them (Bitget's per-IP cap: 6000/min); spacing per account median "
        f"{median(r['account_gap_ms']['median'] for r in sdk_rounds):.1f} ms "
        f"(bucket: 210 ms), worst {max(r['account_gap_ms']['max'] for r in sdk_rounds):.0f} ms; "
        "across accounts median "
        f"{median(r['all_accounts_gap_ms']['median'] for r in sdk_rounds):.2f} ms "
        "(per-IP bucket: 10.5 ms)."
    )
    outcome.notes.append(
        "steady req/s: per account, (n - 1) / (last - first) over arrivals after the first "
        "second, summed over accounts; 'of limit' divides by the documented limit × accounts."
    )
    return outcome
