"""Rate limits shared by every process and host through Redis: the same promise as in-process.

**One round trip per acquisition.** A Lua script (`RESERVE`) hands out the next start slot of
every budget of the request at once (the GCRA rule of `MemoryLimiter`) on Redis's own clock
and returns how long to wait, relative: callers are served in the order they reach Redis, and
no host's clock is compared with another's. Keys ``<prefix>:{<server>|<owner>}:<limit>:<scope>``
are hash-tagged by account (or ``ip@<egress group>`` for a per-IP budget) and expire once idle.
On a **Redis Cluster** a script reaches one hash slot only: a request's budgets are reserved one
tag at a time, and lined up within the tolerance below (`_line_up`).

**Late starts.** A request that leaves late holds this process's next requests of the account
(`LocalQueue`) and moves the account's next slot on Redis (`REDATE`). The slots other processes
already hold cannot move: a request later than half the margin in a scope another process shares
waits for a new slot instead (`RedisPermit.take`, `reslot`).

**Penalties** (`penalize`) are written into the budgets on Redis: every process honours them.

**When Redis fails** (an error, or a call over ``call_timeout``), a process limits itself to
*its share*, ``N // count`` per window with the margin doubled, ``count`` being the processes in
the scope's heartbeat set (no share known: wait for Redis, up to ``max_wait``). The share starts
once every slot Redis handed out has passed (none lies more than `HORIZON` ahead); once Redis
answers again, requests also stay within the share for a window. docs/running-many-processes.md
tells the whole story.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from typing import Any

from .._errors import ClientClosedError, RateLimitWaitTimeout, ValidationError
from .limiter import Budget, Permit, WaitGroup, check_redis_url
from .limiter_memory import MemoryLimiter
from .limiter_redis_parts import (
    PENALIZE,
    REDATE,
    RESERVE,
    ROLLBACK,
    LocalQueue,
    Plan,
    RedisDown,
    RedisPermit,
    RedisWaitGroup,
    Repause,
    timeout_error,
    wake,
)
from .limiter_redis_reserve import SlotReservations

__all__ = ["RedisLimiter", "RedisPermit", "RedisWaitGroup"]

log = logging.getLogger("exchange_async.limiter")

_US = 1_000_000
_PLANS_MAX = 10_000
"""Budget sets whose keys are remembered (a cache, cleared when full)."""
_POOL = 512
"""Connections to Redis per limiter, at most (hundreds of accounts wait on it at once)."""
_RESLOTS = 3
"""New slots a late request tries before it gives up (its event loop lags too much)."""
_RESLOT_WAIT = 5.0
"""Seconds a late request waits for a new slot at most (its signature must stay fresh)."""


class RedisLimiter(SlotReservations):
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
        try:
            import redis.asyncio as aioredis
        except ImportError:  # pragma: no cover - depends on the install
            raise ValidationError(
                'shared rate limits need the redis extra: pip install "exchange-async[redis]"'
            ) from None
        if client is None and url is None:
            raise ValidationError("RedisLimiter needs a redis:// URL or a client")
        if not isinstance(cluster, bool):
            raise ValidationError("cluster must be True or False")
        if client is not None and not isinstance(client, (aioredis.Redis, aioredis.RedisCluster)):
            raise ValidationError("client must be a redis.asyncio.Redis or RedisCluster")
        if not call_timeout > 0 or not heartbeat > 0:
            raise ValidationError("call_timeout and heartbeat must be positive seconds")
        self._owns_client = client is None
        if client is None and cluster:  # any node's URL; the client finds the others
            url = check_redis_url(url, "RedisLimiter's url")
            client = aioredis.RedisCluster.from_url(url, max_connections=_POOL)
        elif client is None:  # a bounded pool: a burst of callers queues for a connection
            url = check_redis_url(url, "RedisLimiter's url")
            pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=_POOL)
            client = aioredis.Redis(connection_pool=pool)
        self.cluster = isinstance(client, aioredis.RedisCluster)
        """Whether Redis is a Cluster: a request's budgets are then reserved per hash tag."""
        self._client = client
        self._scripts = {
            s: self._client.register_script(s) for s in (RESERVE, REDATE, ROLLBACK, PENALIZE)
        }
        self.egress_group = egress_group or socket.gethostname()
        self.call_timeout = call_timeout
        self.heartbeat = heartbeat
        self.key_prefix = key_prefix
        self._pid = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._plans: dict[tuple[Budget, ...], Plan] = {}
        self._counts: dict[str, int] = {}  # hash tag -> processes sharing it, as last seen
        self._down_since = 0.0
        self._down = False
        self._fallback: MemoryLimiter | None = None
        self._seeded: set[str] = set()
        self._dual_until: dict[str, float] = {}
        self._up_waiters: list[asyncio.Future[None]] = []
        self._sleepers: dict[asyncio.Future[None], Plan] = {}
        self._queues: dict[str, LocalQueue] = {}  # account budget key -> local reservations
        self._background: set[asyncio.Task[Any]] = set()
        self._probe: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.reslots = 0
        self.retakes = 0
        """Slots a Cluster reservation gave back to take again in line with its other parts."""
        """Requests that left their slot too late for other processes and took a new one."""

    @property
    def on_redis(self) -> bool:
        """False while Redis is unreachable and this process limits itself to its share."""
        return not self._down

    def wait_group(self) -> RedisWaitGroup:
        """A new group for one client's waits."""
        return RedisWaitGroup()

    def _plan_for(self, budgets: Sequence[Budget]) -> Plan:
        key = tuple(budgets)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _PLANS_MAX:  # accounts come and go: keep this bounded
                self._plans.clear()
                self._counts.clear()  # a scope then has no known share: it waits for Redis
            plan = self._plans[key] = Plan(key, self.key_prefix, self.egress_group, self.cluster)
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
        loop = self._loop = asyncio.get_running_loop()
        deadline = None if max_wait is None else loop.time() + max_wait
        plan = self._plan_for(budgets)
        while True:
            if group.closed:
                raise ClientClosedError("the client was closed")
            shares = self._shares(plan) if self._down else None
            try:
                if shares is not None:
                    return await self._acquire_share(plan, shares, deadline, group)
                if self._down:
                    await self._wait_for_redis(plan, deadline, group)
                else:
                    return await self._acquire_redis(plan, deadline, group, reslotting)
            except (RedisDown, Repause):
                continue

    async def _acquire_redis(
        self, plan: Plan, deadline: float | None, group: RedisWaitGroup, jumps: bool = False
    ) -> Permit:
        loop = self._loop_now()
        now = loop.time()
        shares = self._dual_shares(plan, now)
        floor = now
        if shares:  # just back from an outage: also stay within this process's share
            assert self._fallback is not None
            floor = max(now, self._fallback.next_start(shares))
        slots = await self._line_up(plan, floor, deadline, group, bool(shares))
        queues = [self._queue(plan, i) for i in plan.chained]
        permit = RedisPermit(self, plan, slots, queues, group, self._tolerance(plan))
        permit.jumps = jumps
        if shares:
            assert self._fallback is not None
            self._fallback.push(shares, permit.due)  # a start at ``due`` within the share
        try:
            while not group.closed:
                due = permit.blocker()
                if isinstance(due, RedisPermit):  # an earlier request has not left yet (rare)
                    await self._sleep(deadline, group, plan, due.followers)
                    if deadline is not None and loop.time() >= deadline:
                        raise timeout_error(plan)
                elif due > loop.time():
                    await self._sleep(due, group, plan)
                else:
                    break
            if group.closed:
                raise ClientClosedError("the client was closed")
        except BaseException:
            permit.release()
            raise
        permit.status = 1
        return permit

    async def reslot(self, late: RedisPermit) -> None:
        """Wait for a new slot for a request whose slot passed more than its tolerance ago.

        Called right before the request's bytes leave (a busy event loop woke it late, or it
        waited for a connection). Raises `RateLimitWaitTimeout` after `_RESLOTS` tries, when
        this process's event loop keeps lagging more than the margin allows.
        """
        self.reslots += 1
        budgets = late.plan.budgets
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

    async def _sleep(
        self, until: float | None, group: RedisWaitGroup, plan: Plan, on: list[Any] | None = None
    ) -> None:
        """Sleep until ``until`` (loop time), or ``on`` wakes it; raises if the group closes."""
        loop = self._loop_now()
        future: asyncio.Future[None] = loop.create_future()
        handle = None if until is None else loop.call_at(until, wake, future)
        if on is not None:
            on.append(future)
        group.futures.add(future)
        self._sleepers[future] = plan
        try:
            await future
        finally:
            if handle is not None:
                handle.cancel()
            group.futures.discard(future)
            del self._sleepers[future]

    def _queue(self, plan: Plan, i: int) -> LocalQueue:
        queue = self._queues.get(plan.keys[i])
        if queue is None:
            if len(self._queues) >= _PLANS_MAX:  # keep only the busy ones
                self._queues = {k: q for k, q in self._queues.items() if q.pending}
            queue = self._queues[plan.keys[i]] = LocalQueue(plan.budgets[i], plan.keys[i])
        return queue

    async def _call(self, script: str, keys: list[str], args: Sequence[str | int]) -> Any:
        task = asyncio.current_task()
        assert task is not None
        cancels = task.cancelling()
        failure: Exception | None = None
        try:
            async with asyncio.timeout(self.call_timeout):
                reply = await self._scripts[script](keys=keys, args=args)
        except Exception as error:  # any failure of Redis or its client: fall back
            failure = error
        if task.cancelling() > cancels:
            # redis-py writes through ``asyncio.wait_for``, which on Python 3.11 drops a
            # cancellation that arrives as the write completes (the call then returns, or
            # fails some other way): re-raise it, or a cancelled caller would go on (and
            # `Poller.aclose` would wait for it forever).
            raise asyncio.CancelledError
        if failure is not None:
            self._went_down(failure)
            raise RedisDown from None
        return reply

    def fire(self, script: str, keys: list[str], args: Sequence[str | int]) -> None:
        """Run ``script`` in the background (a re-date, a give-back): nobody waits for it."""
        if self._down or self._loop is None or self._loop.is_closed():
            return
        task = self._loop.create_task(self._fire(script, keys, args))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _fire(self, script: str, keys: list[str], args: Sequence[str | int]) -> None:
        with contextlib.suppress(RedisDown):
            await self._call(script, keys, args)

    async def penalize(self, budgets: Sequence[Budget], seconds: float) -> None:
        """Let nothing start through ``budgets`` for ``seconds`` from now, in every process."""
        plan = self._plan_for(budgets)
        if not self._down:
            args = [round(seconds * _US), max(plan.keep_ms)]
            with contextlib.suppress(RedisDown):
                for part in plan.parts:  # one call per hash tag on a Cluster
                    await self._call(PENALIZE, part.keys, args)
        shares = self._shares(plan)
        if self._fallback is not None and shares:
            await self._fallback.penalize(shares, seconds)
        keys = set(plan.keys)
        for future, waiting in list(self._sleepers.items()):
            if not keys.isdisjoint(waiting.keys) and not future.done():
                future.set_exception(Repause())

    async def aclose(self) -> None:
        """Stop the background probe and close the Redis client (if this limiter made it)."""
        if self._probe is not None:
            self._probe.cancel()
        for task in [*self._background, *([self._probe] if self._probe else [])]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._owns_client and self.cluster:
            await self._client.aclose()
        elif self._owns_client:
            await self._client.aclose(close_connection_pool=True)
