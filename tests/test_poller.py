"""Poller against a simulator whose orders change: events are exact, failures stay local."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from support.sim_transport import simulator_transport

import exchange_async as ea
from exchange_async._core.transport.lean import LeanTransport
from exchange_async_sim import Simulator, SimulatorConfig, SimulatorServer, running_loop_time

ALL_PRODUCTS = ("USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES")
FAST = ea.RetryPolicy(max_attempts=2, base_delay=0.02, max_delay=0.05, rate_limit_delay=0.2)


@pytest.fixture
def dyn_sim() -> Simulator:
    sim = Simulator(SimulatorConfig(seed=11), clock=running_loop_time)
    sim.add_bitget_account(api_key="bg-1", secret_key="s1", passphrase="p1", orders=15)
    sim.add_coinw_account(api_key="cw-1", secret_key="s2", orders=12)
    return sim


@pytest.fixture
async def dyn_server(dyn_sim: Simulator) -> AsyncIterator[SimulatorServer]:
    async with SimulatorServer(dyn_sim) as server:
        yield server


def add_both(poller: ea.Poller, base_url: str = "https://api.bitget.com") -> None:
    poller.add_bitget(
        "bg",
        ea.BitgetCredentials("bg-1", "s1", "p1"),
        base_url=base_url,
        product_types=ALL_PRODUCTS,
    )
    poller.add_coinw("cw", ea.CoinWCredentials("cw-1", "s2"), base_url=base_url)


class Collector:
    """Consumes a poller's events in the background, like an application would."""

    def __init__(self, poller: ea.Poller) -> None:
        self.events: list[ea.Event] = []
        self._task = asyncio.create_task(self._run(poller))

    async def _run(self, poller: ea.Poller) -> None:
        async for event in poller:
            self.events.append(event)

    async def wait_for(self, predicate: Any, timeout: float = 20.0) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.02)

    def of(self, account: str, *kinds: type[ea.Event]) -> list[Any]:
        return [e for e in self.events if e.account == account and isinstance(e, kinds)]


async def snapshots_after(poller: ea.Poller, name: str, extra: int = 2) -> None:
    """Wait until ``extra`` more snapshots of ``name`` complete (so one began after now)."""
    target = poller.accounts[name].snapshots + extra
    async with asyncio.timeout(30):
        while poller.accounts[name].snapshots < target:
            await asyncio.sleep(0.02)


def replay(events: list[Any]) -> dict[str, Any]:
    """The account state the events describe; fails on an event that contradicts it."""
    state: dict[str, Any] = {}
    for e in events:
        if isinstance(e, ea.OrderOpened):
            assert e.key not in state, f"opened twice: {e.key}"
            state[e.key] = e.order
        elif isinstance(e, ea.OrderChanged):
            assert state.get(e.key) == e.previous, f"change of unknown state: {e.key}"
            assert e.changes, "a change with no changed field"
            state[e.key] = e.order
        elif isinstance(e, ea.OrderClosed):
            assert e.key in state, f"closed but never open: {e.key}"
            del state[e.key]
    return state


def assert_matches_truth(state: dict[str, Any], truth: dict[str, Any]) -> None:
    assert set(state) == set(truth)
    for key, order in state.items():
        want = truth[key]
        for field in ("symbol", "instrument", "follow_count", "current_piece", "trigger_price"):
            if hasattr(order, field) and hasattr(want, field):
                assert getattr(order, field) == getattr(want, field), (key, field)


@pytest.mark.virtual_time
async def test_initial_snapshot_is_marked_then_synced(
    dyn_sim: Simulator,
) -> None:
    async with ea.Poller(transport=simulator_transport(dyn_sim)) as poller:
        add_both(poller)
        got = Collector(poller)
        await got.wait_for(
            lambda: len(got.of("bg", ea.AccountSynced) + got.of("cw", ea.AccountSynced)) == 2
        )
    for name, key in (("bg", "bg-1"), ("cw", "cw-1")):
        opened = got.of(name, ea.OrderOpened)
        synced = got.of(name, ea.AccountSynced)[0]
        assert all(e.initial for e in opened)
        assert synced.orders == len(opened) == len(dyn_sim.open_orders(key))
        events = [e for e in got.events if e.account == name]
        assert events.index(synced) == len(opened)  # synced comes right after the initial batch
        assert_matches_truth(replay(opened), dyn_sim.open_orders(key))


