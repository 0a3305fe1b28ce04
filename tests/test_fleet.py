"""A fleet in one process against a real redis-server: two workers share the accounts, every
change reaches the consumer group once, a restart resumes from the checkpoints, and a lapsed
lease neither sends nor writes. (Worker processes killed for real: test_fleet_procs.py.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from fleet_helpers import add_accounts, books, stream_events, truth_mismatches, wait_until
from support.redis_server import RedisServer, redis_server
from support.sim_transport import simulator_transport

import exchange_async as ea
from exchange_async.fleet.checkpoints import Checkpoints
from exchange_async.fleet.leases import Leases
from exchange_async_sim import FleetAccount, Simulator, SimulatorConfig

__all__ = ["redis_server"]

BASE = "https://sim.invalid"  # the requests go to the simulator in memory (simulator_transport)


@pytest.fixture
def demo() -> tuple[Simulator, list[FleetAccount]]:
    return Simulator.with_demo_fleet(8, SimulatorConfig(seed=3))


def fleet(redis: RedisServer, worker: str) -> ea.Fleet:
    return ea.Fleet(
        redis.url, name="desk", lease_ttl=1.0, shards=16, handoff_gap=0.0, worker_id=worker
    )


class Worker:
    """One poller of the fleet, its events collected as an application would."""

    def __init__(self, redis: RedisServer, sim: Simulator, worker: str) -> None:
        self.fleet = fleet(redis, worker)
        self.poller = ea.Poller(fleet=self.fleet, interval=0.05, transport=simulator_transport(sim))
        self.events: list[ea.Event] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Worker:
        await self.poller.start()
        self._task = asyncio.create_task(self._consume())
        return self

    async def _consume(self) -> None:
        async for event in self.poller:
            self.events.append(event)

    async def __aexit__(self, *exc: object) -> None:
        await self.poller.aclose()
        assert self._task is not None
        await self._task

    def polling(self) -> set[str]:
        return {n for n, s in self.poller.accounts.items() if s.state is ea.AccountState.OK}


@pytest.fixture
async def two(
    redis_server: RedisServer, demo: tuple[Simulator, list[FleetAccount]]
) -> AsyncIterator[tuple[Worker, Worker]]:
    sim, accounts = demo
    async with Worker(redis_server, sim, "w1") as w1, Worker(redis_server, sim, "w2") as w2:
        for w in (w1, w2):
            add_accounts(w.poller, accounts, BASE)
        yield w1, w2


async def settle(sim: Simulator, workers: list[Worker], names: list[str]) -> None:
    """Until every account has completed a snapshot that began after now."""
    marks = {n: max(w.poller.accounts[n].snapshots for w in workers) for n in names}

    def caught_up() -> bool:
        done = {n: max(w.poller.accounts[n].snapshots for w in workers) for n in names}
        return all(done[n] >= marks[n] + 2 for n in names)

    await wait_until(caught_up, 20, "every account polled twice more")


async def test_two_workers_split_the_accounts_and_every_change_reaches_the_stream(
    redis_server: RedisServer,
    two: tuple[Worker, Worker],
    demo: tuple[Simulator, list[FleetAccount]],
) -> None:
    sim, accounts = demo
    w1, w2 = two
    names = [a.name for a in accounts]
    await wait_until(lambda: w1.polling() | w2.polling() == set(names), 20, "all accounts polled")
    assert w1.polling() and w2.polling() and not w1.polling() & w2.polling()
    owners = await w1.fleet.owners()
    assert owners == {n: "w1" if n in w1.polling() else "w2" for n in names}

    for _ in range(3):
        sim.mutate(len(accounts))
        await settle(sim, [w1, w2], names)
    events = await stream_events(redis_server.url, "desk")
    state, problems = books(events)
    assert not problems
    assert not truth_mismatches(sim, accounts, state)
    # What each worker yielded is what it committed, ids and Decimals exact.
    local = {e.event_id: e for e in w1.events + w2.events}
    assert len(local) == len(w1.events) + len(w2.events) == len(events)
    assert all(local[e.event_id] == e for e in events)
    assert any(isinstance(getattr(e, "order", None), ea.TrackingOrder) for e in events)
    assert all(
        isinstance(e.order.open_price_avg, Decimal)
        for e in events
        if isinstance(e, ea.OrderOpened) and isinstance(e.order, ea.TrackingOrder)
    )
    assert sim.limit_violations() == 0


async def test_a_worker_leaving_hands_its_accounts_over_without_an_initial_burst(
    redis_server: RedisServer, demo: tuple[Simulator, list[FleetAccount]]
) -> None:
    sim, accounts = demo
    names = [a.name for a in accounts]
    async with Worker(redis_server, sim, "w1") as w1:
        add_accounts(w1.poller, accounts, BASE)
        async with Worker(redis_server, sim, "w2") as w2:
            add_accounts(w2.poller, accounts, BASE)
            await wait_until(lambda: w1.polling() and w2.polling(), 20, "both polling")
        # w2 gave its leases back as it closed: w1 takes everything, from the checkpoints.
        sim.mutate(len(accounts))
        await wait_until(lambda: w1.polling() == set(names), 10, "w1 polls every account")
        await settle(sim, [w1], names)
    events = await stream_events(redis_server.url, "desk")
    state, problems = books(events)
    assert not problems
    assert not truth_mismatches(sim, accounts, state)
    synced = [e for e in events if isinstance(e, ea.AccountSynced)]
    assert len(synced) == len(names)  # a takeover is no news: only real changes follow
    for name in names:  # only the first snapshot ever announced its orders as initial
        mine = [e for e in events if e.account == name]
        first = next(i for i, e in enumerate(mine) if isinstance(e, ea.AccountSynced))
        initial = [i for i, e in enumerate(mine) if isinstance(e, ea.OrderOpened) and e.initial]
        assert initial == list(range(first)), name


async def test_a_whole_fleet_restart_resumes_and_announces_what_changed_meanwhile_once(
    redis_server: RedisServer, demo: tuple[Simulator, list[FleetAccount]]
) -> None:
    sim, accounts = demo
    names = [a.name for a in accounts]
    async with Worker(redis_server, sim, "w1") as w1:
        add_accounts(w1.poller, accounts, BASE)
        await wait_until(lambda: w1.polling() == set(names), 20, "all accounts polled")
    before = await stream_events(redis_server.url, "desk")
    changes = sim.mutate(2 * len(accounts))  # while no worker runs
    async with Worker(redis_server, sim, "w9") as w9:
        add_accounts(w9.poller, accounts, BASE)
        await wait_until(lambda: w9.polling() == set(names), 20, "all accounts polled again")
        await settle(sim, [w9], names)
    after = (await stream_events(redis_server.url, "desk"))[len(before) :]
    assert not any(isinstance(e, ea.OrderOpened) and e.initial for e in after)
    news = [e for e in after if isinstance(e, ea.OrderOpened | ea.OrderChanged | ea.OrderClosed)]
    assert 0 < len(news) <= len(changes)  # two changes of one order in a row show as one
    state, problems = books(before + after)
    assert not problems
    assert not truth_mismatches(sim, accounts, state)


async def test_a_lapsed_lease_neither_sends_nor_commits(redis_server: RedisServer) -> None:
    import redis.asyncio as aioredis

    keys = fleet(redis_server, "a").keys
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        paused = Leases(client, keys, "paused", ttl=0.3, margin=0.05, shards=1)
        other = Leases(client, keys, "other", ttl=5.0, margin=0.5, shards=1)
        [lease] = await paused.acquire(1)
        assert paused.valid(lease)
        assert lease.epoch > 1_600_000_000_000  # seeded with Redis's time in ms
        await asyncio.sleep(0.35)  # "paused": no renewal; Redis lets the lease expire
        assert not paused.valid(lease)  # its own clock says so before anything is sent
        [taken] = await other.acquire(1)
        assert taken.epoch == lease.epoch + 1
        assert await paused.renew() == [lease]  # it finds out on its next round
        stale = Checkpoints(client, keys, "paused", maxlen=1000)
        event = ea.AccountSynced(account="acc", exchange="bitget", at=0.0, orders=0)
        with pytest.raises(ea.fleet.LeaseLostError):
            await stale.commit(lease, "acc", [event])
        assert await client.xlen(keys.stream) == 0
        assert await stale.load("acc", "bitget") is None
        [committed] = await Checkpoints(client, keys, "other", maxlen=1000).commit(
            taken, "acc", [event]
        )
        assert committed.event_id == f"acc:{taken.epoch}:1"
        # Redis loses everything (no persistence): new epochs, and ids, still come later.
        await client.flushall()
        [fresh] = await Leases(client, keys, "other", ttl=5.0, margin=0.5, shards=1).acquire(1)
        assert fresh.epoch > taken.epoch
    finally:
        await client.aclose()


async def test_fleet_events_delivers_what_a_dead_consumer_left_unacknowledged(
    redis_server: RedisServer, two: tuple[Worker, Worker]
) -> None:
    w1, w2 = two
    await wait_until(lambda: len(w1.events) + len(w2.events) >= 20, 20, "events committed")
    url = redis_server.url
    first: list[ea.Event] = []
    async with ea.FleetEvents(url, name="desk", group="g", consumer="c1", block=0.1) as c1:
        async for event in c1:
            first.append(event)
            if len(first) == 10:
                break
        appended = c1.committed_at(first[0])
        assert appended is not None and time.time() - 60 < appended <= time.time() + 1
        for event in first[:4]:
            await c1.ack(event)
        assert c1.committed_at(first[0]) is None  # acknowledged: nothing pending to date
    # c1 restarts under its name: it gets its six unacknowledged events again, first.
    again: list[ea.Event] = []
    async with ea.FleetEvents(url, name="desk", group="g", consumer="c1", block=0.1) as c1:
        async for event in c1:
            again.append(event)
            if len(again) == 6:
                break
        await c1.ack(*again[:3])
    assert [e.event_id for e in again] == [e.event_id for e in first[4:]]
    # c1 "died" holding three; c2 claims them once they have been idle long enough.
    second: list[ea.Event] = []
    async with ea.FleetEvents(
        url, name="desk", group="g", consumer="c2", block=0.1, claim_idle=0.2, claim_every=0.2
    ) as c2:
        async with asyncio.timeout(10):
            async for event in c2:
                second.append(event)
                await c2.ack(event)
                if {e.event_id for e in again[3:]} <= {e.event_id for e in second}:
                    break
        assert c2.claimed >= 3
    ids = [e.event_id for e in first[:4] + again[:3] + second]
    assert len(set(ids)) == len(ids)  # the acknowledged ones were not delivered again


async def test_a_poller_alone_numbers_its_events_too(
    demo: tuple[Simulator, list[FleetAccount]],
) -> None:
    sim, accounts = demo
    async with ea.Poller(interval=0.05, transport=simulator_transport(sim)) as poller:
        add_accounts(poller, accounts[:2], BASE)
        got: list[ea.Event] = []
        async for event in poller:
            got.append(event)
            if sum(isinstance(e, ea.AccountSynced) for e in got) == 2:
                break
    for account in {e.account for e in got}:
        ids = [e.event_id for e in got if e.account == account]
        run = {i.split(":")[1] for i in ids}
        assert len(run) == 1 and run.pop().startswith("local-")
        assert [int(i.rpartition(":")[2]) for i in ids] == list(range(1, len(ids) + 1))


async def test_a_redis_that_lost_its_data_is_picked_up_again(
    redis_server: RedisServer, two: tuple[Worker, Worker]
) -> None:
    import redis.asyncio as aioredis

    w1, w2 = two
    url = redis_server.url
    got: list[ea.Event] = []
    before = 0
    async with ea.FleetEvents(url, name="desk", group="g", consumer="c", block=0.1) as events:
        async with asyncio.timeout(30):
            async for event in events:
                got.append(event)
                await events.ack(event)
                epoch = int(event.event_id.split(":")[-2])
                if before and epoch > before:
                    break  # an event of the fleet after Redis lost everything
                if not before and isinstance(event, ea.AccountSynced):
                    before = max(int(e.event_id.split(":")[-2]) for e in got)
                    client = aioredis.Redis.from_url(url)
                    await client.flushall()  # as a restart without persistence would
                    await client.aclose()
    # The workers' leases were gone: they took the shards again under new, later epochs and
    # started over (no checkpoint: Redis kept none); the consumer's group was made again.
    # (An account's state turns OK only after its events were committed, and so maybe read.)
    await wait_until(lambda: w1.polling() | w2.polling(), 10, "an account polled again")
