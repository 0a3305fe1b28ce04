"""Rate limits shared by every process and host through Redis: the same promise as in-process.

**Two phases, like in-process.** Phase 1: one `SLOT` call reserves the request's next slot in
each of its *account* budgets (GCRA on Redis's own clock, FIFO across processes) and says how
long to wait, relative: no host's clock is compared with another's. Phase 2, only once that
slot has come and this process's earlier request of the account has left (`LocalQueue`): one
`SLOT` call takes the request's *shared* (per-IP) slots and confirms its account slots at the
same start (``u``), atomically. A request so never holds a place in a shared budget while it
waits for its own account. With ``k`` accounts ready, each has at most one request per process
in the shared budget's FIFO (its next one is not ready before it left), so accounts take turns.

**Late starts.** A request that leaves late holds this process's next requests of the account
(`LocalQueue`) and moves the account's next slot on Redis (`REDATE`). The slots other processes
already hold cannot move: a request later than half the margin in a scope another process shares
waits for a new slot instead (`RedisPermit.take`, `reslot`).

**Penalties** (`penalize`) are written into the budgets on Redis: every process honours them.

**Lost state** (a restart, a failover that lost writes): detected with an epoch per hash tag;
every budget of the tag is then held for one window (at most `keys.GATHER`) while each process
carries its own sends of the last window back (`recall`, `scripts`).

**When Redis fails** (an error, or a call over ``call_timeout``), a process limits itself to
*its share* (`Outage`). docs/running-many-processes.md tells the whole story.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Sequence
from typing import Any

from ...._errors import ClientClosedError, RateLimitWaitTimeout, ValidationError
from ..seam import Budget, Permit, WaitGroup
from .connection import RedisDown, Scripts, make_client
from .keys import Plan
from .lineup import ClusterLineUp, SingleServer, tolerance
from .outage import Outage
from .permits import (
    LocalQueue,
    RedisPermit,
    RedisWaitGroup,
    Repause,
    Slot,
    never_reached_error,
    timeout_error,
)
from .recall import Recall
from .scripts import PENALIZE
from .waits import Sleeps

__all__ = ["RedisLimiter"]

_US = 1_000_000
_PLANS_MAX = 10_000
"""Budget sets whose keys are remembered (a cache, cleared when full)."""
_RESLOTS = 3
"""New slots a late request tries before it gives up (its event loop lags too much)."""
_RESLOT_WAIT = 5.0
"""Seconds a late request waits for a new slot at most (its signature must stay fresh)."""


class RedisLimiter:
    """Rate limits shared through Redis by every process and host that points at it.

    ``url``: ``redis://host:port/db`` or ``rediss://...`` (or pass a ready ``client``, a
    ``redis.asyncio.Redis`` or ``RedisCluster``; it is then not closed here). ``cluster``: the
    URL is one node of a Redis Cluster (a request's budgets are then reserved one hash tag at a
    time, each slot no more than the tolerance apart). ``egress_group``: the name of the
    processes that reach the exchanges through one IP address and so share the per-IP limits
    (default: this host's name). ``call_timeout``: seconds one Redis call may take before this
    process falls back to its in-process share (default 0.25). ``heartbeat``: seconds a process
    keeps counting as a sharer after its last reserved start (default 10). ``key_prefix``: the
    first part of every key (default ``"ea"``). Close with `aclose`.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: Any = None,
        egress_group: str | None = None,
        call_timeout: float = 0.25,
        heartbeat: float = 10.0,
        key_prefix: str = "ea",
        cluster: bool = False,
    ) -> None:
        client, self.cluster, self._owns_client = make_client(url, client, cluster)
        """Whether Redis is a Cluster: a request's budgets are then reserved per hash tag."""
        if not call_timeout > 0 or not heartbeat > 0:
            raise ValidationError("call_timeout and heartbeat must be positive seconds")
        self._client = client
        self.egress_group = egress_group or socket.gethostname()
        self.call_timeout = call_timeout
        self.heartbeat = heartbeat
        self.key_prefix = key_prefix
        pid = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._plans: dict[tuple[Budget, ...], Plan] = {}
        self._counts: dict[str, int] = {}  # hash tag -> processes sharing it, as last seen
        self._sleeps = Sleeps()
        self._outage = Outage(
            self._sleeps, self._counts, self._plans.values, self._ping, call_timeout
        )
        self._scripts = Scripts(client, call_timeout, self._went_down)
        self._outage.on_up = self._back_up
        outage = self._outage
        self._recall = Recall(self._scripts, self._sleeps, lambda: outage.down, outage.state_lost)
        strategy = ClusterLineUp if self.cluster else SingleServer
        self._lineup = strategy(
            self._scripts, self._sleeps, self._counts, self._recall, pid, heartbeat
        )
        self._queues: dict[str, LocalQueue] = {}  # account budget key -> local reservations
        self.reslots = 0
        """Requests that left their slot too late for other processes and took a new one."""

    @property
    def on_redis(self) -> bool:
        """False while Redis is unreachable and this process limits itself to its share."""
        return not self._outage.down

    @property
    def retakes(self) -> int:
        """Slots a Cluster reservation gave back to take again in line with its other parts."""
        return self._lineup.retakes

    def wait_group(self) -> RedisWaitGroup:
        """A new group for one client's waits."""
        return RedisWaitGroup()

    def loop_time(self) -> float:
        """The clock every local time of this limiter is on (the event loop's)."""
        return self._sleeps.now()

    def fire(self, script: str, keys: list[str], args: Sequence[str | int]) -> None:
        """Run ``script`` in the background (a re-date, a give-back): nobody waits for it."""
        self._scripts.fire(script, keys, args)

    def left(self, slots: list[Slot], at: float) -> None:
        """A request left at loop time ``at`` in ``slots`` (remembered for a carry-back)."""
        self._recall.sent(slots, at)

    @property
    def carried(self) -> int:
        """Carry-backs this process ran after finding Redis's state lost (see `recall`)."""
        return self._recall.carried

    def _went_down(self, error: BaseException) -> None:
        self._scripts.down = True
        self._outage.went_down(error, self._scripts.reached)

    def _back_up(self) -> None:
        self._scripts.down = False

    async def _ping(self) -> None:
        pool = getattr(self._client, "connection_pool", None)
        if pool is not None:  # one server: drop its dead sockets first
            await pool.disconnect()
        await self._client.ping()

    def _plan_for(self, budgets: Sequence[Budget]) -> Plan:
        key = tuple(budgets)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _PLANS_MAX:  # accounts come and go: keep this bounded
                self._plans.clear()
                self._counts.clear()  # a scope then has no known share: it waits for Redis
            plan = Plan(key, self.key_prefix, self.egress_group, self.cluster)
            self._plans[key] = plan
        return plan

    async def acquire(
        self,
        budgets: Sequence[Budget],
        *,
        max_wait: float | None,
        group: WaitGroup,
        reslotting: bool = False,
    ) -> Permit:
        """Wait until a request may start under every budget and reserve that start.

        Raises `RateLimitWaitTimeout` (at once when Redis says the wait is longer than
        ``max_wait`` seconds) and `ClientClosedError` when ``group`` is or gets closed.
        ``reslotting`` (internal, `reslot`): the caller holds a connection already, so the new
        slot waits for no earlier request of this process (it may wait for that connection).
        """
        if not isinstance(group, RedisWaitGroup):
            raise TypeError("group must come from this limiter's wait_group()")
        loop = self._sleeps.loop = self._scripts.loop = asyncio.get_running_loop()
        deadline = None if max_wait is None else loop.time() + max_wait
        plan = self._plan_for(budgets)
        outage = self._outage
        while True:
            if group.closed:
                raise ClientClosedError("the client was closed")
            shares = outage.shares(plan) if outage.down else None
            try:
                if shares is not None:
                    permit = await outage.acquire_share(plan, shares, deadline, group)
                    self._recall.sent_in_share(plan, self._sleeps.now())
                    return permit
                if outage.down and outage.refused:  # never reached: no share can be known
                    raise never_reached_error(plan)
                if outage.down:
                    await outage.wait_for_redis(plan, deadline, group)
                else:
                    return await self._acquire_redis(plan, deadline, group, reslotting)
            except (RedisDown, Repause):
                continue

    async def _acquire_redis(
        self, plan: Plan, deadline: float | None, group: RedisWaitGroup, jumps: bool = False
    ) -> Permit:
        now = self._sleeps.now()
        shares = self._outage.dual_shares(plan, now)
        fallback = self._outage.fallback
        floor = now
        if shares and fallback is not None:  # just back from an outage: keep to the share too
            floor = max(now, fallback.next_start(shares))
        slots = await self._lineup.line_up(plan, floor, deadline, group, bool(shares))
        queues = [self._queue(plan, i) for i in plan.chained]
        permit = RedisPermit(self, plan, slots, queues, group, tolerance(plan, self._counts))
        permit.jumps = jumps
        try:
            await self._until_due(permit, deadline, group)
            if plan.confirm is not None and not all(s.complete for s in slots):
                # phase 2: the shared slots, now the account's came
                confirm = plan.confirm
                permit.confirmed(await self._lineup.line_up(confirm, now, deadline, group, False))
                permit.tolerance = tolerance(confirm, self._counts)
                await self._until_due(permit, deadline, group)
        except BaseException:
            permit.release()
            raise
        if shares and fallback is not None:
            fallback.push(shares, permit.due)  # a start at ``due`` within the share
        permit.status = 1
        return permit

    async def _until_due(
        self, permit: RedisPermit, deadline: float | None, group: RedisWaitGroup
    ) -> None:
        """Sleep until ``permit``'s slots have come and this process's earlier one has left."""
        while not group.closed:
            due = permit.blocker()
            if isinstance(due, RedisPermit):  # an earlier request has not left yet (rare)
                await self._sleeps.sleep(deadline, group, permit.plan, due.followers)
                if deadline is not None and self._sleeps.now() >= deadline:
                    raise timeout_error(permit.plan)
            elif due > self._sleeps.now():
                await self._sleeps.sleep(due, group, permit.plan)
            else:
                return
        raise ClientClosedError("the client was closed")

    async def reslot(self, late: RedisPermit) -> None:
        """Wait for a new slot for a request whose slot passed more than its tolerance ago.

        Called right before the request's bytes leave (a busy event loop woke it late, or it
        waited for a connection). Raises `RateLimitWaitTimeout` after `_RESLOTS` tries, when
        this process's event loop keeps lagging more than the margin allows.
        """
        self.reslots += 1
        budgets = late.plan.budgets
        if late.plan.confirm is not None:
            budgets = late.plan.confirm.budgets
        for _ in range(_RESLOTS):
            permit = await self.acquire(
                budgets, max_wait=_RESLOT_WAIT, group=late.group, reslotting=True
            )
            if not isinstance(permit, RedisPermit):  # Redis went away: the share's permit
                permit.sent()
                return
            if permit.take():
                return
        raise RateLimitWaitTimeout(
            "this process's event loop keeps starting requests too late for rate limits "
            "shared with other processes; raise rate_limit_margin or lower its load"
        )

    def _queue(self, plan: Plan, i: int) -> LocalQueue:
        queue = self._queues.get(plan.keys[i])
        if queue is None:
            if len(self._queues) >= _PLANS_MAX:  # keep only the busy ones
                self._queues = {k: q for k, q in self._queues.items() if q.pending}
            queue = self._queues[plan.keys[i]] = LocalQueue(plan.budgets[i], plan.keys[i])
        return queue

    async def penalize(self, budgets: Sequence[Budget], seconds: float) -> None:
        """Let nothing start through ``budgets`` for ``seconds`` from now, in every process."""
        plan = self._plan_for(budgets)
        outage = self._outage
        if not outage.down and plan.keys:
            args = [round(seconds * _US), max(plan.keep_ms)]
            with contextlib.suppress(RedisDown):
                for part in plan.parts:  # one call per hash tag on a Cluster
                    await self._scripts.call(PENALIZE, part.keys, args)
        shares = outage.shares(plan)
        if outage.fallback is not None and shares:
            await outage.fallback.penalize(shares, seconds)
        self._sleeps.repause(set(plan.keys))

    async def aclose(self) -> None:
        """Stop the background probe and close the Redis client (if this limiter made it)."""
        probe = self._outage.probe
        if probe is not None:
            probe.cancel()
        watch = self._recall.stop()
        for task in [*self._scripts.background, *(t for t in (probe, watch) if t)]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._owns_client and self.cluster:
            await self._client.aclose()
        elif self._owns_client:
            await self._client.aclose(close_connection_pool=True)