@pytest.mark.virtual_time  # snapshots paced by the real limits, in no real time
async def test_every_change_is_reported_exactly_once_in_order(dyn_sim: Simulator) -> None:
    async with ea.Poller(transport=simulator_transport(dyn_sim)) as poller:
        add_both(poller)
        got = Collector(poller)
        await got.wait_for(
            lambda: len(got.of("bg", ea.AccountSynced) + got.of("cw", ea.AccountSynced)) == 2
        )

        async def drive(name: str, key: str) -> None:
            for _ in range(6):
                dyn_sim.mutate(1, account=key)
                await snapshots_after(poller, name)

        await asyncio.gather(drive("bg", "bg-1"), drive("cw", "cw-1"))

    kinds: dict[type[Any], str] = {
        ea.OrderOpened: "opened",
        ea.OrderChanged: "changed",
        ea.OrderClosed: "closed",
    }
    for name, key in (("bg", "bg-1"), ("cw", "cw-1")):
        uid = (
            dyn_sim.bitget.accounts[key].uid
            if name == "bg"
            else str(dyn_sim.coinw.accounts[key].user_id)
        )
        mutations = [m for m in dyn_sim.mutations if m.account == uid]
        news = [
            e
            for e in got.of(name, ea.OrderOpened, ea.OrderChanged, ea.OrderClosed)
            if not getattr(e, "initial", False)
        ]
        assert [(kinds[type(e)], e.key) for e in news] == [(m.kind, m.key) for m in mutations]
        for event, mutation in zip(news, mutations, strict=True):
            if isinstance(event, ea.OrderChanged):
                assert set(event.changes) == set(mutation.fields)
        assert_matches_truth(
            replay(got.of(name, ea.OrderOpened, ea.OrderChanged, ea.OrderClosed)),
            dyn_sim.open_orders(key),
        )


@pytest.mark.virtual_time  # 6 s of the order driver and polling, in no real time
async def test_with_faults_no_event_is_lost_or_invented() -> None:
    config = SimulatorConfig(
        seed=5,
        fault_rate=0.15,
        fault_kinds=("http_500", "http_503", "disconnect", "malformed", "latency"),
        fault_latency=0.3,
    )
    sim = Simulator(config, clock=running_loop_time)
    names = {}
    for i in range(3):
        sim.add_bitget_account(api_key=f"bg-{i}", secret_key="s", passphrase="p", orders=20)
        sim.add_coinw_account(api_key=f"cw-{i}", secret_key="s", orders=10)
    async with ea.Poller(
        retry=FAST, backoff=0.1, max_backoff=0.5, timeout=2.0, transport=simulator_transport(sim)
    ) as poller:
        for i in range(3):
            poller.add_bitget(
                f"bg{i}",
                ea.BitgetCredentials(f"bg-{i}", "s", "p"),
                product_types=ALL_PRODUCTS,
            )
            poller.add_coinw(f"cw{i}", ea.CoinWCredentials(f"cw-{i}", "s"))
            names[f"bg{i}"], names[f"cw{i}"] = f"bg-{i}", f"cw-{i}"
        got = Collector(poller)
        # Changes start once every initial snapshot is in: earlier ones are initial state.
        await got.wait_for(
            lambda: len([e for e in got.events if isinstance(e, ea.AccountSynced)]) == 6
        )
        sim.start_mutations(0.15)
        await asyncio.sleep(6)
        await sim.stop_mutations()
        sim.config.fault_rate = 0.0
        await asyncio.gather(*(snapshots_after(poller, n) for n in names))
        assert sim.limit_violations() == 0
    assert sum(sim.random_fault_counts().values()) > 10
    assert got.of("bg0", ea.AccountError) + got.of("cw0", ea.AccountError) or any(
        got.of(n, ea.AccountError) for n in names
    )
    assert len(sim.mutations) > 50
    for name, key in names.items():
        order_events = got.of(name, ea.OrderOpened, ea.OrderChanged, ea.OrderClosed)
        assert_matches_truth(replay(order_events), sim.open_orders(key))
        assert_backed_by_mutations(
            order_events, [m for m in sim.mutations if m.account == uid_of(sim, key)]
        )
        errors = got.of(name, ea.AccountError)
        recovered = got.of(name, ea.AccountRecovered)
        assert len(recovered) <= len(errors)


