"""How a `RedisLimiter` takes a request's slots: `SingleServer` (one script call for every
budget of a phase) or `ClusterLineUp` (one call per hash tag on a Redis Cluster, lined up
within the tolerance of the scopes other processes share). Chosen once, at construction.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from .connection import Scripts
from .keys import Plan
from .outage import HORIZON
from .permits import RedisWaitGroup, Slot, rollback_args, timeout_error
from .recall import Recall
from .scripts import ROLLBACK, SLOT
from .waits import Sleeps

__all__ = ["ClusterLineUp", "SingleServer", "tolerance"]

_US = 1_000_000
_LINE_UP_ROUNDS = 8
"""Rounds of taking the parts' slots again (Cluster) before a request gives up."""


def tolerance(plan: Plan, counts: dict[str, int]) -> float:
    """Seconds a start may lag its slot: half the margin of the tightest budget other
    processes share (the other half is left for network jitter); inf if none is shared."""
    result = math.inf
    for budget, tag_ in zip(plan.budgets, plan.tags_of, strict=True):
        if counts.get(tag_, 0) > 1:
            result = min(result, budget.limit.period * budget.margin / 2)
    return result


class SingleServer:
    """Slots from one Redis server: one `SLOT` call takes every budget of a phase at once."""

    def __init__(
        self,
        scripts: Scripts,
        sleeps: Sleeps,
        counts: dict[str, int],
        recall: Recall,
        pid: str,
        heartbeat: float,
    ) -> None:
        self.scripts = scripts
        self.sleeps = sleeps
        self.counts = counts
        self.recall = recall
        self.pid = pid
        self.heartbeat = heartbeat
        self.epochs = recall.epochs  # tag -> (epoch id, seq) last seen
        self._candidates = itertools.count()
        self.retakes = 0
        """Slots a Cluster reservation gave back to take again in line with its other parts."""

    async def line_up(
        self, plan: Plan, floor: float, deadline: float | None, group: RedisWaitGroup, dual: bool
    ) -> list[Slot]:
        """A slot in every budget of ``plan``, none earlier than ``floor`` (loop time)."""
        return [await self.reserve(plan, plan, floor, deadline, group, dual)]

    def _head(self, part: Plan, not_before: float, deadline: float | None) -> list[Any]:
        now = self.sleeps.now()
        max_wait = -1 if deadline is None else max(0, round((deadline - now) * _US))
        head: list[Any] = [self.pid, max(0, round((not_before - now) * _US)), max_wait]
        head += [round(self.heartbeat * _US), len(part.keys), round(HORIZON * _US)]
        return head

    def _tail(self, part: Plan) -> list[Any]:
        tail: list[Any] = [len(part.tags), f"{self.pid}:{next(self._candidates)}"]
        for tag_ in part.tags:
            seen = self.epochs.get(tag_, ("", 0))
            tail += [seen[0], seen[1]]
        return [*tail, *part.tail]

    async def reserve(
        self,
        plan: Plan,
        part: Plan,
        not_before: float,
        deadline: float | None,
        group: RedisWaitGroup,
        dual: bool,
    ) -> Slot:
        """``part``'s next slot no earlier than ``not_before`` (loop time)."""
        slot: list[Any] = []
        promised = 0
        keys = [*part.keys, *part.hb_keys, *part.epochs]
        while True:  # a slot further than the horizon is confirmed later
            args = [*self._head(part, not_before, deadline), promised, *self._tail(part)]
            reply = await self.scripts.call(SLOT, keys, args)
            t = self.sleeps.now()
            wait_us, later_us = int(reply[0]), int(reply[2])
            self._seen(part, reply, dual, t)
            if wait_us == -1:
                raise timeout_error(plan)
            if wait_us == -2:  # phase 2: another process's request of the account just went
                if deadline is not None and t + later_us / _US > deadline:
                    raise timeout_error(plan)
                await self.sleeps.sleep(t + later_us / _US, group, plan)
                promised = 0
                continue
            start_us = int(reply[1]) + wait_us
            if start_us != promised:
                slot = reply  # a new slot (the promise was void, or there was none)
            if not later_us:
                return Slot(part, slot, start_us, t + wait_us / _US)
            promised = start_us
            try:
                await self.sleeps.sleep(t + later_us / _US, group, plan)
            except BaseException:
                self.scripts.fire(ROLLBACK, part.keys, rollback_args(part, slot))
                raise

    def _seen(self, part: Plan, reply: list[Any], dual: bool, at: float) -> None:
        """Remember the heartbeat counts and epochs a reply reports, per hash tag; a changed
        epoch means Redis lost what this process relied on: it carries its sends back."""
        m, n = len(part.tags), len(part.keys)
        self.recall.replied(part, int(reply[1]), at)
        for j, tag_ in enumerate(part.tags):
            seen = int(reply[3 + j])  # after an outage Redis may have restarted: keep the max
            self.counts[tag_] = max(seen, self.counts.get(tag_, 0)) if dual else seen
            i = 3 + m + 2 * n + 2 * j
            epoch = (
                reply[i].decode() if isinstance(reply[i], bytes) else str(reply[i]),
                int(reply[i + 1]),
            )
            old = self.epochs.get(tag_)
            self.epochs[tag_] = epoch
            if old is not None and (epoch[0] != old[0] or epoch[1] <= old[1]):
                self.recall.lost(tag_, old)


class ClusterLineUp(SingleServer):
    """Slots from a Redis Cluster: a script reaches one hash slot, so a request's budgets are
    taken one hash tag at a time, each no earlier than the slots before it; a slot that ends
    up earlier than the latest by more than the tolerance is given back and taken again after
    it (leaving at the latest would be that much late for the processes sharing it)."""

    async def line_up(
        self, plan: Plan, floor: float, deadline: float | None, group: RedisWaitGroup, dual: bool
    ) -> list[Slot]:
        """A slot in every part of ``plan``, each within the tolerance of the latest."""
        if len(plan.parts) == 1:
            return await super().line_up(plan, floor, deadline, group, dual)
        slots: list[Slot | None] = [None] * len(plan.parts)
        try:
            for _ in range(_LINE_UP_ROUNDS):
                latest = max([floor, *(s.due for s in slots if s is not None)])
                limit = tolerance(plan, self.counts)
                stale = [i for i, s in enumerate(slots) if s is None or latest - s.due > limit]
                if not stale:
                    return [s for s in slots if s is not None]
                for i in stale:
                    old, slots[i] = slots[i], None
                    if old is not None:  # give it back first, or the new slot lands behind it
                        self.retakes += 1
                        await self.scripts.call(ROLLBACK, old.part.keys, old.give_back_args())
                    slot = await self.reserve(plan, plan.parts[i], latest, deadline, group, dual)
                    slots[i] = slot
                    latest = max(latest, slot.due)
            raise timeout_error(plan)  # the parts' slots keep drifting apart: try later
        except BaseException:
            for s in slots:
                if s is not None:
                    self.scripts.fire(ROLLBACK, s.part.keys, s.give_back_args())
            raise
