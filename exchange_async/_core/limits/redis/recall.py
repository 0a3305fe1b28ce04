"""This process's own sends of the last window, carried back to Redis when it lost its state.

`Recall` keeps, per budget key, the moments (on Redis's clock) this process sent through it
within the key's window. When this process finds a tag's epoch changed (a `SLOT` reply, or its
watch of the tags it sent through lately but has not called since), it runs `CARRY` with those
sends, twice: at once, and `HORIZON` later with what it sent since (slots handed out before the
loss may still be used until then). The hold after a loss (`keys.GATHER`) leaves time for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from .connection import RedisDown, Scripts
from .keys import Plan, epoch_key
from .outage import HORIZON
from .permits import Slot
from .scripts import CARRY
from .waits import Sleeps

__all__ = ["Recall"]

_US = 1_000_000
_WATCH_EVERY = 0.25
"""Seconds between two looks at the epochs of tags this process sent through but did not call
since (a silent process must carry its sends back too)."""


class Recall:
    """Own sends per budget key (Redis clock, us) and the carry-back after a loss."""

    def __init__(
        self,
        scripts: Scripts,
        sleeps: Sleeps,
        is_down: Callable[[], bool],
        on_lost: Callable[[str], None],
    ) -> None:
        self._scripts = scripts
        self._on_lost = on_lost
        self._sleeps = sleeps
        self.epochs: dict[str, tuple[str, int]] = {}  # tag -> (epoch id, seq) last seen
        self._name = uuid.uuid4().hex[:12]  # a new epoch's id, if this carry creates it
        self._is_down = is_down
        self._sent: dict[str, deque[int]] = {}
        self._keys: dict[str, dict[str, tuple[int, int, int]]] = {}  # tag -> key -> sizes
        self._called: dict[str, float] = {}  # tag -> loop time of its last slot reply
        self.offset_us = 0  # Redis's clock minus the loop's, as of the last reply (us)
        self._watch: asyncio.Task[None] | None = None
        self.carried = 0
        """Carry-backs run (a loss found, this process's sends given back to Redis)."""

    def replied(self, part: Plan, now_us: int, at: float) -> None:
        """A slot reply from Redis at loop time ``at``, Redis's clock then ``now_us``."""
        self.offset_us = now_us - round(at * _US)
        for tag_ in part.tags:
            self._called[tag_] = at

    def sent(self, slots: Sequence[Slot], at: float) -> None:
        """A request left at loop time ``at`` in ``slots``."""
        for slot in slots:
            sent_us = slot.start_us + round((at - slot.due) * _US)
            self._record(slot.part, sent_us)

    def sent_in_share(self, plan: Plan, at: float) -> None:
        """A request left at loop time ``at`` in this process's share (Redis was down)."""
        self._record(plan, round(at * _US) + self.offset_us)

    def _record(self, part: Plan, sent_us: int) -> None:
        for key, tag_, budget in zip(part.keys, part.tags_of, part.budgets, strict=True):
            sizes = self._keys.setdefault(tag_, {}).get(key)
            if sizes is None:
                window = round(budget.interval * budget.limit.max_requests * _US)
                keep_ms = round(window / 1000) + 1000
                sizes = self._keys[tag_][key] = (window, round(budget.interval * _US), keep_ms)
            times = self._sent.setdefault(key, deque())
            times.append(sent_us)
            while times and times[0] < sent_us - sizes[0]:
                times.popleft()
        loop = self._sleeps.loop
        if loop is not None and (self._watch is None or self._watch.done()):
            self._watch = loop.create_task(self._watch_epochs())

    def lost(self, tag_: str, seen: tuple[str, int]) -> None:
        """This process found ``tag_``'s state lost (it had seen epoch ``seen``): carry back."""
        self._on_lost(tag_)
        loop = self._sleeps.loop
        if loop is None or tag_ not in self._keys:
            return
        task = loop.create_task(self._carry_twice(tag_, seen))
        self._scripts.background.add(task)
        task.add_done_callback(self._scripts.background.discard)

    async def _carry_twice(self, tag_: str, seen: tuple[str, int]) -> None:
        first = self._now_us()
        with contextlib.suppress(RedisDown):
            await self._carry(tag_, seen, None)
            await asyncio.sleep(HORIZON)
            await self._carry(tag_, seen, first)

    def _now_us(self) -> int:
        return round(self._sleeps.now() * _US) + self.offset_us

    async def _carry(self, tag_: str, seen: tuple[str, int], since_us: int | None) -> None:
        now_us = self._now_us()
        keys = [epoch_key(tag_)]
        args: list[Any] = [seen[0], seen[1], f"carry:{self._name}:{now_us}", self._name]
        for key, (window, interval, keep_ms) in self._keys.get(tag_, {}).items():
            floor = now_us - window if since_us is None else max(now_us - window, since_us)
            sends = [t for t in self._sent.get(key, ()) if t >= floor]
            keys.append(key)
            args += [interval, keep_ms, window, len(sends), *sends]
        reply = await self._scripts.call(CARRY, keys, args)
        self.carried += int(reply[2])
        epoch = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
        self.epochs[tag_] = (epoch, int(reply[1]))

    async def _watch_epochs(self) -> None:
        """While this process has recent sends: look at the epochs of the tags it has not
        called lately (a reply tells the others)."""
        while self._recent():
            await asyncio.sleep(_WATCH_EVERY)
            if self._is_down():
                continue
            now = self._sleeps.now()
            quiet = [t for t in self._recent() if now - self._called.get(t, 0.0) > _WATCH_EVERY]
            for tag_ in quiet:
                seen = self.epochs.get(tag_)
                if seen is None:
                    continue
                try:
                    async with asyncio.timeout(self._scripts.call_timeout):
                        found = await self._scripts.client.hget(epoch_key(tag_), "id")
                except Exception:
                    break  # Redis is failing: the outage takes over
                if (
                    found is None
                    or (found.decode() if isinstance(found, bytes) else found) != (seen[0])
                ):
                    self.lost(tag_, seen)
                    self._called[tag_] = now

    def _recent(self) -> list[str]:
        """Tags this process sent through within their windows."""
        now_us = self._now_us()
        return [
            tag_
            for tag_, keys in self._keys.items()
            if any(
                (times := self._sent.get(key)) and times[-1] >= now_us - window
                for key, (window, _, _) in keys.items()
            )
        ]

    def stop(self) -> asyncio.Task[None] | None:
        """Stop the watch (the limiter closes); returns it to await."""
        if self._watch is not None:
            self._watch.cancel()
        return self._watch
