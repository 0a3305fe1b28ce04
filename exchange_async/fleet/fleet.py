"""`Fleet`: the settings every worker of one fleet shares, and who holds which account."""

from __future__ import annotations

import os
import socket
import uuid
from typing import TYPE_CHECKING

from .._core.limits import check_redis_url
from .._core.params import check_int_range, check_seconds
from .._core.pipeline.signing import require_text
from .._errors import ValidationError
from ..poller.tasks import uncancelled
from .connection import connect, redis_errors, unavailable
from .keys import FleetKeys, shard_of
from .worker import FleetWorker

if TYPE_CHECKING:
    from ..poller.publish import AccountRunner

__all__ = ["Fleet"]


class Fleet:
    """Many worker processes, on any hosts, sharing a set of accounts through Redis at ``url``.

    ::

        fleet = ea.Fleet("redis://host:6379/0", name="copy-desk")
        async with ea.Poller(fleet=fleet, rate_limits="redis://host:6379/0") as poller:
            poller.add_bitget("lead-17", credentials)   # every worker adds the same accounts
            async for event in poller:                  # those this worker holds right now
                ...

    Accounts hash to ``shards`` shards; each worker leases a fair share of them and polls their
    accounts. A lease lasts ``lease_ttl`` seconds and is renewed every third of that, so a
    worker that dies loses its accounts to the others within about ``lease_ttl * 4 / 3``
    seconds (default 5: under 7 s). A worker trusts a lease only until ``lease_margin`` seconds
    (default a tenth of ``lease_ttl``) before Redis could give it away, by its own clock.
    ``handoff_gap`` (seconds, default 1) separates the last request of the previous owner from
    the first of the next, so an account's per-second limits hold across a handoff even when
    they are kept in-process. The stream keeps about ``max_events`` events (``MAXLEN ~``).
    ``worker_id`` names this process in `owners` (default ``<host>-<pid>-<random>``).

    Constructing it does no I/O. One `Poller` per `Fleet` object.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str,
        lease_ttl: float = 5.0,
        lease_margin: float | None = None,
        shards: int = 64,
        handoff_gap: float = 1.0,
        max_events: int = 100_000,
        worker_id: str | None = None,
        key_prefix: str = "ea",
    ) -> None:
        self.url = check_redis_url(url, "Fleet's url")
        self.name = require_text("name", name)
        self.lease_ttl = check_seconds("lease_ttl", lease_ttl, minimum=0.3, maximum=3600.0)
        margin = lease_ttl / 10 if lease_margin is None else lease_margin
        self.lease_margin = check_seconds("lease_margin", margin, maximum=lease_ttl / 3)
        self.shards = check_int_range("shards", shards, 1, 16_384)
        self.handoff_gap = check_seconds("handoff_gap", handoff_gap, maximum=60.0)
        self.max_events = check_int_range("max_events", max_events, 100, 1 << 40)
        if worker_id is None:
            worker_id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.worker_id = require_text("worker_id", worker_id)
        if "|" in self.worker_id:
            raise ValidationError("worker_id must not contain '|'")
        self.keys = FleetKeys(require_text("key_prefix", key_prefix), self.name)

    @property
    def renew_every(self) -> float:
        """Seconds between a worker's rounds: heartbeat, renew, rebalance."""
        return self.lease_ttl / 3

    def shard_of(self, account: str) -> int:
        """The shard ``account`` belongs to."""
        return shard_of(account, self.shards)

    def publisher(self, runner: AccountRunner) -> FleetWorker:
        """This process's worker for a poller (``Poller(fleet=...)`` calls it)."""
        return FleetWorker(self, runner)

    async def owners(self) -> dict[str, str]:
        """``{account name: worker id}`` for every account some live worker holds right now
        (accounts no one holds, for example during a takeover, are left out). Raises
        `ea.TransportError` when Redis does not answer."""
        client = connect(self.url, timeout=max(1.0, self.lease_ttl))
        try:
            names = await uncancelled(client.smembers(self.keys.accounts))
            values = await uncancelled(
                client.mget([self.keys.lease(s) for s in range(self.shards)])
            )
        except redis_errors() as error:
            raise unavailable(error) from None
        finally:
            await client.aclose(close_connection_pool=True)
        holders = {
            shard: value.decode().rpartition("|")[0]
            for shard, value in enumerate(values)
            if value is not None
        }
        owners = {}
        for raw in names:
            name = raw.decode()
            holder = holders.get(self.shard_of(name))
            if holder is not None:
                owners[name] = holder
        return dict(sorted(owners.items()))

    def __repr__(self) -> str:
        return f"Fleet(name={self.name!r}, worker_id={self.worker_id!r}, shards={self.shards})"
