"""The shared limiter against a real redis-server: exact schedules on Redis's clock, shared
pauses, re-dated late sends, give-backs, and the fallback when Redis goes away.

Two `RedisLimiter` instances stand for two processes (each has its own process id and state).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from support.redis_limiting import IP, budget, gaps, pair, reserve, warm_up
from support.redis_server import RedisServer, redis_server
from support.waiting import RedisKeys, until

import exchange_async as ea
from exchange_async._core.limits import (
    Limiter,
    RateLimit,
    Scope,
    limiter_for,
    release_limiter,
)
from exchange_async._core.limits.memory import MemoryLimiter
from exchange_async._core.limits.redis import RedisLimiter, RedisPermit

__all__ = ["pair", "redis_server"]  # fixtures, re-exported: ruff keeps the imports


@pytest.fixture
async def schedule(redis_server: RedisServer) -> AsyncIterator[RedisKeys]:
    """The endpoint budgets' keys on Redis, to wait for a reservation or a re-date to land."""
    keys = RedisKeys(redis_server.url, "ea:*:ENDPOINT")
    yield keys
    await keys.aclose()


async def test_redis_limiter_is_a_limiter(pair: tuple[RedisLimiter, RedisLimiter]) -> None:
    limiter: Limiter = pair[0]
    assert limiter.wait_group() is not None


async def test_the_schedule_is_exact_on_redis_clock(
    pair: tuple[RedisLimiter, RedisLimiter],
) -> None:
    one, two = pair
    await warm_up(pair)
    permits = await asyncio.gather(reserve(one, [budget()], 3), reserve(two, [budget()], 3))
    # Six starts from two "processes", one schedule: 10.5 ms apart, each allowed 1.25 ms
    # early (the catch-up allowance: at most a quarter of the 5 ms margin).
    assert gaps([*permits[0], *permits[1]]) == [0, 9250, 19750, 30250, 40750, 51250]


async def test_a_queue_deeper_than_the_horizon_keeps_its_order_and_slots(
    pair: tuple[RedisLimiter, RedisLimiter],
) -> None:
    # 5 per 0.5 s: 105 ms apart. Slots more than 1 s ahead are handed out at once (the caller
    # keeps its place) and confirmed when within 1 s: same schedule, same order.
    one, two = pair
    await warm_up(pair)
    paced = budget(RateLimit("/paced", 5, 0.5, Scope.ENDPOINT))
    first = asyncio.ensure_future(reserve(one, [paced], 7))
    await asyncio.sleep(0.1)  # all of one's reservations reach Redis first (a loaded machine)
    second = await reserve(two, [paced], 6)
    permits = [*await first, *second]
    assert gaps(permits) == [0, *(103_000 + 105_000 * k for k in range(12))]
    assert max(p.start_us for p in permits[:7]) < min(p.start_us for p in second)


async def test_a_shared_budget_is_taken_only_once_the_account_slot_came(
    pair: tuple[RedisLimiter, RedisLimiter],
) -> None:
    # Account a queues 6 requests (10.5 ms apart); account b, in another process, asks once
    # after them: its request does not wait behind a's queue in the shared IP budget.
    one, two = pair
    await warm_up(pair)
    busy = asyncio.ensure_future(reserve(one, [budget(owner="key:a"), budget(IP, "ip")], 6))
    await asyncio.sleep(0.005)
    (b,) = await reserve(two, [budget(owner="key:b"), budget(IP, "ip")], 1)
    a = await busy
    assert gaps(a)[-1] >= 5 * 9250  # a keeps its own spacing
    assert b.start_us - min(p.start_us for p in a) < 30_000  # b went at once, beside a's queue


