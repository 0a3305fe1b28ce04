"""The in-process limiter on a controlled clock: exact schedules, and the promise as a property.

Every test runs on `VirtualTimeLoop` (time jumps to the next timer when the loop is idle), so a
schedule is asserted to the microsecond and a test takes milliseconds.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import subprocess
import sys

import pytest
from aiolimiter import AsyncLimiter
from support.virtual_time import run_virtual

import exchange_async as ea
from exchange_async._core.limits import Budget, Limiter, RateLimit, Scope, budgets_for
from exchange_async._core.limits.carry import memory_limiter_for_running_loop
from exchange_async._core.limits.memory import MemoryLimiter, MemoryWaitGroup
from exchange_async._core.transport import TransportRequest, TransportResponse
from exchange_async._core.transport.memory import MemoryTransport

OWN = RateLimit("/own", 5, 0.5, Scope.ENDPOINT)  # interval 0.105 s with a 5 % margin


IP = RateLimit("ip", 8, 0.5, Scope.IP)


def budget(limit: RateLimit = OWN, owner: str = "a", margin: float = 0.05) -> Budget:
    return Budget("http://s", limit, owner, margin)


async def starts(
    limiter: MemoryLimiter, budgets: list[Budget], n: int, group: MemoryWaitGroup | None = None
) -> list[float]:
    """``n`` concurrent requests that leave as soon as they may: their start times."""
    loop = asyncio.get_running_loop()
    group = group or limiter.wait_group()
    out: list[float] = []

    async def one() -> None:
        permit = await limiter.acquire(budgets, max_wait=None, group=group)
        out.append(loop.time())
        permit.sent()
        permit.release()

    await asyncio.gather(*(one() for _ in range(n)))
    return out


def test_memory_limiter_is_a_limiter() -> None:
    limiter: Limiter = MemoryLimiter()  # mypy checks the protocol
    assert len(MemoryLimiter()) == 0
    assert limiter is not None


def test_naive_aiolimiter_bursts_past_the_limit() -> None:
    # Why the SDK does not use AsyncLimiter(N, W): it starts full and lets 2N - 1 through.
    async def main() -> list[float]:
        limiter = AsyncLimiter(5, 0.5)
        loop = asyncio.get_running_loop()
        times: list[float] = []

        async def one() -> None:
            await limiter.acquire()
            times.append(loop.time())

        await asyncio.gather(*(one() for _ in range(12)))
        return times

    times = run_virtual(main())
    assert sum(t < 0.5 for t in times) >= 9


def test_queue_is_paced_at_the_interval_with_the_catch_up_allowance() -> None:
    # First at once, then every 105 ms, each allowed 2 ms early: N + 1 starts span N * I - 2 ms.
    times = run_virtual(starts(MemoryLimiter(), [budget()], 6))
    assert times == pytest.approx([0.0, 0.103, 0.208, 0.313, 0.418, 0.523], abs=1e-9)


def test_zero_margin_is_exactly_the_limit_without_catch_up() -> None:
    limit = RateLimit("/z", 4, 0.4, Scope.ENDPOINT)
    times = run_virtual(starts(MemoryLimiter(), [budget(limit, margin=0.0)], 6))
    assert times == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5], abs=1e-9)


def test_an_idle_budget_starts_at_once() -> None:
    async def main() -> list[float]:
        limiter = MemoryLimiter()
        first = await starts(limiter, [budget()], 1)
        await asyncio.sleep(1.0)
        return first + await starts(limiter, [budget()], 2)

    assert run_virtual(main()) == pytest.approx([0.0, 1.0, 1.103], abs=1e-9)


def test_accounts_take_turns_at_a_busy_shared_budget() -> None:
    # Two accounts behind one IP budget (8 per 0.5 s: 65.625 ms): the IP spacing rules, and
    # the accounts alternate (b does not wait behind a's queue, as it did when a request
    # reserved its IP slot together with its own).
    async def main() -> tuple[list[float], list[float]]:
        limiter = MemoryLimiter()
        a, b, ip = budget(owner="a"), budget(owner="b"), budget(IP, owner="ip")
        return await asyncio.gather(starts(limiter, [a, ip], 3), starts(limiter, [b, ip], 3))

    a_times, b_times = run_virtual(main())
    ip_i, cu = 0.5 * 1.05 / 8, 0.002
    merged = sorted([(t, "a") for t in a_times] + [(t, "b") for t in b_times])
    assert [who for _, who in merged] == ["a", "b"] * 3
    expected = [0.0] + [k * ip_i - cu for k in range(1, 6)]
    assert [t for t, _ in merged] == pytest.approx(expected, abs=1e-9)


def test_a_late_send_pushes_the_next_starts_back() -> None:
    # The first request leaves 0.3 s after its start (it waited for a connection): the next
    # start of the account counts from the real send, and the one after from that.
    async def main() -> list[float]:
        limiter = MemoryLimiter()
        loop = asyncio.get_running_loop()
        group = limiter.wait_group()
        first = await limiter.acquire([budget()], max_wait=None, group=group)
        later = asyncio.ensure_future(starts(limiter, [budget()], 2, group))
        await asyncio.sleep(0.3)
        assert not later.done()  # held back while the first has not left
        first.sent()
        times = await later
        assert loop.time() >= 0.3
        return times

    assert run_virtual(main()) == pytest.approx([0.403, 0.508], abs=1e-9)


def test_a_late_send_moves_the_schedule_for_newcomers_too() -> None:
    async def main() -> list[float]:
        limiter = MemoryLimiter()
        group = limiter.wait_group()
        first = await limiter.acquire([budget()], max_wait=None, group=group)
        await asyncio.sleep(0.5)
        first.sent()
        return await starts(limiter, [budget()], 1, group)

    assert run_virtual(main()) == pytest.approx([0.603], abs=1e-9)


def test_ip_budgets_do_not_wait_for_a_late_send() -> None:
    async def main() -> list[float]:
        limiter = MemoryLimiter()
        ip = budget(IP, owner="ip")
        held = await limiter.acquire(
            [budget(owner="a"), ip], max_wait=None, group=MemoryWaitGroup()
        )
        times = await starts(limiter, [budget(owner="b"), ip], 1)
        held.release()
        return times

    assert run_virtual(main()) == pytest.approx([0.5 * 1.05 / 8 - 0.002], abs=1e-9)


def test_release_without_sending_gives_the_slot_back() -> None:
    async def main() -> list[float]:
        limiter = MemoryLimiter()
        group = limiter.wait_group()
        permit = await limiter.acquire([budget()], max_wait=None, group=group)
        permit.release()
        permit.release()  # idempotent
        permit.sent()  # too late: ignored
        return await starts(limiter, [budget()], 2)

    assert run_virtual(main()) == pytest.approx([0.0, 0.103], abs=1e-9)


def test_pause_holds_every_start_and_queued_waiters_keep_their_order() -> None:
    async def main() -> list[tuple[int, float]]:
        limiter = MemoryLimiter()
        loop = asyncio.get_running_loop()
        group = limiter.wait_group()
        order: list[tuple[int, float]] = []

        async def one(i: int) -> None:
            permit = await limiter.acquire([budget()], max_wait=None, group=group)
            order.append((i, loop.time()))
            permit.sent()

        tasks = [asyncio.ensure_future(one(i)) for i in range(4)]
        await asyncio.sleep(0.15)  # 0 and 1 started (at 0 and 0.103)
        await limiter.penalize([budget()], 1.0)
        await asyncio.gather(*tasks)
        return order

    order = run_virtual(main())
    assert [i for i, _ in order] == [0, 1, 2, 3]
    assert [t for _, t in order] == pytest.approx([0.0, 0.103, 1.15, 1.253], abs=1e-9)


def test_max_wait_refuses_at_once_and_spends_nothing() -> None:
    async def main() -> float:
        limiter = MemoryLimiter()
        loop = asyncio.get_running_loop()
        group = limiter.wait_group()
        slow = budget(RateLimit("/slow", 1, 1.0, Scope.ENDPOINT))
        await starts(limiter, [slow], 1, group)
        with pytest.raises(ea.RateLimitWaitTimeout):
            await limiter.acquire([slow], max_wait=0.5, group=group)
        assert loop.time() == 0.0  # refused without waiting
        (t,) = await starts(limiter, [slow], 1, group)
        return t

    assert run_virtual(main()) == pytest.approx(1.048, abs=1e-9)  # 1.05 s - 2 ms, unchanged


def test_max_wait_bounds_a_wait_for_a_request_that_never_leaves() -> None:
    async def main() -> float:
        limiter = MemoryLimiter()
        loop = asyncio.get_running_loop()
        group = limiter.wait_group()
        await limiter.acquire([budget()], max_wait=None, group=group)  # never sent
        with pytest.raises(ea.RateLimitWaitTimeout):
            await limiter.acquire([budget()], max_wait=2.0, group=group)
        return loop.time()

    assert run_virtual(main()) == pytest.approx(2.0, abs=1e-9)


def test_closing_a_group_fails_its_waiters_at_once_and_gives_slots_back() -> None:
    async def main() -> None:
        limiter = MemoryLimiter()
        loop = asyncio.get_running_loop()
        closing, other = limiter.wait_group(), limiter.wait_group()
        await starts(limiter, [budget()], 1, closing)
        waiters = [
            asyncio.ensure_future(limiter.acquire([budget()], max_wait=None, group=closing))
            for _ in range(3)
        ]
        await asyncio.sleep(0.01)
        closing.close()
        results = await asyncio.gather(*waiters, return_exceptions=True)
        assert all(isinstance(r, ea.ClientClosedError) for r in results)
        assert loop.time() == pytest.approx(0.01)
        with pytest.raises(ea.ClientClosedError):
            await limiter.acquire([budget()], max_wait=None, group=closing)
        # The three slots came back: another client starts at the first free one.
        assert await starts(limiter, [budget()], 1, other) == pytest.approx([0.103])

    run_virtual(main())


def test_cancelled_waiters_give_back_what_they_can_and_do_not_stall_the_queue() -> None:
    async def main() -> list[float]:
        limiter = MemoryLimiter()
        loop = asyncio.get_running_loop()
        group = limiter.wait_group()
        times: dict[int, float] = {}

        async def one(i: int) -> None:
            permit = await limiter.acquire([budget()], max_wait=None, group=group)
            times[i] = loop.time()
            permit.sent()

        tasks = [asyncio.ensure_future(one(i)) for i in range(5)]
        await asyncio.sleep(0.01)
        for i in (1, 4):  # a slot in the middle stays spent; the last one comes back
            tasks[i].cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        times[5] = (await starts(limiter, [budget()], 1, group))[0]
        return [times[i] for i in sorted(times)]

    assert run_virtual(main()) == pytest.approx([0.0, 0.208, 0.313, 0.418], abs=1e-9)


def test_budgets_are_shared_by_server_limit_and_owner_with_the_first_margin() -> None:
    async def main() -> None:
        limiter = memory_limiter_for_running_loop()
        assert limiter is memory_limiter_for_running_loop()
        (first,) = await starts(limiter, [budget(owner="a", margin=0.05)], 1)
        (same,) = await starts(limiter, [budget(owner="a", margin=0.5)], 1)  # shares a's
        (other,) = await starts(limiter, [budget(owner="b")], 1)
        (elsewhere,) = await starts(limiter, [Budget("http://t", OWN, "a", 0.05)], 1)
        # other owner, other server: not held back (they start at once, at 0.103)
        assert (first, same, other, elsewhere) == pytest.approx((0.0, 0.103, 0.103, 0.103))

    run_virtual(main())


def test_budgets_for_orders_narrowest_first_and_one_ip_budget() -> None:
    both = budgets_for("http://s", [IP, OWN], ["uid:9", "key:1"], 0.05)
    assert [(b.scope, b.owner) for b in both] == [
        (Scope.ENDPOINT, "key:1"),
        (Scope.ENDPOINT, "uid:9"),
        (Scope.IP, "ip"),
    ]


def test_idle_budgets_are_dropped() -> None:
    async def main() -> None:
        limiter = MemoryLimiter()
        for owner in range(50):
            await starts(limiter, [budget(owner=f"k{owner}")], 2)
        assert len(limiter) == 50
        await asyncio.sleep(60)
        await starts(limiter, [budget(owner="fresh")], 1)
        assert len(limiter) == 1

    run_virtual(main())


def test_one_limiter_per_loop_across_asyncio_runs() -> None:
    async def main() -> tuple[int, list[float]]:
        limiter = memory_limiter_for_running_loop()
        return id(limiter), await starts(limiter, [budget()], 2)

    first_id, first = asyncio.run(main())
    gc.collect()
    _, second = asyncio.run(main())  # a new loop: works, from the budgets left (`carry`)
    assert len(first) == len(second) == 2
    assert first_id != 0


def test_an_account_does_not_burst_behind_a_busy_shared_budget() -> None:
    # Other accounts fill the shared IP queue first; this account's starts must still keep
    # its own spacing when the queue drains (its own slots are reserved with the IP ones).
    async def main() -> list[float]:
        limiter = MemoryLimiter()
        ip = budget(RateLimit("ip", 40, 0.5, Scope.IP), owner="ip")
        flood = asyncio.gather(
            *(starts(limiter, [budget(owner=f"o{i}"), ip], 1) for i in range(30))
        )
        for _ in range(3):  # let the flood queue up first
            await asyncio.sleep(0)
        mine = await starts(limiter, [budget(owner="me"), ip], 12)
        await flood
        return mine

    times = run_virtual(main())
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.103 - 1e-9
    assert times[0] == pytest.approx(30 * 0.5 * 1.05 / 40 - 0.002, abs=1e-9)


def test_importing_the_sdk_does_not_import_redis() -> None:
    code = "import sys, exchange_async; assert 'redis' not in sys.modules, 'redis imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_free_slot_returns_without_suspending_or_a_timer() -> None:
    async def main() -> None:
        limiter = MemoryLimiter()
        ip = budget(RateLimit("ip", 6000, 60.0, Scope.IP), owner="ip")
        for owner in range(20):  # the per-IP burst lets 20 accounts start at once
            coro = limiter.acquire([budget(owner=f"o{owner}"), ip], max_wait=None, group=group)
            with pytest.raises(StopIteration) as done:
                coro.send(None)  # one step: it never yields to the event loop
            done.value.value.sent()
        assert limiter.wakeups == 0 and limiter._timer is None

    group = MemoryWaitGroup()
    run_virtual(main())


def test_callers_due_together_are_released_by_one_wake_up() -> None:
    async def main() -> list[float]:
        limiter = MemoryLimiter()
        owners = [budget(owner=f"o{i}") for i in range(8)]
        times = await asyncio.gather(*(starts(limiter, [own], 3) for own in owners))
        assert limiter.wakeups == 2  # the 8 second starts at once, then the 8 third ones
        return sorted({t for ts in times for t in ts})

    assert run_virtual(main()) == pytest.approx([0.0, 0.103, 0.208], abs=1e-9)


def test_an_account_budget_idle_beside_a_busy_shared_one_waits_for_one_turn() -> None:
    # 12 accounts keep a tight IP budget busy; a newcomer waits for at most one request of
    # each, not for their queues.
    async def main() -> float:
        limiter = MemoryLimiter()
        loop = asyncio.get_running_loop()
        ip = budget(RateLimit("ip", 10, 0.5, Scope.IP), owner="ip")  # 52.5 ms apart
        busy = [
            asyncio.ensure_future(starts(limiter, [budget(owner=f"o{i}"), ip], 10))
            for i in range(12)
        ]
        await asyncio.sleep(1.0)
        started = loop.time()
        await starts(limiter, [budget(owner="new"), ip], 1)
        waited = loop.time() - started
        await asyncio.gather(*busy)
        return waited

    assert run_virtual(main()) <= 12 * 0.0525 + 1e-9


ORDERS = b'{"code":0,"data":[],"msg":""}'


@pytest.mark.virtual_time
async def test_clients_of_one_key_with_different_margins_keep_the_wider_spacing() -> None:
    # Found: the in-process limiter kept the interval of whichever client reached a budget
    # first, so a client asking for a 50 % margin (CoinW's 10/s -> 150 ms apart) was spaced at
    # the other client's 100 ms whenever that one had made the first request.
    loop = asyncio.get_running_loop()
    starts: dict[str, list[float]] = {"tight": [], "wide": []}

    def recorder(name: str) -> MemoryTransport:
        def answer(request: TransportRequest) -> TransportResponse:
            starts[name].append(loop.time())
            return TransportResponse(200, {}, ORDERS)

        return MemoryTransport(answer)

    credentials = ea.CoinWCredentials("cw-key-margins", "cw-secret-margins")
    base = "http://127.0.0.1:1"
    tight = ea.CoinWClient(credentials, base_url=base, rate_limit_margin=0.0,
                           transport=recorder("tight"))  # fmt: skip
    wide = ea.CoinWClient(credentials, base_url=base, rate_limit_margin=0.5,
                          transport=recorder("wide"))  # fmt: skip
    async with tight, wide:
        await tight.get_order_info("plan")
        for _ in range(4):
            await wide.get_order_info("plan")
    wide_starts = starts["wide"]
    gaps = [b - a for a, b in itertools.pairwise(wide_starts)]
    assert len(gaps) == 3
    assert min(gaps) >= 0.150 - 0.002 - 0.001, gaps  # interval - catch-up - clock resolution
