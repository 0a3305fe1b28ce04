"""A worker's leases on shards: taken with ``SET NX PX`` and an epoch, renewed by a script,
trusted only as long as the worker's own clock says they are still valid.

A lease's local validity ends ``margin`` seconds before Redis lets it expire, counted from the
moment the worker *sent* the command that took or renewed it: Redis started its TTL later
than that, so when the worker stops trusting a lease Redis has not handed it to anyone yet. A
worker that was paused (a long GC, SIGSTOP, a frozen VM) therefore finds, before it sends
anything, that its leases lapsed, whatever Redis did meanwhile.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import Any

from ..poller.tasks import uncancelled
from .keys import FleetKeys
from .scripts import ACQUIRE, HEARTBEAT, RELEASE, RENEW

__all__ = ["Lease", "Leases", "preference"]


@dataclass(frozen=True, slots=True)
class Lease:
    """One shard held under one epoch (a lease taken again is a new `Lease`)."""

    shard: int
    epoch: int
    value: str
    """``"<worker>|<epoch>"``, the lease key's value in Redis."""


def preference(worker: str, shards: int) -> list[int]:
    """Every shard, the ones ``worker`` prefers first (rendezvous hashing): workers reach
    for different shards, and after churn each shard tends back to the same worker."""
    return sorted(range(shards), key=lambda s: zlib.crc32(f"{worker}/{s}".encode()), reverse=True)


class Leases:
    """The shards one worker holds, and the Redis calls that take, keep and give them back.

    ``ttl`` and ``margin`` are seconds; every method but `valid` is one round trip.
    """

    def __init__(
        self, client: Any, keys: FleetKeys, worker: str, *, ttl: float, margin: float, shards: int
    ) -> None:
        self._client = client
        self._keys = keys
        self.worker = worker
        self._ttl_ms = round(ttl * 1000)
        self._valid_for = ttl - margin
        self._order = preference(worker, shards)
        self._rank = {shard: i for i, shard in enumerate(self._order)}
        self.held: dict[int, Lease] = {}
        self._valid_until: dict[int, float] = {}
        self._heartbeat = client.register_script(HEARTBEAT)
        self._acquire = client.register_script(ACQUIRE)
        self._renew = client.register_script(RENEW)
        self._release = client.register_script(RELEASE)

    def valid(self, lease: Lease) -> bool:
        """Whether ``lease`` is still held and, by this process's clock, not yet lapsed."""
        return (
            self.held.get(lease.shard) == lease
            and time.monotonic() < self._valid_until[lease.shard]
        )

    async def heartbeat(self, *, leaving: bool = False) -> list[str]:
        """Count this worker live for another ``ttl`` (or, ``leaving``, no more); returns
        the live workers' ids."""
        args = [self.worker, self._ttl_ms, 1 if leaving else 0]
        reply = await uncancelled(self._heartbeat(keys=[self._keys.workers], args=args))
        return [w.decode() if isinstance(w, bytes) else str(w) for w in reply]

    async def renew(self) -> list[Lease]:
        """Renew every lease held; returns the ones lost (and forgets them)."""
        leases = list(self.held.values())
        if not leases:
            return []
        sent = time.monotonic()
        keys = [self._keys.lease(lease.shard) for lease in leases]
        flags = await uncancelled(
            self._renew(keys=keys, args=[self._ttl_ms, *(x.value for x in leases)])
        )
        lost = []
        for lease, flag in zip(leases, flags, strict=True):
            if int(flag):
                self._valid_until[lease.shard] = sent + self._valid_for
            else:
                lost.append(lease)
                self._forget(lease)
        return lost

    async def acquire(self, want: int) -> list[Lease]:
        """Take up to ``want`` free shards, the preferred ones first; returns the new leases."""
        candidates = [s for s in self._order if s not in self.held]
        if want <= 0 or not candidates:
            return []
        sent = time.monotonic()
        keys = [self._keys.epochs, *(self._keys.lease(s) for s in candidates)]
        reply = await uncancelled(
            self._acquire(keys=keys, args=[self.worker, self._ttl_ms, want, *candidates])
        )
        taken = []
        for shard, epoch in zip(reply[::2], reply[1::2], strict=True):
            lease = Lease(int(shard), int(epoch), f"{self.worker}|{int(epoch)}")
            self.held[lease.shard] = lease
            self._valid_until[lease.shard] = sent + self._valid_for
            taken.append(lease)
        return taken

    def surplus(self, keep: int) -> list[Lease]:
        """The leases beyond the ``keep`` this worker prefers most."""
        ranked = sorted(self.held.values(), key=lambda lease: self._rank[lease.shard])
        return ranked[keep:]

    async def release(self, leases: list[Lease]) -> None:
        """Give ``leases`` back (each only if it is still ours) so others take them now."""
        for lease in leases:
            self._forget(lease)
        if leases:
            keys = [self._keys.lease(lease.shard) for lease in leases]
            await uncancelled(self._release(keys=keys, args=[lease.value for lease in leases]))

    def _forget(self, lease: Lease) -> None:
        if self.held.get(lease.shard) == lease:
            del self.held[lease.shard]
            del self._valid_until[lease.shard]