async def test_accounts_take_turns_at_a_busy_shared_budget_on_redis(
    pair: tuple[RedisLimiter, RedisLimiter],
) -> None:
    # The IP budget (10 per 0.1 s, no burst) is the bottleneck for two accounts of 50 per
    # 0.1 s each, in two processes: their starts alternate.
    one, two = pair
    await warm_up(pair)
    own = RateLimit("/own", 50, 0.1, Scope.ENDPOINT)
    tight = RateLimit("tight-ip", 10, 0.1, Scope.IP)
    a, b = await asyncio.gather(
        reserve(one, [budget(own, "key:a"), budget(tight, "ip")], 6),
        reserve(two, [budget(own, "key:b"), budget(tight, "ip")], 6),
    )
    order = [
        who for _, who in sorted([(p.start_us, "a") for p in a] + [(p.start_us, "b") for p in b])
    ]
    # Neither account waits for the other's whole queue: at most two in a row.
    assert "aaa" not in "".join(order) and "bbb" not in "".join(order), order
    starts = gaps([*a, *b])
    assert min(y - x for x, y in itertools.pairwise(starts)) >= 10_500 - 1_250  # the IP spacing


async def test_another_egress_group_has_its_own_ip_budget(redis_server: RedisServer) -> None:
    here = RedisLimiter(redis_server.url, egress_group="host-a")
    also_here = RedisLimiter(redis_server.url, egress_group="host-a")
    there = RedisLimiter(redis_server.url, egress_group="host-b")
    ip = budget(RateLimit("ip", 1, 10.0, Scope.IP), "ip")  # one per 10.5 s
    try:
        await reserve(here, [ip], 1)
        await reserve(there, [ip], 1)  # its own budget: at once
        with pytest.raises(ea.RateLimitWaitTimeout):  # the same group's: ~10 s away
            await also_here.acquire([ip], max_wait=1.0, group=also_here.wait_group())
    finally:
        for limiter in (here, also_here, there):
            await limiter.aclose()


async def test_max_wait_refuses_at_once_and_spends_nothing(
    pair: tuple[RedisLimiter, RedisLimiter],
) -> None:
    one, two = pair
    slow = budget(RateLimit("/slow", 1, 1.0, Scope.ENDPOINT))
    first = await reserve(one, [slow], 1)
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(ea.RateLimitWaitTimeout):
        await two.acquire([slow], max_wait=0.2, group=two.wait_group())
    assert loop.time() - began < 0.15
    permit = await two.acquire([slow], max_wait=2.0, group=two.wait_group())
    assert isinstance(permit, RedisPermit)
    assert permit.start_us - first[0].start_us == 1_048_000  # the slot after the first


async def test_a_pause_written_by_one_process_holds_the_other(
    pair: tuple[RedisLimiter, RedisLimiter],
) -> None:
    one, two = pair
    (first,) = await reserve(one, [budget()], 1)
    await one.penalize([budget()], 0.3)
    (second,) = await reserve(two, [budget()], 1)
    assert second.start_us - first.start_us >= 300_000


async def test_a_pause_holds_this_process_queued_waiters_too(
    pair: tuple[RedisLimiter, RedisLimiter], schedule: RedisKeys
) -> None:
    one, _ = pair
    loop = asyncio.get_running_loop()
    slow = budget(RateLimit("/slow", 1, 0.2, Scope.ENDPOINT))  # 210 ms apart
    await reserve(one, [slow], 1)
    await schedule.snapshot()
    waiter = asyncio.ensure_future(reserve(one, [slow], 1))  # due in ~208 ms
    await schedule.changed("the waiter's reservation reached Redis")
    paused_at = loop.time()
    await one.penalize([slow], 0.4)
    await waiter
    assert loop.time() - paused_at >= 0.4 - 0.01


async def test_a_late_send_moves_the_next_reservation(
    pair: tuple[RedisLimiter, RedisLimiter], schedule: RedisKeys
) -> None:
    one, two = pair
    permit = await one.acquire([budget()], max_wait=None, group=one.wait_group())
    assert isinstance(permit, RedisPermit)
    await asyncio.sleep(0.2)  # the subject: a send 200 ms after its slot
    await schedule.snapshot()
    permit.sent()  # fire-and-forget re-date
    await schedule.changed("the late send re-dated on Redis")
    (second,) = await reserve(two, [budget()], 1)
    assert second.start_us - permit.start_us >= 200_000 + 10_500 - 2_000


