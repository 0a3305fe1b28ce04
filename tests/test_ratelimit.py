"""The limiter's promise, checked on the start times it hands out (the server-side view is
checked against the simulator in test_bitget_client / test_coinw_client)."""

from __future__ import annotations

import asyncio
import bisect

import pytest
from aiolimiter import AsyncLimiter

import exchange_async as ea
from exchange_async._core.ratelimit import (
    Bucket,
    LimiterRegistry,
    RateLimit,
    Scope,
    acquire,
    registry_for_running_loop,
)


def max_in_window(times: list[float], window: float) -> int:
    """Most starts inside any half-open window [t, t + window)."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + window) - i for i, t in enumerate(times)), default=0)


def bucket(
    limit: int, period: float, margin: float = 0.05, scope: Scope = Scope.ENDPOINT
) -> Bucket:
    """A bucket exactly as the registry makes it (catch-up allowance included)."""
    return LimiterRegistry().bucket("test", RateLimit("test", limit, period, scope), "a", margin)


async def start(buckets: list[Bucket], max_wait: float | None = None) -> None:
    """One request start: acquire, then the request leaves at once."""
    reservation = await acquire(buckets, max_wait=max_wait)
    reservation.sent()


async def starts(buckets: list[Bucket], n: int) -> list[float]:
    loop = asyncio.get_running_loop()
    out: list[float] = []

    async def one() -> None:
        reservation = await acquire(buckets)
        out.append(loop.time())
        reservation.sent()

    await asyncio.gather(*(one() for _ in range(n)))
    return out


async def test_naive_aiolimiter_bursts_past_the_limit() -> None:
    # Why the SDK does not use AsyncLimiter(N, W): it starts full and lets 2N - 1 through.
    limiter = AsyncLimiter(5, 0.5)
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def one() -> None:
        await limiter.acquire()
        times.append(loop.time())

    await asyncio.gather(*(one() for _ in range(12)))
    assert max_in_window(times, 0.5) >= 9


async def test_single_bucket_keeps_the_limit_and_the_pace() -> None:
    times = await starts([bucket(5, 0.5)], 31)
    assert max_in_window(times, 0.5) <= 5
    # 30 intervals of 0.5 * 1.05 / 5 = 0.105 s: never faster, and not much slower.
    elapsed = max(times) - min(times)
    assert 30 * 0.105 * 0.98 <= elapsed <= 30 * 0.105 + 1.0


async def test_zero_margin_is_exactly_the_limit() -> None:
    times = await starts([bucket(4, 0.4, margin=0.0)], 13)
    assert max_in_window(times, 0.4) <= 4
    assert max(times) - min(times) == pytest.approx(12 * 0.1, abs=0.2)


async def test_shared_wide_bucket_does_not_let_narrow_ones_burst() -> None:
    # Four accounts (5 per 0.5 s each) behind one shared "IP" bucket of 8 per 0.5 s: the IP
    # bucket is the bottleneck, so requests queue on it while holding their account token.
    ip = bucket(8, 0.5, scope=Scope.IP)
    accounts = [bucket(5, 0.5) for _ in range(4)]
    results = await asyncio.gather(*(starts([a, ip], 12) for a in accounts))
    for times in results:
        assert max_in_window(times, 0.5) <= 5
    assert max_in_window([t for times in results for t in times], 0.5) <= 8


async def test_narrow_bucket_does_not_burst_behind_a_busy_wide_one() -> None:
    # Other accounts fill the shared bucket's queue first. Account tokens must not pile up
    # meanwhile: when the queue drains they would all start together.
    ip = bucket(40, 0.5, scope=Scope.IP)
    account = bucket(5, 0.5)
    flood = asyncio.create_task(starts([ip], 30))
    await asyncio.sleep(0)
    times = await starts([account, ip], 12)
    await flood
    assert max_in_window(times, 0.5) <= 5


async def test_a_late_send_pushes_the_next_start_back() -> None:
    # A request that waits 0.3 s for its connection after its start was recorded must not
    # leave together with the next one: the account's next start counts from the real send.
    b = bucket(5, 0.5)  # interval 0.105 s
    loop = asyncio.get_running_loop()
    first = await acquire([b])
    second = asyncio.create_task(start([b]))
    await asyncio.sleep(0.3)
    assert not second.done()  # held back while the first has not left
    first.sent()
    sent_at = loop.time()
    await second
    assert loop.time() - sent_at >= 0.1


async def test_release_without_sending_frees_the_account() -> None:
    b = bucket(50, 1.0)
    reservation = await acquire([b])
    reservation.release()
    reservation.release()  # idempotent
    await asyncio.wait_for(start([b]), 1.0)


async def test_ip_scope_locks_are_not_held_until_sent() -> None:
    ip = bucket(100, 1.0, scope=Scope.IP)
    a, other = bucket(5, 1.0), bucket(5, 1.0)
    held = await acquire([a, ip])  # not sent yet: a's lock stays held, ip's does not
    await asyncio.wait_for(start([other, ip]), 1.0)
    held.release()


async def test_pause_holds_every_start_until_it_ends() -> None:
    b = bucket(10, 1.0)
    loop = asyncio.get_running_loop()
    await start([b])
    began = loop.time()
    b.pause(0.3)
    await start([b])
    assert loop.time() - began >= 0.29


async def test_max_wait_raises_instead_of_queueing() -> None:
    b = bucket(1, 1.0)
    await start([b])
    with pytest.raises(ea.RateLimitWaitTimeout):
        await start([b], max_wait=0.05)
    # The timed-out waiter consumed nothing: the next slot is still ~1 s after the first.
    loop = asyncio.get_running_loop()
    t = loop.time()
    await start([b])
    assert loop.time() - t < 1.1


async def test_cancelled_waiters_do_not_stall_the_queue() -> None:
    b = bucket(20, 1.0)
    waiters = [asyncio.create_task(start([b])) for _ in range(5)]
    await asyncio.sleep(0.01)
    for task in waiters[1:4]:
        task.cancel()
    done = await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), 2)
    assert sum(isinstance(r, asyncio.CancelledError) for r in done) == 3


async def test_registry_shares_buckets_by_server_limit_and_account() -> None:
    registry = LimiterRegistry()
    own = RateLimit("/x", 5, 1.0, Scope.ENDPOINT)
    ip = RateLimit("ip", 100, 1.0, Scope.IP)
    a1 = registry.buckets_for("http://s", [ip, own], ["acct-1"], 0.05)
    a1_again = registry.buckets_for("http://s", [own, ip], ["acct-1"], 0.05)
    a2 = registry.buckets_for("http://s", [own, ip], ["acct-2"], 0.05)
    other_server = registry.buckets_for("http://t", [own, ip], ["acct-1"], 0.05)
    assert a1 == a1_again
    assert a1[0].scope is Scope.ENDPOINT  # narrowest first, whatever the declared order
    assert a1[0] is not a2[0]
    assert a1[1] is a2[1]  # one IP budget for every account
    assert other_server[0] is not a1[0]
    # A client that also knows the UID passes the key's bucket and the UID's.
    both = registry.buckets_for("http://s", [own, ip], ["acct-1", "uid:9"], 0.05)
    assert a1[0] in both
    assert len(both) == 3


async def test_one_registry_per_event_loop() -> None:
    assert registry_for_running_loop() is registry_for_running_loop()
