"""In-process budgets carried from one event loop to the next (`limits.carry`).

A sync program that calls ``asyncio.run()`` again and again must not start each run with a
full budget; a loop with its own clock (the virtual clock of these tests) keeps its own.
"""

from __future__ import annotations

import asyncio

from support.virtual_time import run_virtual

from exchange_async._core.limits import Budget, RateLimit, Scope
from exchange_async._core.limits.carry import memory_limiter_for_running_loop
from exchange_async._core.limits.memory import MemoryLimiter

OWN = RateLimit("/carried", 5, 0.5, Scope.ENDPOINT)


def _key(budget: Budget) -> tuple[str, str, Scope, str]:
    return (budget.server, OWN.name, OWN.scope, budget.owner)


async def _take(budget: Budget, n: int) -> tuple[MemoryLimiter, float, float]:
    """``n`` starts through ``budget`` on the running loop's limiter: it, the budget's next
    slot and its tolerance (seconds, loop time)."""
    limiter = memory_limiter_for_running_loop()
    group = limiter.wait_group()
    for _ in range(n):
        permit = await limiter.acquire([budget], max_wait=None, group=group)
        permit.sent()
        permit.release()
    state = limiter._states[_key(budget)]
    return limiter, state.tat, state.tolerance


def test_a_new_asyncio_run_starts_where_the_last_one_left_the_budget() -> None:
    budget = Budget("http://carry", OWN, "back-to-back", 0.05)
    first, tat, tolerance = asyncio.run(_take(budget, 4))

    async def second() -> tuple[MemoryLimiter, float, float]:
        limiter = memory_limiter_for_running_loop()
        carried = limiter._states[_key(budget)].tat  # before any sweep: where it starts from
        start = limiter.next_start([budget])
        return limiter, carried, start

    limiter, carried, start = asyncio.run(second())
    assert limiter is not first
    assert carried >= tat  # never earlier than where the last run left it
    assert start >= tat - tolerance  # its next start is the GCRA's, not a fresh budget's


def test_a_loop_with_its_own_clock_keeps_its_own_budgets() -> None:
    budget = Budget("http://carry", OWN, "own-clock", 0.05)
    asyncio.run(_take(budget, 4))  # a monotonic loop leaves a busy budget behind

    async def virtual() -> int:
        return len(memory_limiter_for_running_loop())

    assert run_virtual(virtual()) == 0
