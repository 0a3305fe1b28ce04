"""`FleetEvents`: every account's events, from every worker, through a Redis consumer group."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Self

from .._core.limits import check_redis_url
from .._core.params import check_int_range, check_seconds
from .._core.pipeline.signing import require_text
from .._errors import ClientClosedError
from ..poller.events import Event
from ..poller.tasks import uncancelled
from .codec import decode_event
from .connection import connect, redis_errors, transient_errors, unavailable
from .keys import FleetKeys

__all__ = ["FleetEvents"]

log = logging.getLogger("exchange_async.fleet")

_RETRY_FIRST = 0.1
"""Seconds before reading again after Redis did not answer (doubling up to `_RETRY_MAX`)."""
_RETRY_MAX = 2.0

Entry = tuple[bytes, dict[bytes, bytes]]


class FleetEvents:
    """Reads a fleet's event stream as ``consumer`` of consumer group ``group``.

    ::

        async with ea.FleetEvents(url, name="copy-desk", group="risk", consumer="risk-1") as events:
            async for event in events:
                handle(event)                # de-duplicate by event.event_id
                await events.ack(event)

    Every event is delivered **at least once** to some consumer of the group: one that is not
    acknowledged within ``claim_idle`` seconds (its consumer died, or hangs) is claimed by
    another consumer of the group (``XAUTOCLAIM``, tried every ``claim_every`` seconds), and a
    consumer that restarts under the same name first gets what it had not acknowledged. So
    handle events idempotently, or remember the ``event_id``\\ s you have handled. Events of
    one account come in order, except a redelivered one, which comes again later.

    A new group starts at ``start``: ``"0"`` (default) every event the stream still holds,
    ``"$"`` only events committed from now on. ``batch`` events are read per call; a read waits
    at most ``block`` seconds for new events.

    A stream entry that is no event (written by another program, or by a newer SDK) is
    acknowledged, logged by its stream id and counted in `skipped`, never yielded.
    """

    def __init__(
        self,
        url: str,
        *,
        name: str,
        group: str,
        consumer: str,
        start: str = "0",
        batch: int = 100,
        block: float = 1.0,
        claim_idle: float = 30.0,
        claim_every: float = 5.0,
        key_prefix: str = "ea",
    ) -> None:
        self._url = check_redis_url(url, "FleetEvents' url")
        self.group = require_text("group", group)
        self.consumer = require_text("consumer", consumer)
        self._start = require_text("start", start)
        self._batch = check_int_range("batch", batch, 1, 100_000)
        self._block_ms = round(check_seconds("block", block, maximum=3600.0) * 1000)
        self._claim_idle_ms = round(check_seconds("claim_idle", claim_idle) * 1000)
        self._claim_every = check_seconds("claim_every", claim_every, inclusive=False)
        keys = FleetKeys(require_text("key_prefix", key_prefix), require_text("name", name))
        self._stream = keys.stream
        self._client: Any = None
        self._closed = False
        self._entries: dict[str, bytes] = {}
        self.delivered = 0
        """Events yielded so far (redeliveries included)."""
        self.claimed = 0
        """Events taken over from another consumer of the group."""
        self.skipped = 0
        """Stream entries that were no event (acknowledged, logged, never yielded)."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def open(self) -> None:
        """Connect and create the group if it does not exist (``async with`` does this)."""
        if self._closed:
            raise ClientClosedError("FleetEvents is closed")
        if self._client is not None:
            return
        self._client = client = connect(self._url, timeout=self._block_ms / 1000 + 5.0)
        try:
            await self._create_group(self._start)
        except redis_errors() as error:
            self._client = None
            await client.aclose(close_connection_pool=True)
            raise unavailable(error) from None

    async def _create_group(self, start: str) -> None:
        from redis.exceptions import ResponseError

        try:
            await uncancelled(
                self._client.xgroup_create(self._stream, self.group, start, mkstream=True)
            )
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def aclose(self) -> None:
        """Close the connection; events not acknowledged go to other consumers later."""
        self._closed = True
        client, self._client = self._client, None
        if client is not None:
            await client.aclose(close_connection_pool=True)

    async def ack(self, *events: Event) -> None:
        """Acknowledge ``events`` (one call for many is one round trip): they will not be
        delivered to this group again. Raises `ea.TransportError` when Redis does not answer."""
        entries = [self._entries.pop(e.event_id, None) for e in events]
        wanted = [entry for entry in entries if entry is not None]
        if wanted and self._client is not None:
            try:
                await uncancelled(self._client.xack(self._stream, self.group, *wanted))
            except redis_errors() as error:  # not acknowledged: delivered again later
                raise unavailable(error) from None

    def committed_at(self, event: Event) -> float | None:
        """When Redis appended ``event`` to the stream (Unix seconds, Redis's clock, to the ms),
        for an event delivered and not acknowledged yet; else None. ``time.time()`` minus it
        is how far behind this consumer is."""
        entry = self._entries.get(event.event_id)
        if entry is None:
            return None
        return int(entry.split(b"-", 1)[0]) / 1000

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        if self._client is None:
            raise ClientClosedError("use `async with FleetEvents(...)` before iterating")
        # AttributeError: the client went away under a read (closed meanwhile).
        failures: tuple[type[BaseException], ...] = (*redis_errors(), AttributeError)
        transient = transient_errors()
        delay, pending = _RETRY_FIRST, True
        while self._client is not None:
            try:
                if pending:
                    async for event in self._pending():
                        yield event
                    pending = False
                async for event in self._live():
                    delay = _RETRY_FIRST
                    yield event
            except failures as error:
                if self._closed or self._client is None:
                    return  # closed while a read waited: the iteration just ends
                if not isinstance(error, transient):
                    raise unavailable(error) from None
                # Redis is down or restarting: read again (a new stream and group if it
                # lost its data) once it answers.
                log.warning(
                    "the fleet's Redis did not answer (%s); reading again in %.1f s",
                    type(error).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(2 * delay, _RETRY_MAX)

    async def _live(self) -> AsyncIterator[Event]:
        """New events, and every ``claim_every`` seconds those other consumers left idle."""
        next_claim = time.monotonic() + self._claim_every
        while self._client is not None:
            if time.monotonic() >= next_claim:
                next_claim = time.monotonic() + self._claim_every
                for entry in await self._claim():
                    self.claimed += 1
                    if (event := await self._event(entry)) is not None:
                        yield event
            for entry in await self._read(b">"):
                if (event := await self._event(entry)) is not None:
                    yield event

    async def _pending(self) -> AsyncIterator[Event]:
        """What this consumer was given before (a previous run) and did not acknowledge."""
        cursor = b"0"
        while entries := await self._read(cursor):
            for entry in entries:
                cursor = entry[0]
                if (event := await self._event(entry)) is not None:
                    yield event

    async def _read(self, cursor: bytes) -> list[Entry]:
        from redis.exceptions import ResponseError

        block = self._block_ms if cursor == b">" else None
        try:
            reply = await uncancelled(
                self._client.xreadgroup(
                    self.group,
                    self.consumer,
                    {self._stream: cursor},
                    count=self._batch,
                    block=block,
                )
            )
        except ResponseError as error:
            if not _stream_gone(error):
                raise
            # Redis lost the stream (restarted without persistence, or flushed): make the
            # group again, and read every event committed since.
            await self._create_group("0")
            return []
        return [e for _, entries in reply or [] for e in entries if e[1]]

    async def _claim(self) -> list[Entry]:
        """Entries idle longer than ``claim_idle`` in other consumers' hands, now ours."""
        from redis.exceptions import ResponseError

        claimed: list[Entry] = []
        start = b"0-0"
        while True:
            try:
                reply = await uncancelled(
                    self._client.xautoclaim(
                        self._stream,
                        self.group,
                        self.consumer,
                        self._claim_idle_ms,
                        start,
                        self._batch,
                    )
                )
            except ResponseError as error:
                if not _stream_gone(error):
                    raise
                return claimed  # the stream is gone: the next read starts it again
            start, entries = reply[0], reply[1]
            claimed.extend(e for e in entries if e and e[1])
            if start in (b"0-0", "0-0") or len(claimed) >= self._batch:
                return claimed

    async def _event(self, entry: Entry) -> Event | None:
        """The event of ``entry``; None for an entry that is not one (written by another
        program, or a newer SDK): it is acknowledged, so that it is never delivered again,
        and logged by its stream id (its content stays in the stream, unread)."""
        entry_id, fields = entry
        try:
            event = decode_event(fields[b"data"], fields[b"id"].decode())
        except Exception as error:  # decoding is pure: any failure means a foreign entry
            self.skipped += 1
            log.warning(
                "fleet stream entry %s skipped and acknowledged: not an event (%s)",
                entry_id.decode(errors="replace"),
                type(error).__name__,
            )
            await uncancelled(self._client.xack(self._stream, self.group, entry_id))
            return None
        self._entries[event.event_id] = entry_id
        self.delivered += 1
        return event


def _stream_gone(error: Exception) -> bool:
    """Whether Redis refused because the stream or its group no longer exists (a read blocked
    on it is woken with ``UNBLOCKED``, the next one gets ``NOGROUP``)."""
    message = str(error)
    return "NOGROUP" in message or "UNBLOCKED" in message
