"""Each account's checkpoint (its orders as last announced) and the commit that moves it.

`Checkpoints.commit` runs one script (`scripts.COMMIT`) that checks the lease, moves the
checkpoint and appends the events to the stream together: a worker that lost the lease can
neither announce nor move anything, and what it committed is never announced again.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..poller.events import Event, Order, OrderChanged, OrderClosed, OrderOpened
from ..poller.publish import LeaseLostError
from ..poller.tasks import uncancelled
from .codec import decode_order, encode_event, encode_order
from .keys import FleetKeys
from .leases import Lease
from .scripts import COMMIT

__all__ = ["Checkpoints"]


class Checkpoints:
    """Reads and commits the checkpoints of one fleet for one worker."""

    def __init__(self, client: Any, keys: FleetKeys, worker: str, *, maxlen: int) -> None:
        self._client = client
        self._keys = keys
        self._worker = worker
        self._maxlen = maxlen
        self._commit = client.register_script(COMMIT)
        self.commits = 0
        """Commits that went through."""
        self.refused = 0
        """Commits refused because the lease was not ours any more."""

    async def load(self, account: str, exchange: str) -> dict[str, Order] | None:
        """The account's orders as last announced, or None when it never had a checkpoint
        (its first snapshot is then announced as ``initial``)."""
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._keys.checkpoint(account))
            pipe.hget(self._keys.meta(account), "seq")
            orders, seq = await uncancelled(pipe.execute())
        if seq is None:
            return None
        return {
            (k.decode() if isinstance(k, bytes) else k): decode_order(exchange, v)
            for k, v in orders.items()
        }

    async def commit(self, lease: Lease, account: str, events: list[Event]) -> list[Event]:
        """Append ``events`` to the stream and move the checkpoint, if ``lease`` still holds
        in Redis; returns them with their ``event_id``. Raises `LeaseLostError` otherwise."""
        if not events:
            return []
        args: list[Any] = [lease.value, lease.epoch, self._maxlen, account, self._worker]
        args.append(len(events))
        for event in events:
            args.extend(_operation(event))
        keys = [
            self._keys.lease(lease.shard),
            self._keys.checkpoint(account),
            self._keys.meta(account),
            self._keys.stream,
        ]
        first = int(await uncancelled(self._commit(keys=keys, args=args)))
        if first < 0:
            self.refused += 1
            raise LeaseLostError(f"the lease on account {account!r} is not ours any more")
        self.commits += 1
        prefix = f"{account}:{lease.epoch}:"
        return [_with_id(event, f"{prefix}{first + i}") for i, event in enumerate(events)]


def _operation(event: Event) -> tuple[bytes, str, str, bytes]:
    """(data, op, order key, order bytes) of one event for `scripts.COMMIT`."""
    data = encode_event(event)
    if isinstance(event, OrderOpened | OrderChanged):
        return data, "s", event.key, encode_order(event.order)
    if isinstance(event, OrderClosed):
        return data, "d", event.key, b""
    return data, "", "", b""


def _with_id(event: Event, event_id: str) -> Event:
    return msgspec.structs.replace(event, event_id=event_id)