def uid_of(sim: Simulator, key: str) -> str:
    if key in sim.bitget.accounts:
        return sim.bitget.accounts[key].uid
    return str(sim.coinw.accounts[key].user_id)


def assert_backed_by_mutations(events: list[Any], mutations: list[Any]) -> None:
    """Every news event is explained by the simulator's own log, and every logged change is
    reported (unless the order opened and closed between two snapshots)."""
    by_key: dict[str, list[Any]] = {}
    for m in mutations:
        by_key.setdefault(m.key, []).append(m)
    for e in events:
        if isinstance(e, ea.OrderOpened) and e.initial:
            continue
        kinds = [m.kind for m in by_key.get(e.key, [])]
        if isinstance(e, ea.OrderOpened):
            assert "opened" in kinds, f"invented open {e.key}"
        elif isinstance(e, ea.OrderClosed):
            assert "closed" in kinds, f"invented close {e.key}"
        else:
            fields = {f for m in by_key.get(e.key, []) if m.kind == "changed" for f in m.fields}
            assert set(e.changes) <= fields, f"invented change {e.key}: {e.changes}"
    reported = {e.key for e in events if not (isinstance(e, ea.OrderOpened) and e.initial)}
    for key, ms in by_key.items():
        kinds = [m.kind for m in ms]
        if kinds[0] == "opened" and kinds[-1] == "closed":
            continue  # may have lived and died between two snapshots
        assert key in reported, f"lost: {key} {kinds}"


@pytest.mark.slow  # waits on the simulator's real-time order driver
async def test_a_failing_account_does_not_slow_the_others(
    dyn_server: SimulatorServer, dyn_sim: Simulator
) -> None:
    slow = Simulator(SimulatorConfig(latency=1.5))
    slow.add_coinw_account(api_key="cw-slow", secret_key="s", orders=5)
    async with (
        SimulatorServer(slow) as slow_server,
        ea.Poller(retry=FAST, timeout=0.4, backoff=0.2) as poller,
    ):
        add_both(poller, dyn_server.base_url)
        poller.add_coinw("dead", ea.CoinWCredentials("x", "y"), base_url="http://127.0.0.1:9")
        poller.add_coinw("slow", ea.CoinWCredentials("cw-slow", "s"), base_url=slow_server.base_url)
        poller.add_bitget(
            "badkey", ea.BitgetCredentials("bg-1", "WRONG", "p1"), base_url=dyn_server.base_url
        )
        got = Collector(poller)
        await asyncio.sleep(4)
        healthy = poller.accounts["cw"].requests
        statuses = {n: s.state for n, s in poller.accounts.items()}
    # CoinW polls 4 position types per snapshot at ~9.5 req/s: 4 s is ~38 requests.
    assert healthy >= 30
    assert statuses["dead"] is ea.AccountState.FAILING
    assert statuses["slow"] is ea.AccountState.FAILING
    assert statuses["badkey"] is ea.AccountState.STOPPED
    stopped = got.of("badkey", ea.AccountStopped)
    assert len(stopped) == 1
    assert stopped[0].code == "40009"
    assert "WRONG" not in stopped[0].reason
    dead_errors = got.of("dead", ea.AccountError)
    assert dead_errors[0].error == "TransportError"
    assert [e.failures for e in dead_errors] == list(range(1, len(dead_errors) + 1))
    assert got.of("slow", ea.AccountError)[0].error == "RequestTimeoutError"


@pytest.mark.virtual_time
async def test_rate_limited_account_waits_and_recovers(
    dyn_sim: Simulator,
) -> None:
    retry = ea.RetryPolicy(max_attempts=1, rate_limit_delay=0.3)
    async with ea.Poller(retry=retry, transport=simulator_transport(dyn_sim)) as poller:
        poller.add_coinw("cw", ea.CoinWCredentials("cw-1", "s2"))
        got = Collector(poller)
        await got.wait_for(lambda: got.of("cw", ea.AccountSynced))
        dyn_sim.inject("/v1/perpum/order", "rate_limited", count=2)
        await got.wait_for(lambda: got.of("cw", ea.AccountRecovered))
    limited = got.of("cw", ea.AccountRateLimited)
    assert limited
    # At least the client's rate_limit_delay; at most the poller's back-off (1 s) + 25 % jitter.
    assert 0.3 <= limited[0].retry_in <= 1.25
    assert not got.of("cw", ea.OrderClosed)  # a refused snapshot invents nothing