async def test_a_late_send_holds_this_process_next_requests(
    pair: tuple[RedisLimiter, RedisLimiter],
) -> None:
    # The first request waits 0.3 s for a connection after its slot: the next one of this
    # process, reserved for 10.5 ms later, waits for it and starts an interval after it left.
    one, _ = pair
    loop = asyncio.get_running_loop()
    first = await one.acquire([budget()], max_wait=None, group=one.wait_group())
    second = asyncio.ensure_future(reserve(one, [budget()], 1))
    await asyncio.sleep(0.3)
    assert not second.done()
    first.sent()
    sent_at = loop.time()
    await second
    assert loop.time() - sent_at >= 0.0105 - 0.00125 - 1e-4


async def test_an_unsent_release_gives_the_slot_back(
    pair: tuple[RedisLimiter, RedisLimiter], schedule: RedisKeys
) -> None:
    one, two = pair
    slow = budget(RateLimit("/slow", 1, 0.2, Scope.ENDPOINT))  # 210 ms apart, 2 ms catch-up
    (first,) = await reserve(one, [slow], 1)
    await schedule.snapshot()
    waiter = asyncio.ensure_future(one.acquire([slow], max_wait=None, group=one.wait_group()))
    await schedule.changed("the waiter's reservation reached Redis")
    waiter.cancel()  # the last reservation: its slot comes back
    await schedule.changed("the cancelled reservation's slot came back")
    (again,) = await reserve(two, [slow], 1)
    assert again.start_us - first.start_us == 208_000


async def test_closing_a_group_fails_its_waiters_at_once(
    pair: tuple[RedisLimiter, RedisLimiter], schedule: RedisKeys
) -> None:
    one, _ = pair
    slow = budget(RateLimit("/slow", 1, 1.0, Scope.ENDPOINT))
    await reserve(one, [slow], 1)
    group = one.wait_group()
    await schedule.snapshot()
    waiter = asyncio.ensure_future(one.acquire([slow], max_wait=None, group=group))
    await schedule.changed("the waiter's reservation reached Redis")
    loop = asyncio.get_running_loop()
    began = loop.time()
    group.close()
    with pytest.raises(ea.ClientClosedError):
        await waiter
    assert loop.time() - began < 0.1
    with pytest.raises(ea.ClientClosedError):
        await one.acquire([slow], max_wait=None, group=group)


async def test_keys_are_hash_tagged_per_account_and_expire(
    pair: tuple[RedisLimiter, RedisLimiter], redis_server: RedisServer
) -> None:
    await reserve(pair[0], [budget(owner="key:a"), budget(IP, "ip")], 1)
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        found = await client.keys("*")
        keys = sorted(k.decode() if isinstance(k, bytes) else k for k in found)
        ip = "ea:{http://s|ip@" + pair[0].egress_group + "}"
        assert keys == [
            f"{ip}:epoch",
            f"{ip}:ip:IP",
            f"{ip}:procs",
            "ea:{http://s|key:a}:/fast:ENDPOINT",
            "ea:{http://s|key:a}:epoch",
            "ea:{http://s|key:a}:procs",
        ]
        ttls = {k: await client.pttl(k) for k in keys}
        assert all(0 < ttl < 70_000 for k, ttl in ttls.items() if ":epoch" not in k), ttls
        # An epoch outlives its budgets by a day: it tells a restart from an idle account.
        assert all(0 < ttl <= 86_400_000 for k, ttl in ttls.items() if ":epoch" in k), ttls
    finally:
        await client.aclose()


async def test_limiter_for_picks_the_backend(redis_server: RedisServer) -> None:
    memory, shared = limiter_for(None), limiter_for(redis_server.url)
    assert limiter_for(redis_server.url) is shared
    own = MemoryLimiter()
    assert limiter_for(own) is own
    for bad in ("http://x", 42):
        with pytest.raises(ea.ValidationError):
            limiter_for(bad)  # type: ignore[arg-type]
    # Both resolved limiters work on the running loop (and were made without one).
    for limiter in (memory, shared):
        group = limiter.wait_group()
        permit = await limiter.acquire([budget(owner="key:lf")], max_wait=1.0, group=group)
        permit.sent()
        permit.release()
    await release_limiter(shared)
    await release_limiter(shared)  # the last user closes it
    assert limiter_for(redis_server.url) is not shared
    await release_limiter(limiter_for(redis_server.url))
    await release_limiter(memory)  # nothing to close


