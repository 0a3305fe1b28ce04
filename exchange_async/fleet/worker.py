"""`FleetWorker`: one process's part of a fleet, the publisher of its `Poller`.

Every ``renew_every`` seconds it runs one round: heartbeat (the live workers), renew its
leases (halting the accounts of any it lost), then rebalance to its fair share,
``ceil(shards / live workers)``: surplus shards are halted first and released after, so no
two workers ever poll one account; missing shards are taken, preferred ones first. Then every
account of a held shard is (re)started under its lease: it waits out the handoff gap, loads
its checkpoint and polls, committing each snapshot's events through `Checkpoints`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from typing import Any, Protocol

from .._core.transport import Transport
from ..poller.events import Event
from ..poller.publish import AccountRunner, CommitError, LeaseLostError
from ..poller.status import Account
from ..poller.tasks import stop, uncancelled
from .checkpoints import Checkpoints
from .connection import connect, redis_errors, unavailable
from .guard import GuardedTransport
from .keys import FleetKeys
from .leases import Lease, Leases

__all__ = ["FleetSettings", "FleetWorker"]

log = logging.getLogger("exchange_async.fleet")

JOIN_WAIT = 0.3
"""Seconds a starting worker waits after announcing itself before it takes shards, so workers
started together share them from the first round instead of one taking all."""
_RETRY = 0.25
"""Seconds between attempts to read a checkpoint while Redis does not answer."""


class FleetSettings(Protocol):
    """What a worker reads of its `Fleet`."""

    url: str
    keys: FleetKeys
    worker_id: str
    lease_ttl: float
    lease_margin: float
    shards: int
    handoff_gap: float
    max_events: int

    @property
    def renew_every(self) -> float: ...

    def shard_of(self, account: str) -> int: ...


class FleetWorker:
    """Leases shards for one `Poller` and records its events (see the module docstring)."""

    def __init__(self, fleet: FleetSettings, runner: AccountRunner) -> None:
        self.fleet = fleet
        self._runner = runner
        self._errors = redis_errors()
        self._client: Any = None
        self._leases: Leases | None = None
        self._checkpoints: Checkpoints | None = None
        self._claims: dict[str, Lease] = {}
        self._taken_at: dict[int, float] = {}
        self._shards: dict[str, int] = {}
        self._registered: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self.rounds = 0
        """Rounds completed (heartbeat, renew, rebalance)."""
        self.taken = 0
        """Leases taken so far."""

    # -- what the poller asks ------------------------------------------------------------------

    def transport_for(self, name: str, transport: Transport) -> Transport:
        return GuardedTransport(transport, lambda: self._may_send(name), name)

    def _may_send(self, name: str) -> bool:
        lease = self._claims.get(name)
        return lease is not None and self._leases is not None and self._leases.valid(lease)

    def may_poll(self, account: Account) -> bool:
        return self._may_send(account.status.name)

    def lease_of(self, name: str) -> Lease | None:
        """The lease account ``name`` is polled under here, if it still holds."""
        lease = self._claims.get(name)
        return lease if lease is not None and self._may_send(name) else None

    async def start(self) -> None:
        fleet = self.fleet
        self._client = client = connect(fleet.url, timeout=max(0.5, fleet.lease_ttl / 3))
        self._leases = Leases(
            client,
            fleet.keys,
            fleet.worker_id,
            ttl=fleet.lease_ttl,
            margin=fleet.lease_margin,
            shards=fleet.shards,
        )
        self._checkpoints = Checkpoints(
            client, fleet.keys, fleet.worker_id, maxlen=fleet.max_events
        )
        try:
            await self._leases.heartbeat()
            await asyncio.sleep(min(JOIN_WAIT, fleet.renew_every))
            await self._round()
        except self._errors as error:  # the poller's start fails, and closes everything
            raise unavailable(error) from None
        self._task = asyncio.create_task(self._maintain(), name="exchange_async.fleet")

    def added(self, name: str) -> None:
        self._start_held()

    async def resume(self, account: Account) -> bool:
        name = account.status.name
        lease = self._claims.get(name)
        if lease is None:
            raise LeaseLostError(f"no lease on account {name!r}")
        wait = self._taken_at.get(lease.shard, 0.0) + self.fleet.handoff_gap - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        assert self._checkpoints is not None
        while True:
            if not self._may_send(name):
                raise LeaseLostError(f"the lease on account {name!r} lapsed")
            try:
                known = await self._checkpoints.load(name, account.status.exchange)
                break
            except self._errors:
                log.warning("%s: the fleet's Redis did not answer; retrying", name)
                await asyncio.sleep(_RETRY)
        account.known = dict(known or {})
        return known is None

    async def commit(self, account: Account, events: list[Event]) -> list[Event]:
        name = account.status.name
        lease = self._claims.get(name)
        if lease is None or not self._may_send(name):
            raise LeaseLostError(f"the lease on account {name!r} lapsed")
        assert self._checkpoints is not None
        try:
            return await self._checkpoints.commit(lease, name, events)
        except self._errors as error:
            raise CommitError(f"the fleet's Redis did not answer: {type(error).__name__}") from None

    async def aclose(self) -> None:
        """Stop the rounds and give every lease back (the poller halted its accounts first)."""
        if self._task is not None:
            await stop(self._task)
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if self._leases is not None:
                # Bounded whatever Redis does: leases not given back lapse by themselves.
                with contextlib.suppress(*self._errors):
                    async with asyncio.timeout(self.fleet.lease_ttl):
                        await self._leases.release(list(self._leases.held.values()))
                        await self._leases.heartbeat(leaving=True)
        finally:
            self._claims.clear()
            await client.aclose(close_connection_pool=True)

    # -- the rounds ----------------------------------------------------------------------------

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(self.fleet.renew_every)
            try:
                await self._round()
            except self._errors as error:  # the leases lapse by themselves if this lasts
                log.warning("fleet round failed: %s: %s", type(error).__name__, error)
            except Exception:  # a bug: keep the rounds going (the leases would lapse)
                log.exception("fleet round failed unexpectedly")

    async def _round(self) -> None:
        leases = self._leases
        assert leases is not None
        live = await leases.heartbeat()
        for lease in await leases.renew():
            log.info("lost shard %d (epoch %d)", lease.shard, lease.epoch)
            await self._halt_shard(lease)
        share = math.ceil(self.fleet.shards / max(1, len(live)))
        surplus = leases.surplus(share)
        if surplus:
            for lease in surplus:
                await self._halt_shard(lease)
            await leases.release(surplus)
        elif len(leases.held) < share:
            for lease in await leases.acquire(share - len(leases.held)):
                self._taken_at[lease.shard] = time.monotonic()
                self.taken += 1
        await self._register()
        self._start_held()
        self.rounds += 1

    async def _halt_shard(self, lease: Lease) -> None:
        """Stop every account polled under ``lease`` and wait until each has stopped."""
        names = [n for n, held in self._claims.items() if held == lease]
        await asyncio.gather(*(self._runner.halt(n) for n in names))
        for name in names:
            if self._claims.get(name) == lease:
                del self._claims[name]

    def _start_held(self) -> None:
        """(Re)start every account of a held shard that is not running under its lease."""
        if self._leases is None:
            return
        held = self._leases.held
        for name in self._runner.names():
            lease = held.get(self._shard(name))
            if lease is None:
                continue
            self._claims[name] = lease
            self._runner.launch(name)

    def _shard(self, name: str) -> int:
        shard = self._shards.get(name)
        if shard is None:
            shard = self._shards[name] = self.fleet.shard_of(name)
        return shard

    async def _register(self) -> None:
        """Add the names of accounts added since the last round to the fleet's set."""
        new = [n for n in self._runner.names() if n not in self._registered]
        if new:
            await uncancelled(self._client.sadd(self.fleet.keys.accounts, *new))
            self._registered.update(new)
