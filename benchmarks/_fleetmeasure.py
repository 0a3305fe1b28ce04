"""The fleet benchmark's measurements: the stream's throughput, and what the consumer saw."""

from __future__ import annotations

import time
from typing import Any

from ._sdk import fleet_committer, sdk_decoders
from ._sim import bitget_body

__all__ = ["Seen", "latencies", "problems", "throughput"]

Seen = tuple[float, Any, float | None]
"""One delivered event: ``time.monotonic()`` at the consumer, the event, and when Redis
appended it (``FleetEvents.committed_at``, Unix seconds)."""


async def throughput(url: str, events: int) -> tuple[float, float, float]:
    """Events/s committed, then consumed acknowledging each, then acknowledging a batch."""
    import exchange_async as ea

    commit, close = await fleet_committer(url, "tp", events * 2)
    try:
        orders = sdk_decoders()[0](bitget_body(10)).tracking_list
        batch: list[ea.Event] = [
            ea.OrderChanged(
                account="acc",
                exchange="bitget",
                at=time.time(),
                key=order.tracking_no,
                order=order,
                previous=order,
                changes=("follow_count",),
            )
            for order in orders
        ]
        began = time.perf_counter()
        for _ in range(events // 10):
            await commit(batch)
        committed = events / (time.perf_counter() - began)
    finally:
        await close()
    return committed, await _read(url, "one", events, 1), await _read(url, "batch", events, 500)


async def _read(url: str, group: str, events: int, per_ack: int) -> float:
    """Events/s read, decoded and acknowledged (``per_ack`` at a time) by a new group."""
    import exchange_async as ea

    got: list[ea.Event] = []
    began = time.perf_counter()
    async with ea.FleetEvents(url, name="tp", group=group, consumer="c", batch=500) as reader:
        async for event in reader:
            got.append(event)
            if len(got) % per_ack == 0 or len(got) == events:
                await reader.ack(*got[-per_ack:])
            if len(got) == events:
                break
    return events / (time.perf_counter() - began)


def latencies(
    seen: list[Seen], changes: list[Any], uid: dict[str, str]
) -> list[tuple[float, float, float]]:
    """Per announced change: seconds from the earliest unannounced change of the order to the
    event announcing it reaching the consumer; of those, the part after the worker built the
    event (its ``at``: commit, stream, read); and the part after Redis appended it (read)."""
    import exchange_async as ea

    wall = time.time() - time.monotonic()  # one machine: the workers' wall clock is ours

    pending: dict[tuple[str, str], list[float]] = {}
    for t, account, key in changes:
        pending.setdefault((account, key), []).append(t)
    out = []
    for received, event, committed in seen:
        if not isinstance(event, ea.OrderEvent) or getattr(event, "initial", False):
            continue
        times = pending.get((uid[event.account], event.key), [])
        due = [t for t in times if t <= received]
        if due:
            after_commit = received - (committed - wall) if committed else float("nan")
            out.append((received - due[0], received - (event.at - wall), after_commit))
            pending[(uid[event.account], event.key)] = [t for t in times if t > received]
    return out


def problems(seen: list[Seen]) -> list[str]:
    """Events delivered twice, and gaps in an account's sequence numbers."""
    ids = [e.event_id for _, e, _ in seen]
    problems = (
        [f"{len(ids) - len(set(ids))} events delivered twice"] if len(set(ids)) < len(ids) else []
    )
    last: dict[str, int] = {}
    for _, event, _ in seen:
        number = int(event.event_id.rpartition(":")[2])
        if event.account in last and number != last[event.account] + 1:
            problems.append(f"{event.event_id} follows {last[event.account]}")
        last[event.account] = number
    return problems