def test_limiter_for_needs_no_running_loop() -> None:
    limiter = limiter_for(None)
    group = limiter.wait_group()

    async def use() -> None:
        permit = await limiter.acquire([budget(owner="key:nl")], max_wait=None, group=group)
        permit.release()

    asyncio.run(use())
    asyncio.run(use())  # another loop, same limiter object


async def test_callers_cancelled_inside_a_redis_call_end_cancelled(
    redis_server: RedisServer,
) -> None:
    # redis-py writes through `asyncio.wait_for`, which on Python 3.11 returns the result and
    # drops a cancellation that lands as the write completes. Cancelling hundreds of callers
    # at once (as `Poller.aclose` does) hit that for most of them: they went on polling and
    # the poller never closed.
    limiter = RedisLimiter(redis_server.url)
    group = limiter.wait_group()
    roomy = RateLimit("/roomy", 100_000, 1.0, Scope.ENDPOINT)

    calls = [0] * 200

    async def caller(i: int) -> None:
        task = asyncio.current_task()
        assert task is not None
        while not task.cancelling():  # a swallowed cancellation ends the loop: not cancelled
            permit = await limiter.acquire([budget(roomy, f"key:{i}")], max_wait=None, group=group)
            permit.sent()
            calls[i] += 1

    callers = [asyncio.create_task(caller(i)) for i in range(200)]
    # Every caller in its loop of Redis calls (each made one): then cancel them all at once.
    await until(lambda: min(calls) >= 1, "every caller making calls", timeout=30.0)
    for task in callers:
        task.cancel()
    await asyncio.wait(callers, timeout=5)
    await limiter.aclose()
    survivors = [task for task in callers if not task.cancelled()]
    assert not survivors, [task.exception() if task.done() else task for task in survivors[:3]]


PACED = RateLimit("/paced", 5, 1.0, Scope.ENDPOINT)  # 210 ms apart, tolerance 2 ms


async def test_an_emptied_redis_is_found_and_every_budget_held_one_window(
    redis_server: RedisServer,
) -> None:
    # Redis loses everything (FLUSHALL stands for a restart without persistence): the epoch
    # this process saw is gone, so the account's budget is held one window after the loss
    # and this process carries its own sends back.
    limiter = RedisLimiter(redis_server.url)
    client = aioredis.Redis.from_url(redis_server.url)
    loop = asyncio.get_running_loop()
    try:
        budgets = [budget(PACED, "key:e"), budget(IP, "ip")]
        await reserve(limiter, budgets, 3)  # sent at 0, 210, 420 ms
        await client.flushall()
        started = loop.time()
        (permit,) = await reserve(limiter, budgets, 1)
        assert loop.time() - started >= 5 * 0.21 - 0.002 - 0.05  # held a window (less RTT)
        await asyncio.sleep(0.3)
        assert limiter.carried >= 1
        assert permit.start_us > 0
    finally:
        await client.aclose()
        await limiter.aclose()


async def test_a_replica_that_missed_writes_is_found_by_the_epoch_counter(
    redis_server: RedisServer,
) -> None:
    # A failover to a replica that missed the last writes: same epoch id, its write counter
    # behind what this process saw, the account's slot forgotten. The budget is held.
    limiter = RedisLimiter(redis_server.url)
    client = aioredis.Redis.from_url(redis_server.url)
    loop = asyncio.get_running_loop()
    try:
        budgets = [budget(PACED, "key:f")]
        await reserve(limiter, budgets, 2)
        tag = "ea:{http://s|key:f}"
        await client.hset(f"{tag}:epoch", "seq", 0)
        await client.delete(f"{tag}:/paced:ENDPOINT")
        started = loop.time()
        await reserve(limiter, budgets, 1)
        assert loop.time() - started >= 5 * 0.21 - 0.002 - 0.05
    finally:
        await client.aclose()
        await limiter.aclose()
