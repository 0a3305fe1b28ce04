"""Closing always ends: a cancellation that a library swallowed (redis-py on Python 3.11 drops
one that lands as a command completes) is raised again, and `Poller.aclose` cancels again
until every account task has ended, whatever the fleet's Redis does meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import sys

import pytest
from fleet_helpers import add_accounts
from support.redis_server import RedisServer, redis_server
from support.sim_transport import simulator_transport

import exchange_async as ea
from exchange_async.poller.tasks import stop, uncancelled
from exchange_async_sim import Simulator, SimulatorConfig

__all__ = ["redis_server"]


async def _cancelled_as_it_completes(guard: bool) -> tuple[bool, int]:
    """Cancel a task in the very loop iteration its ``wait_for`` completes (what happens to
    redis-py's writes); returns (whether the task ended cancelled, the steps it went on)."""
    inner: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    steps = 0

    async def call() -> None:
        nonlocal steps
        waiting = asyncio.wait_for(inner, timeout=5)
        await (uncancelled(waiting) if guard else waiting)
        steps += 1  # a cancelled task must never get here
        await asyncio.sleep(0)

    task = asyncio.create_task(call())
    await asyncio.sleep(0)  # the task now waits in wait_for
    inner.set_result(1)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return task.cancelled(), steps


async def test_a_swallowed_cancellation_is_raised_again() -> None:
    assert await _cancelled_as_it_completes(guard=True) == (True, 0)
    if sys.version_info < (3, 12):  # the trap is real here: without the guard the task goes on
        assert await _cancelled_as_it_completes(guard=False) == (False, 1)


class _Swallowing:
    """A source whose snapshot swallows the first cancellation, as redis-py can."""

    exchange = "bitget"

    def __init__(self, client: ea.BitgetClient) -> None:
        self.client = client
        self.swallowed = asyncio.Event()

    async def snapshot(self) -> dict[str, ea.TrackingOrder]:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            if self.swallowed.is_set():
                raise
            self.swallowed.set()
        return {}


async def test_closing_a_poller_ends_when_a_task_swallows_its_cancellation() -> None:
    sim = Simulator(SimulatorConfig(seed=1))
    client = ea.BitgetClient(
        ea.BitgetCredentials("k", "s", "p"), transport=simulator_transport(sim)
    )
    source = _Swallowing(client)
    poller = ea.Poller(interval=0.01)
    poller.add("a", source)
    await poller.start()
    await asyncio.sleep(0.05)  # the account's task waits in its snapshot
    async with asyncio.timeout(5):  # before the fix: forever (the task polled on)
        await poller.aclose()
    assert source.swallowed.is_set()
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("exchange_async")]


async def test_stop_gives_up_on_a_task_that_never_ends(caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await stop(task, within=0.2)
    assert not task.done()
    assert "stubborn" in caplog.text
    release.set()
    await stop(task)
    assert task.done()


async def test_a_fleet_poller_closes_in_bounded_time_when_redis_went_away(
    redis_server: RedisServer,
) -> None:
    sim, accounts = Simulator.with_demo_fleet(2, SimulatorConfig(seed=5))
    fleet = ea.Fleet(redis_server.url, name="gone", lease_ttl=1.0, shards=4, handoff_gap=0.0)
    poller = ea.Poller(fleet=fleet, interval=0.05, transport=simulator_transport(sim))
    add_accounts(poller, accounts, "https://sim.invalid")
    await poller.start()
    async with asyncio.timeout(20):
        async for event in poller:
            if isinstance(event, ea.AccountSynced):
                break
    redis_server.stop()
    async with asyncio.timeout(10):  # leases, commits and rounds all fail meanwhile
        await poller.aclose()


async def test_a_fleet_redis_call_never_returns_into_a_cancelled_task(
    redis_server: RedisServer,
) -> None:
    # Cancel a worker's heartbeat after 0..11 loop hops, many times, against a real Redis.
    # Unguarded, redis-py 8.1 on Python 3.11 returns normally into about a quarter of the
    # cancelled tasks (the worker's rounds then went on forever after Poller.aclose).
    from exchange_async.fleet.connection import connect
    from exchange_async.fleet.keys import FleetKeys
    from exchange_async.fleet.leases import Leases

    client = connect(redis_server.url, timeout=5.0)
    leases = Leases(client, FleetKeys("ea", "desk"), "w1", ttl=1.0, margin=0.1, shards=4)
    went_on = 0
    try:
        for i in range(400):
            task = asyncio.create_task(leases.heartbeat())
            for _ in range(i % 12):
                await asyncio.sleep(0)
            if task.done():
                continue
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            went_on += not task.cancelled()
    finally:
        await client.aclose(close_connection_pool=True)
    assert went_on == 0


async def test_a_fleet_events_iteration_ends_on_cancel_at_any_point(
    redis_server: RedisServer,
) -> None:
    async def read_all(events: ea.FleetEvents) -> None:
        async for _ in events:
            pass

    went_on = 0
    async with ea.FleetEvents(
        redis_server.url, name="desk", group="g", consumer="c", block=0.001
    ) as events:
        for i in range(300):
            task = asyncio.create_task(read_all(events))
            for _ in range(i % 12):
                await asyncio.sleep(0)
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=2)
            if not done:  # the cancellation was swallowed: the iteration went on
                went_on += 1
                await stop(task)
                break
    assert went_on == 0
