"""Hostile runs of a fleet against a real redis-server: Redis restarted empty mid-run (no
persistence, or a failover to a replica that lost writes), with a worker and a `FleetEvents`
consumer running across it. A consumer de-duplicates by ``event_id`` as the docs say; no
change may be lost to that, and no bare library exception may escape."""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from typing import Any

import pytest
from fleet_helpers import add_accounts, books, stream_events, wait_until
from support.redis_server import RedisServer, redis_server
from support.sim_transport import simulator_transport

import exchange_async as ea
from exchange_async_sim import Simulator, SimulatorConfig

__all__ = ["redis_server"]

BASE = "https://sim.invalid"


class Worker:
    """One fleet worker in this process, its yielded events kept."""

    def __init__(self, redis: RedisServer, sim: Simulator) -> None:
        self.fleet = ea.Fleet(
            redis.url, name="desk", lease_ttl=1.0, shards=8, handoff_gap=0.0, worker_id="w1"
        )
        self.poller = ea.Poller(fleet=self.fleet, interval=0.05, transport=simulator_transport(sim))
        self.events: list[ea.Event] = []
        self.snapshots = 0

    async def consume(self) -> None:
        async for event in self.poller:
            self.events.append(event)

    def polled(self, names: list[str]) -> int:
        return min(self.poller.accounts[n].snapshots for n in names)


async def restart_empty(redis: RedisServer) -> None:
    await asyncio.to_thread(redis.stop)
    await asyncio.sleep(0.3)
    await asyncio.to_thread(redis.start)


@pytest.mark.slow
async def test_distinct_events_keep_distinct_ids_across_a_redis_restart(
    redis_server: RedisServer,
) -> None:
    sim, accounts = Simulator.with_demo_fleet(4, SimulatorConfig(seed=5))
    names = [a.name for a in accounts]
    worker = Worker(redis_server, sim)
    await worker.poller.start()
    task = asyncio.create_task(worker.consume())
    try:
        add_accounts(worker.poller, accounts, BASE)
        await wait_until(lambda: worker.polled(names) >= 2, 20, "every account polled")
        sim.mutate(len(accounts))
        mark = worker.polled(names)
        await wait_until(lambda: worker.polled(names) >= mark + 2, 20, "changes seen")
        await restart_empty(redis_server)
        sim.mutate(2 * len(accounts))
        mark = worker.polled(names)
        await wait_until(lambda: worker.polled(names) >= mark + 3, 30, "polling again")
    finally:
        await worker.poller.aclose()
        await task
    by_id: dict[str, ea.Event] = {}
    clashes = []
    for event in worker.events:
        seen = by_id.setdefault(event.event_id, event)
        if seen != event:
            clashes.append(event.event_id)
    assert not clashes, clashes[:5]
    # (every account then starts over with an `initial` snapshot: documented in "Running a
    # fleet", "When Redis loses its data")
    assert any(e.event_id.split(":")[1] != "1" for e in worker.events)


async def test_a_fleet_events_consumer_across_a_redis_restart_raises_only_exchange_errors(
    redis_server: RedisServer,
) -> None:
    sim, accounts = Simulator.with_demo_fleet(3, SimulatorConfig(seed=6))
    names = [a.name for a in accounts]
    worker = Worker(redis_server, sim)
    await worker.poller.start()
    task = asyncio.create_task(worker.consume())
    got: list[ea.Event] = []
    escaped: list[BaseException] = []

    async def consume() -> None:
        async with ea.FleetEvents(
            redis_server.url, name="desk", group="g", consumer="c1", block=0.1
        ) as events:
            async for event in events:
                got.append(event)
                await events.ack(event)

    async def consume_forever() -> None:
        while True:  # a user's loop: an ExchangeError is retried, anything else escapes
            try:
                await consume()
            except ea.ExchangeError:
                await asyncio.sleep(0.1)
            except Exception as error:  # the finding
                escaped.append(error)
                return

    consumer = asyncio.create_task(consume_forever())
    try:
        add_accounts(worker.poller, accounts, BASE)
        await wait_until(lambda: len(got) >= len(accounts), 20, "the consumer reads events")
        await restart_empty(redis_server)
        sim.mutate(2 * len(accounts))
        mark = worker.polled(names)
        await wait_until(lambda: worker.polled(names) >= mark + 3 or escaped, 30, "polled")
        await asyncio.sleep(0.5)
    finally:
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        await worker.poller.aclose()
        await task
    assert not escaped, [type(e).__module__ + "." + type(e).__name__ for e in escaped]


UNREACHABLE = "redis://user:fleet-pw-5ecret@127.0.0.1:1/0"


async def _owners() -> None:
    await ea.Fleet(UNREACHABLE, name="desk").owners()


async def _events() -> None:
    async with ea.FleetEvents(UNREACHABLE, name="desk", group="g", consumer="c"):
        pass


async def _poller() -> None:
    async with ea.Poller(fleet=ea.Fleet(UNREACHABLE, name="desk")) as poller:
        poller.add_coinw("a", ea.CoinWCredentials("k", "s"), base_url="http://127.0.0.1:1")
        async for _ in poller:
            break


