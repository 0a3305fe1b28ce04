"""How `RedisLimiter` reserves a request's start slots: one script call on one Redis server, or
one per hash tag on a Redis Cluster, lined up within the tolerance of the scopes other processes
share. A mixin (`SlotReservations`) over the limiter's state.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .limiter_redis_parts import (
    RESERVE,
    ROLLBACK,
    Plan,
    RedisWaitGroup,
    Slot,
    rollback_args,
    timeout_error,
)
from .limiter_redis_share import HORIZON, ShareMode

__all__ = ["SlotReservations"]

_US = 1_000_000
_LINE_UP_ROUNDS = 8
"""Rounds of taking the parts' slots again (Cluster) before a request gives up."""


class SlotReservations(ShareMode):
    """The reservation half of `RedisLimiter` (see its module docstring); the outage half,
    `ShareMode`, provides the loop and the sleeps."""

    _pid: str
    retakes: int
    heartbeat: float

    if TYPE_CHECKING:  # provided by RedisLimiter

        async def _call(self, script: str, keys: list[str], args: Sequence[str | int]) -> Any:
            raise NotImplementedError

        def fire(self, script: str, keys: list[str], args: Sequence[str | int]) -> None:
            raise NotImplementedError

    def _tolerance(self, plan: Plan) -> float:
        """Seconds a start may lag its slot: half the margin of the tightest budget other
        processes share (the other half is left for network jitter); inf if none is shared."""
        tolerance = math.inf
        for budget, tag_ in zip(plan.budgets, plan.tags_of, strict=True):
            if self._counts.get(tag_, 0) > 1:
                tolerance = min(tolerance, budget.limit.period * budget.margin / 2)
        return tolerance

    async def _line_up(
        self, plan: Plan, floor: float, deadline: float | None, group: RedisWaitGroup, dual: bool
    ) -> list[Slot]:
        """A slot in every part of ``plan``, none earlier than ``floor`` (loop time).

        One call on one Redis server. On a Cluster, one call per hash tag, each no earlier
        than the slots before it; a slot that ends up earlier than the latest by more than the
        tolerance is given back and taken again after it (leaving at the latest would be that
        much late for the processes sharing it).
        """
        if len(plan.parts) == 1:  # one Redis server: one call reserves every budget at once
            return [await self._reserve(plan, plan, floor, deadline, group, dual)]
        slots: list[Slot | None] = [None] * len(plan.parts)
        try:
            for _ in range(_LINE_UP_ROUNDS):
                latest = max([floor, *(s.due for s in slots if s is not None)])
                tolerance = self._tolerance(plan)
                stale = [i for i, s in enumerate(slots) if s is None or latest - s.due > tolerance]
                if not stale:
                    return [s for s in slots if s is not None]
                for i in stale:
                    old, slots[i] = slots[i], None
                    if old is not None:  # give it back first, or the new slot lands behind it
                        self.retakes += 1
                        await self._call(ROLLBACK, old.part.keys, old.give_back_args())
                    slot = await self._reserve(plan, plan.parts[i], latest, deadline, group, dual)
                    slots[i] = slot
                    latest = max(latest, slot.due)
            raise timeout_error(plan)  # the parts' slots keep drifting apart: try later
        except BaseException:
            for s in slots:
                if s is not None:
                    self.fire(ROLLBACK, s.part.keys, s.give_back_args())
            raise

    async def _reserve(
        self,
        plan: Plan,
        part: Plan,
        not_before: float,
        deadline: float | None,
        group: RedisWaitGroup,
        dual: bool,
    ) -> Slot:
        """Reserve ``part``'s next slot no earlier than ``not_before`` (loop time)."""
        loop = self._loop_now()
        now = loop.time()
        max_wait = -1 if deadline is None else max(0, round((deadline - now) * _US))
        head: list[str | int] = [self._pid, max(0, round((not_before - now) * _US)), max_wait]
        head += [round(self.heartbeat * _US), len(part.keys), round(HORIZON * _US)]
        slot: list[Any] = []
        promised = 0
        while True:  # hand out a slot; one further than the horizon is confirmed later
            args = [*head, promised, *part.tail]
            reply = await self._call(RESERVE, [*part.keys, *part.hb_keys], args)
            t = loop.time()
            wait_us, later_us = int(reply[0]), int(reply[2])
            for j, tag_ in enumerate(part.tags):  # after an outage Redis may have restarted
                seen = int(reply[3 + j])
                self._counts[tag_] = max(seen, self._counts.get(tag_, 0)) if dual else seen
            if wait_us < 0:
                raise timeout_error(plan)
            start_us = int(reply[1]) + wait_us
            if start_us != promised:
                slot = reply  # a new slot (the promise was void, or there was none)
            if not later_us:
                return Slot(part, slot, start_us, t + wait_us / _US)
            promised = start_us
            try:
                await self._sleep(t + later_us / _US, group, plan)
            except BaseException:
                self.fire(ROLLBACK, part.keys, rollback_args(part, slot))
                raise
