"""The in-process limiter's promise as a property: random arrivals, limits, margins, late sends,
cancellations and penalties, on a controlled clock (hundreds of schedules in a second or two).

For every account budget, no N + 1 real sends (`Permit.sent`) within ``N * interval -
tolerance`` (GCRA, `declarations`), late sends included, hence never more than N in any
sliding window of W, at its edges too; for a shared per-IP budget (also with a minute-long
window and its burst) the same for its grants, and for its sends while none is later than the
jitter allowance (`RateLimit.jitter`); nothing
granted through a paused budget; callers of the same budgets served in arrival order; no wait
past ``max_wait``.
"""

from __future__ import annotations

import asyncio
import bisect
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.virtual_time import run_virtual

import exchange_async as ea
from exchange_async._core.limits import Budget, RateLimit, Scope
from exchange_async._core.limits.memory import MemoryLimiter

EPS = 1e-9


@dataclass
class Request:
    arrival: float
    account: int
    send_delay: float
    cancel_after: float | None
    max_wait: float | None


@dataclass
class Plan:
    margin: float
    accounts: list[tuple[int, float]]  # (max_requests, period) of each account's endpoint
    ip: tuple[int, float] | None
    requests: list[Request]
    penalties: list[tuple[float, int, float]]  # (at, account, seconds)


@dataclass
class Outcome:
    called: list[int] = field(default_factory=list)  # request ids in acquire-call order
    granted: list[tuple[int, float]] = field(default_factory=list)
    sent: dict[int, float] = field(default_factory=dict)
    timed_out: dict[int, float] = field(default_factory=dict)
    paused: list[tuple[float, float, int]] = field(default_factory=list)


requests = st.builds(
    Request,
    arrival=st.floats(0, 2, allow_nan=False),
    account=st.integers(0, 2),
    send_delay=st.one_of(st.just(0.0), st.floats(0, 0.3)),
    cancel_after=st.one_of(st.none(), st.floats(0, 0.6)),
    max_wait=st.one_of(st.none(), st.floats(0, 1.5)),
)
plans = st.builds(
    Plan,
    margin=st.sampled_from([0.0, 0.01, 0.05, 0.2]),
    accounts=st.lists(
        st.tuples(st.integers(1, 6), st.sampled_from([0.1, 0.5, 1.0])), min_size=3, max_size=3
    ),
    ip=st.one_of(
        st.none(),
        st.tuples(st.integers(2, 12), st.sampled_from([0.5, 1.0])),
        st.sampled_from([(40, 6.0), (200, 60.0), (30, 3.0)]),  # long windows: a burst
    ),
    requests=st.lists(requests, min_size=1, max_size=40),
    penalties=st.lists(
        st.tuples(st.floats(0, 2), st.integers(0, 2), st.floats(0, 0.5)), max_size=3
    ),
)


def budgets_of(plan: Plan, account: int) -> list[Budget]:
    n, period = plan.accounts[account]
    own = Budget(
        "s", RateLimit(f"own{account}", n, period, Scope.ENDPOINT), str(account), plan.margin
    )
    if plan.ip is None:
        return [own]
    return [own, Budget("s", RateLimit("ip", *plan.ip, Scope.IP), "ip", plan.margin)]


async def simulate(plan: Plan) -> Outcome:
    limiter = MemoryLimiter()
    loop = asyncio.get_running_loop()
    group = limiter.wait_group()
    out = Outcome()
    tasks: list[asyncio.Task[None]] = []  # requests and penalties

    async def one(i: int, request: Request) -> None:
        out.called.append(i)
        try:
            permit = await limiter.acquire(
                budgets_of(plan, request.account), max_wait=request.max_wait, group=group
            )
        except ea.RateLimitWaitTimeout:
            out.timed_out[i] = loop.time()
            return
        out.granted.append((i, loop.time()))
        try:
            if request.send_delay:
                await asyncio.sleep(request.send_delay)
            permit.sent()
            out.sent[i] = loop.time()
        finally:
            permit.release()

    def arrive(i: int, request: Request) -> None:
        task = loop.create_task(one(i, request))
        tasks.append(task)
        if request.cancel_after is not None:
            loop.call_later(request.cancel_after, task.cancel)

    def penalize(account: int, seconds: float) -> None:
        out.paused.append((loop.time(), loop.time() + seconds, account))
        tasks.append(loop.create_task(limiter.penalize(budgets_of(plan, account)[:1], seconds)))

    for i, request in enumerate(plan.requests):
        loop.call_at(request.arrival, arrive, i, request)
    for at, account, seconds in plan.penalties:
        loop.call_at(at, penalize, account, seconds)
    await asyncio.sleep(3)
    while tasks:  # a minute-long window may hold the last ones a while
        await asyncio.gather(*tasks, return_exceptions=True)
        tasks = [t for t in tasks if not t.done()]
    return out


def assert_spacing(times: list[float], budget: Budget) -> None:
    """Any N + 1 starts span at least ``N * interval - tolerance`` (GCRA)."""
    n = budget.limit.max_requests
    times = sorted(times)
    for k in range(len(times) - n):
        assert times[k + n] - times[k] >= n * budget.interval - budget.tolerance - EPS, (k, times)


def assert_window(times: list[float], budget: Budget) -> None:
    """No sliding window of W (half-open, as a server counts) holds more than N: checked from
    each send, the worst windows."""
    n, window = budget.limit.max_requests, budget.limit.period
    times = sorted(times)
    for i, t in enumerate(times):
        assert bisect.bisect_left(times, t + window - EPS) - i <= n, (t, times)


def check(plan: Plan, out: Outcome) -> None:
    for account in range(3):
        ids = [i for i, r in enumerate(plan.requests) if r.account == account]
        own = budgets_of(plan, account)[0]
        assert_spacing([out.sent[i] for i in ids if i in out.sent], own)  # late sends chained
        assert_window([out.sent[i] for i in ids if i in out.sent], own)
        # Callers of the same budgets are served in the order they called.
        granted = [i for i, _ in out.granted if plan.requests[i].account == account]
        called = [i for i in out.called if i in set(granted)]
        assert granted == called
        for start, end, paused in out.paused:
            if paused == account:
                assert not [t for i, t in out.granted if i in ids and start + EPS < t < end - EPS]
    if plan.ip is not None:  # a shared budget: its grants; its sends if none later than J
        ip = budgets_of(plan, 0)[1]
        assert_spacing([t for i, t in out.granted if i in out.sent], ip)  # not given back
        if max(r.send_delay for r in plan.requests) < ip.limit.jitter(plan.margin) - EPS:
            assert_window(list(out.sent.values()), ip)
    for i, t in [*out.granted, *out.timed_out.items()]:
        request = plan.requests[i]
        if request.max_wait is not None:
            assert t <= request.arrival + request.max_wait + EPS


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans)
def test_the_promise_holds_for_any_schedule(plan: Plan) -> None:
    check(plan, run_virtual(simulate(plan)))
