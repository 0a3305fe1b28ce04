"""The demo's own record of when it sent each request, to set against the simulator's.

`SendLog` wraps the transport every client of the demo sends through and notes, per API key
and path, ``time.time()`` at the moment the transport is about to write the request (after
any wait the rate limiter asked for at that moment): the same clock as the simulator's
arrival stamps, on the same host. The summary pairs the two (`Simulator.referee`), so it
can say whether requests over a limit left the client that way or bunched after it.
"""

from __future__ import annotations

import json
import time
from array import array
from collections.abc import Awaitable, Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ... import Transport, TransportRequest, TransportResponse

if TYPE_CHECKING:
    from ..._core.transport import OnSent
    from .._sim import FleetAccount

__all__ = ["SendLog", "read_sends"]

Scope = tuple[str, str, str]
"""(exchange, account, path): as the simulator's referee keys its arrivals."""
KEY_HEADERS = ("ACCESS-KEY", "api_key")
"""Where Bitget and CoinW requests carry the API key."""


class SendLog:
    """A `Transport` around ``inner`` that logs when each request was sent (see module)."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.sent: dict[tuple[str, str], array[float]] = {}
        """``time.time()`` of each send, by (API key, path)."""

    async def send(self, request: TransportRequest, on_sent: OnSent) -> TransportResponse:
        """Send through ``inner``, noting the moment its ``on_sent`` lets the request go."""

        def stamped() -> Awaitable[None] | None:
            waiting = on_sent()
            if waiting is None:
                self._note(request)
                return None
            return self._after(waiting, request)

        return await self.inner.send(request, stamped)

    async def _after(self, waiting: Awaitable[None], request: TransportRequest) -> None:
        await waiting
        self._note(request)

    def _note(self, request: TransportRequest) -> None:
        now = time.time()
        key = next((request.headers[h] for h in KEY_HEADERS if h in request.headers), "")
        where = (key, urlsplit(request.url).path)
        times = self.sent.get(where)
        if times is None:
            times = self.sent[where] = array("d")
        times.append(now)

    async def aclose(self) -> None:
        """Close ``inner``."""
        await self.inner.aclose()

    def by_scope(self, fleet: Iterable[FleetAccount]) -> dict[Scope, list[float]]:
        """The sends of ``fleet``'s accounts, keyed as the referee keys arrivals (sends with
        another key, e.g. the bad key's, are left out: the referee counts no account)."""
        accounts = {a.api_key: (a.exchange, a.uid) for a in fleet}
        scopes: dict[Scope, list[float]] = {}
        for (key, path), times in self.sent.items():
            account = accounts.get(key)
            if account is not None:
                scopes.setdefault((*account, path), []).extend(times)
        return scopes

    def write(self, path: str, fleet: Iterable[FleetAccount]) -> None:
        """Save :meth:`by_scope` to ``path``: one JSON line per scope."""
        with open(path, "w", encoding="utf-8") as file:
            for scope, times in self.by_scope(fleet).items():
                file.write(json.dumps({"scope": scope, "sent": times}) + "\n")


def read_sends(paths: Iterable[str]) -> dict[Scope, list[float]]:
    """The sends :meth:`SendLog.write` saved in ``paths``, merged (missing files skipped)."""
    scopes: dict[Scope, list[float]] = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as file:
                for line in file:
                    record = json.loads(line)
                    exchange, account, where = record["scope"]
                    scopes.setdefault((exchange, account, where), []).extend(record["sent"])
        except FileNotFoundError:
            continue
    return scopes
