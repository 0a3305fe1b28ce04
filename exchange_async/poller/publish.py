"""Where a poller's events go before its consumer sees them: a `Publisher`.

Alone, a poller numbers its events itself (`LocalPublisher`). In a fleet (``Poller(fleet=)``)
the fleet's worker is the publisher: it decides which accounts this process polls, resumes each
from its checkpoint, and commits every event to the fleet's stream before it is yielded.
"""

from __future__ import annotations

import secrets
from typing import Protocol

import msgspec

from .._core.transport import Transport
from .._errors import ExchangeError
from .events import Event
from .status import Account

__all__ = [
    "AccountRunner",
    "CommitError",
    "JoinsFleet",
    "LeaseLostError",
    "LocalPublisher",
    "Publisher",
]


class LeaseLostError(ExchangeError):
    """This worker no longer holds the account's lease (it lapsed, or another worker took it):
    nothing was sent or written. The poller stops the account quietly; the new owner goes on."""


class CommitError(ExchangeError):
    """The events could not be recorded (the fleet's Redis did not answer): the snapshot is
    dropped, nothing is yielded, and the account tries again after its back-off."""


class AccountRunner(Protocol):
    """What a publisher may do to the poller's account tasks."""

    def names(self) -> list[str]:
        """The names of every account added."""
        ...

    def launch(self, name: str) -> None:
        """Start polling ``name`` (nothing when it runs, stopped for good, or is unknown)."""
        ...

    async def halt(self, name: str) -> None:
        """Stop polling ``name`` and wait until its task has ended."""
        ...


class Publisher(Protocol):
    """Decides which accounts run and records their events (see the module docstring)."""

    def transport_for(self, name: str, transport: Transport) -> Transport:
        """The transport the client of account ``name`` should use."""
        ...

    async def start(self) -> None:
        """Start the accounts this process should poll."""
        ...

    def added(self, name: str) -> None:
        """Account ``name`` was added while the poller runs."""
        ...

    def may_poll(self, account: Account) -> bool:
        """Whether a snapshot of ``account`` may start now."""
        ...

    async def resume(self, account: Account) -> bool:
        """Fill ``account.known`` before its first snapshot; True when that snapshot's orders
        are ``initial`` (never seen before)."""
        ...

    async def commit(self, account: Account, events: list[Event]) -> list[Event]:
        """Record ``events`` of ``account``; return them with their ``event_id``. Raises
        `LeaseLostError` or `CommitError` when nothing was recorded."""
        ...

    async def aclose(self) -> None:
        """Give back what it holds (after the account tasks have stopped)."""
        ...


class LocalPublisher:
    """One poller on its own: every account runs, ids are ``<account>:local-<run>:<n>``."""

    def __init__(self, runner: AccountRunner) -> None:
        self._runner = runner
        self._epoch = f"local-{secrets.token_hex(4)}"
        self._sequence: dict[str, int] = {}

    def transport_for(self, name: str, transport: Transport) -> Transport:
        return transport

    async def start(self) -> None:
        for name in self._runner.names():
            self._runner.launch(name)

    def added(self, name: str) -> None:
        self._runner.launch(name)

    def may_poll(self, account: Account) -> bool:
        return True

    async def resume(self, account: Account) -> bool:
        return not account.known

    async def commit(self, account: Account, events: list[Event]) -> list[Event]:
        name = account.status.name
        first = self._sequence.get(name, 0) + 1
        self._sequence[name] = first + len(events) - 1
        ids = (f"{name}:{self._epoch}:{first + i}" for i in range(len(events)))
        return [msgspec.structs.replace(e, event_id=i) for e, i in zip(events, ids, strict=True)]

    async def aclose(self) -> None:
        return None


class JoinsFleet(Protocol):
    """What ``Poller(fleet=...)`` takes: an `ea.Fleet`, which makes the poller's publisher."""

    def publisher(self, runner: AccountRunner) -> Publisher:
        """The publisher (the fleet's worker) for the poller ``runner``."""
        ...