@pytest.mark.virtual_time
async def test_back_pressure_holds_polling_and_memory_when_the_consumer_stalls() -> None:
    sim = Simulator(SimulatorConfig(seed=3, mutation_interval=0.05), clock=running_loop_time)
    sim.add_coinw_account(api_key="cw", secret_key="s", orders=40)
    sim.start_mutations()  # every 0.05 s (a served simulator starts them itself)
    async with ea.Poller(max_pending=10, transport=simulator_transport(sim)) as poller:
        poller.add_coinw("cw", ea.CoinWCredentials("cw", "s"))
        await asyncio.sleep(1.0)  # nobody consumes: the 40 initial events fill the queue
        queued = poller._queue.qsize()
        requests = sim.count()
        await asyncio.sleep(1.5)
        assert poller._queue.qsize() == queued <= 10
        assert sim.count() == requests  # the account waits for the consumer, not polling
        got: list[ea.Event] = []
        async for event in poller:
            got.append(event)
            if len(got) >= 60:
                break
        assert sim.count() > requests  # and resumes once the consumer catches up
    assert sum(isinstance(e, ea.OrderOpened) and e.initial for e in got) == 40
    await sim.stop_mutations()


@pytest.mark.virtual_time
async def test_accounts_can_be_added_and_removed_while_running(
    dyn_sim: Simulator,
) -> None:
    async with ea.Poller(transport=simulator_transport(dyn_sim)) as poller:
        got = Collector(poller)
        poller.add_coinw("cw", ea.CoinWCredentials("cw-1", "s2"))
        await got.wait_for(lambda: got.of("cw", ea.AccountSynced))
        poller.add_bitget("bg", ea.BitgetCredentials("bg-1", "s1", "p1"))
        await got.wait_for(lambda: got.of("bg", ea.AccountSynced))
        await poller.remove("cw")
        with pytest.raises(ea.ValidationError):
            await poller.remove("cw")
        with pytest.raises(ea.ValidationError):
            poller.add_bitget("bg", ea.BitgetCredentials("bg-1", "s1", "p1"))
        after = dyn_sim.count("/v1/perpum/order")
        await asyncio.sleep(0.8)
        assert dyn_sim.count("/v1/perpum/order") == after
        assert set(poller.accounts) == {"bg"}


async def test_shutdown_leaves_no_task_or_session_behind(dyn_server: SimulatorServer) -> None:
    before = asyncio.all_tasks()
    poller = ea.Poller()
    add_both(poller, dyn_server.base_url)
    async with poller:
        got = Collector(poller)
        await got.wait_for(lambda: len(got.events) > 10)
        clients = [s.client for s in poller.accounts.values()]
        transport = poller._transport
        assert isinstance(transport, LeanTransport)
        assert transport.open_connections > 0
    await asyncio.sleep(0)
    await got._task  # the consumer's loop ended by itself
    assert asyncio.all_tasks() - before == set()
    assert all(c is not None and c.closed for c in clients)
    assert transport.open_connections == 0
    await poller.aclose()  # idempotent
    with pytest.raises(ea.ClientClosedError):
        poller.add_coinw("late", ea.CoinWCredentials("a", "b"))
    gc.collect()
    assert not [
        o for o in gc.get_objects() if isinstance(o, aiohttp.ClientSession) and not o.closed
    ]


async def test_cancelling_the_consumer_task_shuts_down_cleanly(dyn_server: SimulatorServer) -> None:
    before = asyncio.all_tasks()

    async def app() -> None:
        async with ea.Poller() as poller:
            add_both(poller, dyn_server.base_url)
            async for _ in poller:
                pass

    task = asyncio.create_task(app())
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert asyncio.all_tasks() - before == set()


def test_bad_poller_arguments() -> None:
    with pytest.raises(ea.ValidationError):
        ea.Poller(max_pending=0)
    with pytest.raises(ea.ValidationError):
        ea.Poller(interval=-1)
    poller = ea.Poller()
    with pytest.raises(ea.ValidationError):
        poller.add_bitget("x", ea.BitgetCredentials("a", "b", "c"), product_types=["SPOT"])
    with pytest.raises(ea.ValidationError):
        poller.add_coinw("x", ea.CoinWCredentials("a", "b"), position_types=[])
