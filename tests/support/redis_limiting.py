"""What the Redis limiter's tests share: budgets of test limits, two limiters on one redis-server
standing for two processes (the ``pair`` fixture), and reserving slots the way a client does.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator

import pytest

from exchange_async._core.limits import (
    Budget,
    RateLimit,
    Scope,
)
from exchange_async._core.limits.redis import RedisLimiter, RedisPermit
from support.redis_server import RedisServer

FAST = RateLimit("/fast", 10, 0.1, Scope.ENDPOINT)  # interval 10.5 ms, catch-up 2 ms


IP = RateLimit("ip", 6000, 60.0, Scope.IP)  # interval 10.5 ms, catch-up 2 ms


def budget(limit: RateLimit = FAST, owner: str = "key:a") -> Budget:
    return Budget("http://s", limit, owner, 0.05)


@pytest.fixture
async def pair(redis_server: RedisServer) -> AsyncIterator[tuple[RedisLimiter, RedisLimiter]]:
    one, two = RedisLimiter(redis_server.url), RedisLimiter(redis_server.url)
    yield one, two
    await one.aclose()
    await two.aclose()


async def reserve(limiter: RedisLimiter, budgets: list[Budget], n: int) -> list[RedisPermit]:
    group = limiter.wait_group()

    async def one() -> RedisPermit:
        permit = await limiter.acquire(budgets, max_wait=None, group=group)
        assert isinstance(permit, RedisPermit)
        # These tests check the schedule Redis hands out; a start the test machine's load
        # makes late is the subject of the tests at the end, not of these.
        permit.tolerance = math.inf
        assert permit.sent() is None
        return permit

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def warm_up(pair: tuple[RedisLimiter, RedisLimiter]) -> None:
    """Open each limiter's connections first, so every call reaches Redis within a slot."""
    for i, limiter in enumerate(pair):
        await reserve(limiter, [budget(owner=f"warm-{i}-{j}") for j in range(1)], 8)


def gaps(permits: list[RedisPermit]) -> list[int]:
    starts = sorted(p.start_us for p in permits)
    return [b - starts[0] for b in starts]


TWO_PER_S = RateLimit("/two", 2, 1.0, Scope.ENDPOINT)  # interval 525 ms, tolerance 25 ms


async def share_two_per_s(pair: tuple[RedisLimiter, RedisLimiter]) -> None:
    """Open both limiters' connections and let both reserve on `TWO_PER_S`: each then counts
    the other as a sharer of the account (its heartbeat), so its late starts take new slots."""
    await warm_up(pair)
    for limiter in pair:
        await reserve(limiter, [budget(TWO_PER_S)], 1)
