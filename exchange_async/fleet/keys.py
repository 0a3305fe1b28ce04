"""Where a fleet keeps its state in Redis, and which shard an account belongs to.

Every key of a fleet shares one hash tag, ``{<name>}``, so the scripts that touch a lease, a
checkpoint and the stream at once also run on a Redis Cluster (one slot per fleet).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

__all__ = ["FleetKeys", "shard_of"]


def shard_of(account: str, shards: int) -> int:
    """The shard ``account`` belongs to: a stable hash of its name (CRC-32), the same in every
    process, on every host and across restarts."""
    return zlib.crc32(account.encode()) % shards


@dataclass(frozen=True, slots=True)
class FleetKeys:
    """The key names of one fleet (``prefix`` ``"ea"``, ``name`` the fleet's name)."""

    prefix: str
    name: str

    @property
    def base(self) -> str:
        return f"{self.prefix}:fleet:{{{self.name}}}"

    @property
    def workers(self) -> str:
        """Sorted set: worker id -> when it stops counting as live (Redis time, ms)."""
        return f"{self.base}:workers"

    @property
    def epochs(self) -> str:
        """Hash: shard -> the last epoch handed out (the fencing token, only grows)."""
        return f"{self.base}:epochs"

    @property
    def accounts(self) -> str:
        """Set: the account names the workers watch (for `Fleet.owners`)."""
        return f"{self.base}:accounts"

    @property
    def stream(self) -> str:
        """Stream: every event of every account, in commit order."""
        return f"{self.base}:events"

    def lease(self, shard: int) -> str:
        """String ``"<worker>|<epoch>"`` with a TTL: who holds ``shard``."""
        return f"{self.base}:lease:{shard}"

    def checkpoint(self, account: str) -> str:
        """Hash: order key -> the order as last announced (msgpack)."""
        return f"{self.base}:ckpt:{account}"

    def meta(self, account: str) -> str:
        """Hash: ``seq`` (events committed so far) and ``epoch`` (of the last commit)."""
        return f"{self.base}:meta:{account}"
