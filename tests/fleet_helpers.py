"""What the fleet tests share: adding the simulator's demo accounts, reading the whole stream,
and replaying events into books checked against the simulator's own orders."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import redis.asyncio as aioredis

import exchange_async as ea
from exchange_async.fleet.codec import decode_event
from exchange_async.fleet.keys import FleetKeys
from exchange_async_sim import FleetAccount, Simulator

ALL_PRODUCTS = ("USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES")


def add_accounts(poller: ea.Poller, accounts: list[FleetAccount], base_url: str) -> None:
    """Watch every demo account (every product type on Bitget, as the simulator serves)."""
    for a in accounts:
        if a.exchange == "bitget":
            assert a.passphrase is not None
            credentials = ea.BitgetCredentials(a.api_key, a.secret_key, a.passphrase)
            poller.add_bitget(a.name, credentials, base_url=base_url, product_types=ALL_PRODUCTS)
        else:
            credentials_w = ea.CoinWCredentials(a.api_key, a.secret_key)
            poller.add_coinw(a.name, credentials_w, base_url=base_url)


async def stream_events(url: str, name: str) -> list[ea.Event]:
    """Every event the fleet's stream holds, in stream order."""
    client = aioredis.Redis.from_url(url)
    try:
        entries: Any = await client.xrange(FleetKeys("ea", name).stream)
    finally:
        await client.aclose()
    return [decode_event(fields[b"data"], fields[b"id"].decode()) for _, fields in entries]


def books(events: list[ea.Event]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each account's orders after ``events`` (de-duplicated by event_id), and every
    contradiction found: an order opened twice, changed or closed while unknown, ``initial``
    twice, or a gap or repeat in an account's sequence numbers."""
    seen: set[str] = set()
    state: dict[str, dict[str, Any]] = defaultdict(dict)
    initial: set[tuple[str, str]] = set()
    sequence: dict[str, int] = {}
    problems: list[str] = []
    for e in events:
        if e.event_id in seen:
            continue
        seen.add(e.event_id)
        number = int(e.event_id.rpartition(":")[2])
        if number != sequence.get(e.account, 0) + 1:
            problems.append(f"{e.event_id}: after {sequence.get(e.account, 0)}")
        sequence[e.account] = number
        book = state[e.account]
        if isinstance(e, ea.OrderOpened):
            if e.key in book:
                problems.append(f"{e.event_id}: {e.key} opened twice")
            if e.initial and (e.account, e.key) in initial:
                problems.append(f"{e.event_id}: {e.key} initial twice")
            if e.initial:
                initial.add((e.account, e.key))
            book[e.key] = e.order
        elif isinstance(e, ea.OrderChanged):
            if book.get(e.key) != e.previous:
                problems.append(f"{e.event_id}: {e.key} changed from an unknown state")
            book[e.key] = e.order
        elif isinstance(e, ea.OrderClosed) and book.pop(e.key, None) is None:
            problems.append(f"{e.event_id}: {e.key} closed but not open")
    return dict(state), problems


def truth_mismatches(
    sim: Simulator, accounts: list[FleetAccount], state: dict[str, dict[str, Any]]
) -> list[str]:
    """Accounts whose replayed book differs from the simulator's open orders (keys, and the
    fields a change touches)."""
    wrong = []
    for a in accounts:
        truth = sim.open_orders(a.api_key)
        book = state.get(a.name, {})
        if set(book) != set(truth):
            wrong.append(f"{a.name}: {len(book)} orders replayed, {len(truth)} at the server")
            continue
        for key, order in book.items():
            for field in ("follow_count", "current_piece", "trigger_price"):
                if hasattr(order, field) and getattr(order, field) != getattr(truth[key], field):
                    wrong.append(f"{a.name}: {key}.{field}")
    return wrong


async def wait_until(predicate: Any, timeout: float, what: str) -> None:
    """Poll ``predicate`` every 20 ms; fail naming ``what`` after ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"not within {timeout:g} s: {what}") from None