@pytest.mark.parametrize("use", [_owners, _events, _poller], ids=["owners", "events", "poller"])
async def test_an_unreachable_fleet_redis_is_an_exchange_error_without_the_password(
    use: Any,
) -> None:
    with pytest.raises(ea.ExchangeError) as caught:
        async with asyncio.timeout(10):
            await use()
    text = "".join(traceback.format_exception(caught.value))
    assert "fleet-pw-5ecret" not in text


class ReplyDropper:
    """A TCP proxy to Redis that, once armed, forwards one commit (a script call naming the
    fleet's stream) and then drops Redis's reply and the connection: the commit went through,
    the worker never hears so (a network blip, a failover right after the write)."""

    def __init__(self, redis: RedisServer, marker: bytes) -> None:
        self.redis = redis
        self.marker = marker
        self.armed = False
        self.dropped = 0
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"redis://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/0"

    async def __aenter__(self) -> ReplyDropper:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.redis.port)
        cut = asyncio.Event()

        async def upstream() -> None:
            while chunk := await reader.read(65536):
                if self.armed and self.marker in chunk and b"EVAL" in chunk.upper():
                    self.armed = False
                    cut.set()
                up_writer.write(chunk)
                await up_writer.drain()

        async def downstream() -> None:
            while chunk := await up_reader.read(65536):
                if cut.is_set():
                    self.dropped += 1
                    writer.transport.abort()
                    return
                writer.write(chunk)
                await writer.drain()

        with contextlib.suppress(OSError):
            _done, pending = await asyncio.wait(
                [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())],
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in pending:
                task.cancel()
        writer.close()
        up_writer.close()


@pytest.mark.slow
async def test_a_commit_whose_reply_is_lost_is_not_announced_twice(
    redis_server: RedisServer,
) -> None:
    sim, accounts = Simulator.with_demo_fleet(2, SimulatorConfig(seed=9))
    names = [a.name for a in accounts]
    async with ReplyDropper(redis_server, b":fleet:{desk}:events") as proxy:
        fleet = ea.Fleet(
            proxy.url, name="desk", lease_ttl=2.0, shards=4, handoff_gap=0.0, worker_id="w1"
        )
        poller = ea.Poller(fleet=fleet, interval=0.05, transport=simulator_transport(sim))
        got: list[ea.Event] = []

        async def consume() -> None:
            async for event in poller:
                got.append(event)

        await poller.start()
        task = asyncio.create_task(consume())
        try:
            add_accounts(poller, accounts, BASE)

            def polled() -> int:
                return min(poller.accounts[n].snapshots for n in names)

            await wait_until(lambda: polled() >= 2, 20, "every account polled")
            proxy.armed = True
            sim.mutate(4 * len(accounts))
            await wait_until(lambda: proxy.dropped >= 1, 20, "a commit's reply dropped")
            mark = polled()
            await wait_until(lambda: polled() >= mark + 3, 20, "polled again")
        finally:
            await poller.aclose()
            await task
    events = await stream_events(redis_server.url, "desk")
    _state, problems = books(events)
    assert not problems, problems[:5]


@pytest.mark.parametrize(
    "fields",
    [
        {"id": "x:1:1", "data": b"\xff not msgpack nor json"},
        {"id": "x:1:2"},
        {"data": b"{}"},
    ],
    ids=["garbage-data", "no-data", "no-id"],
)
async def test_a_foreign_entry_on_the_stream_is_skipped_acknowledged_and_logged(
    redis_server: RedisServer,
    fields: dict[str | bytes, str | bytes],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Another program (or another version of the SDK) wrote to the fleet's stream, between
    # two events of the fleet.
    import redis.asyncio as aioredis

    from exchange_async.fleet.codec import encode_event
    from exchange_async.fleet.keys import FleetKeys

    stream = FleetKeys("ea", "desk").stream
    good = [
        ea.AccountSynced(account="a", exchange="bitget", at=1.0, orders=n, event_id=f"a:1:{n}")
        for n in (1, 2)
    ]
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        entry: Any = fields  # (redis-py types its field mapping invariantly)
        await client.xadd(stream, {"id": good[0].event_id, "data": encode_event(good[0])})
        poison_id: Any = await client.xadd(stream, entry)
        poison = poison_id.decode()
        await client.xadd(stream, {"id": good[1].event_id, "data": encode_event(good[1])})
        escaped: list[BaseException] = []
        got: list[ea.Event] = []
        for _run in range(2):  # a restarted consumer does not meet the entry again either
            async with ea.FleetEvents(
                redis_server.url, name="desk", group="g", consumer="c", block=0.1
            ) as events:
                try:
                    async with asyncio.timeout(1.0):
                        async for event in events:
                            got.append(event)
                            await events.ack(event)
                except TimeoutError:
                    pass  # nothing more to deliver
                except Exception as error:  # the finding
                    escaped.append(error)
        pending: Any = await client.xpending(stream, "g")
    finally:
        await client.aclose()
    assert not escaped, [f"{type(e).__module__}.{type(e).__name__}" for e in escaped]
    assert [e.event_id for e in got] == ["a:1:1", "a:1:2"]  # it went on past the entry
    assert pending["pending"] == 0  # acknowledged: never delivered again
    assert poison in caplog.text and "not an event" in caplog.text
