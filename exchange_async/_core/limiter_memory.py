"""The in-process limiter: every budget is a schedule of reserved start slots (GCRA).

Each budget keeps a *theoretical arrival time* ``tat``: the earliest moment the next request
may start, ``interval`` after the previous one. A request reserves its start in one step,

    start = max(now, max over its budgets of (tat - catch_up), any pause's end)
    tat   = max(tat, start) + interval        for each of its budgets

and then sleeps on ONE timer until ``start`` (no lock, no second acquire). Reservations are
made in arrival order, so callers are served first come, first served by construction; the
wait is known up front, so a caller whose wait exceeds ``max_wait`` is refused at once without
spending anything.

Any N + 1 starts of a budget span at least ``N * interval - catch_up``. ``catch_up`` (2 ms, at
most a quarter of the margin, 0 with no margin) lets a start happen that much before ``tat``,
so a waiter the event loop wakes a little late does not push every later start back.

**Late sends.** A request's bytes may leave after its reserved start (it waited for a pooled
connection, a TLS handshake, a busy event loop). `Permit.sent` records the real moment, and
for account-level budgets the next start counts from it: every reservation remembers the one
before it in each account budget, and when it is due it checks that one: not sent yet (rare)
-> it waits for it; sent late -> it starts ``interval - catch_up`` after the real send. The
common path stays one timer. Per-IP budgets skip this (their window is a minute and their 3 s
margin absorbs any send delay).

**Giving back.** A reservation that is cancelled, closed (`WaitGroup.close`) or released
unsent gives its slot back where it is the last one of a budget (nothing later relies on it);
elsewhere the slot stays spent (a little slower, never over the limit).

**Pauses.** `penalize` pushes the budgets' ``tat`` past the pause and re-reserves, in arrival
order, every waiter that holds one of them.

Idle budgets (``tat`` in the past, nothing pending) are dropped now and then: no stale state.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence

from .._errors import ClientClosedError, RateLimitWaitTimeout
from .limiter import Budget, WaitGroup
from .ratelimit import CATCH_UP, Scope, validate_margin

__all__ = ["MemoryLimiter", "MemoryWaitGroup", "memory_limiter_for_running_loop"]

_SWEEP_EVERY = 30.0
"""Seconds (loop time) between two sweeps of idle budgets."""

_RECENT_MAX = 4096
"""Budget tuples whose states are remembered by identity (a cache, cleared when full)."""

_PENDING, _GRANTED, _SENT, _RELEASED = range(4)


class _State:
    """The schedule of one budget (shared by every client of the same server, limit, owner)."""

    __slots__ = ("catch_up", "chained", "interval", "key", "last", "paused_until", "tat")

    def __init__(self, key: tuple[str, str, Scope, str], budget: Budget) -> None:
        margin = validate_margin(budget.margin)
        self.key = key
        self.interval = budget.interval
        self.catch_up = min(CATCH_UP, budget.limit.period * margin / 4)
        self.chained = budget.scope is not Scope.IP  # re-date late sends through this budget
        self.tat = float("-inf")
        self.paused_until = float("-inf")
        self.last: _Ticket | None = None


class _Ticket:
    """One reserved start: the `Permit` handed to the caller once it is due."""

    __slots__ = ("afters", "befores", "followers", "loop", "prevs", "sent_at", "start", "states",
                 "status")  # fmt: skip

    def __init__(self, loop: asyncio.AbstractEventLoop, states: tuple[_State, ...]) -> None:
        self.loop = loop
        self.states = states
        self.status = _PENDING
        self.start = 0.0
        self.sent_at = 0.0
        self.prevs: list[_Ticket | None] = []
        self.befores: list[float] = []
        self.afters: list[float] = []
        self.followers: list[asyncio.Future[None]] | None = None

    def sent(self) -> None:
        """The request's bytes are leaving now: later starts count from this moment."""
        if self.status != _GRANTED:
            return
        self.status = _SENT
        now = self.sent_at = self.loop.time()
        if now > self.start:
            for i, state in enumerate(self.states):
                if state.chained:
                    after = self.afters[i] = max(self.afters[i], now + state.interval)
                    if state.last is self:
                        state.tat = max(state.tat, after)
        self.prevs = []
        self._wake_followers()

    def release(self) -> None:
        """The request never left (or `sent` ran already): give the slot back where safe."""
        if self.status == _SENT or self.status == _RELEASED:
            return
        self.status = _RELEASED
        for state in self.states:
            while (last := state.last) is not None and last.status == _RELEASED:
                i = last.states.index(state)
                state.tat = last.befores[i]
                state.last = last.prevs[i]
        self._wake_followers()

    def _wake_followers(self) -> None:
        if self.followers:
            for future in self.followers:
                if not future.done():
                    future.set_result(None)
            self.followers = None

    def due(self) -> float | _Ticket:
        """When this ticket may start (loop time), or the earlier ticket it must wait for."""
        start = self.start
        for i, state in enumerate(self.states):
            if state.paused_until > start:
                start = state.paused_until
            prev = self.prevs[i]
            if prev is None or not state.chained:
                continue
            while prev is not None and prev.status == _RELEASED:
                prev = prev.prevs[prev.states.index(state)]
            if prev is None:
                continue
            if prev.status != _SENT:
                return prev
            floor = prev.afters[prev.states.index(state)]
            if floor - state.catch_up > start:
                start = floor - state.catch_up
            self.afters[i] = max(self.afters[i], max(floor, start) + state.interval)
        if start > self.start:
            self.start = start
            for i, state in enumerate(self.states):
                self.afters[i] = max(self.afters[i], start + state.interval)
                if state.last is self:
                    state.tat = max(state.tat, self.afters[i])
        return start

    def __repr__(self) -> str:
        return f"<Permit start={self.start:.6f} status={self.status}>"


class MemoryWaitGroup:
    """The waits of one client on a `MemoryLimiter`; `close` fails them all at once."""

    __slots__ = ("__weakref__", "closed", "waiters")

    def __init__(self) -> None:
        self.closed = False
        self.waiters: set[asyncio.Future[None]] = set()

    def close(self) -> None:
        """Fail every wait of this group (now and later) with `ClientClosedError`."""
        self.closed = True
        for future in self.waiters:
            if not future.done():
                future.set_exception(ClientClosedError("the client was closed"))
        self.waiters.clear()


class _Waiter:
    """A caller asleep in `MemoryLimiter.acquire` (its ticket may be replaced by a pause)."""

    __slots__ = ("future", "ticket")

    def __init__(self, ticket: _Ticket) -> None:
        self.ticket = ticket
        self.future: asyncio.Future[None] | None = None


class MemoryLimiter:
    """Rate limits kept in this process: every client on the event loop shares its budgets.

    See the module docstring for the algorithm. Use `memory_limiter_for_running_loop` to get
    the loop's shared instance; a separate instance has separate budgets.
    """

    def __init__(self) -> None:
        self._states: dict[tuple[str, str, Scope, str], _State] = {}
        self._by_budget: dict[Budget, _State] = {}
        self._waiting: dict[_Waiter, None] = {}  # in arrival order
        self._recent: dict[int, tuple[Sequence[Budget], tuple[_State, ...]]] = {}
        self._next_sweep = float("-inf")

    def wait_group(self) -> MemoryWaitGroup:
        """A new group for one client's waits."""
        return MemoryWaitGroup()

    def _state(self, budget: Budget) -> _State:
        state = self._by_budget.get(budget)
        if state is None:
            key = (budget.server, budget.limit.name, budget.limit.scope, budget.owner)
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = _State(key, budget)
            elif budget.interval > state.interval:  # clients with different margins: widest
                state.interval = budget.interval
            self._by_budget[budget] = state
        return state

    def _reserve(
        self, loop: asyncio.AbstractEventLoop, states: tuple[_State, ...], start: float
    ) -> _Ticket:
        ticket = _Ticket(loop, states)
        ticket.start = start
        for state in states:
            tat = state.tat
            ticket.befores.append(tat)
            ticket.prevs.append(state.last)
            after = state.tat = (tat if tat > start else start) + state.interval
            ticket.afters.append(after)
            state.last = ticket
        return ticket

    @staticmethod
    def _earliest(states: tuple[_State, ...], now: float) -> float:
        start = now
        for state in states:
            if state.tat - state.catch_up > start:
                start = state.tat - state.catch_up
            if state.paused_until > start:
                start = state.paused_until
        return start

    async def acquire(
        self, budgets: Sequence[Budget], *, max_wait: float | None, group: WaitGroup
    ) -> _Ticket:
        """Wait until a request may start under every budget and reserve that start.

        Raises `RateLimitWaitTimeout` at once (reserving nothing) when the wait would exceed
        ``max_wait`` seconds, and `ClientClosedError` when ``group`` is or gets closed.
        """
        if not isinstance(group, MemoryWaitGroup):
            raise TypeError("group must come from this limiter's wait_group()")
        if group.closed:
            raise ClientClosedError("the client was closed")
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now >= self._next_sweep:
            self._sweep(now)
        cached = self._recent.get(id(budgets))  # the pipeline reuses its budgets tuples
        if cached is not None and cached[0] is budgets:
            states = cached[1]
        else:
            states = tuple(self._state(b) for b in budgets)
            if len(self._recent) >= _RECENT_MAX:
                self._recent.clear()
            self._recent[id(budgets)] = (budgets, states)
        start = self._earliest(states, now)
        if max_wait is not None and start - now > max_wait:
            raise _timeout(budgets, max_wait)
        ticket = self._reserve(loop, states, start)
        if start <= now:
            due = ticket.due()
            if not isinstance(due, _Ticket) and due <= now:
                ticket.status = _GRANTED
                return ticket
        return await self._wait(loop, _Waiter(ticket), budgets, max_wait, group)

    async def _wait(
        self,
        loop: asyncio.AbstractEventLoop,
        waiter: _Waiter,
        budgets: Sequence[Budget],
        max_wait: float | None,
        group: MemoryWaitGroup,
    ) -> _Ticket:
        deadline = None if max_wait is None else loop.time() + max_wait
        self._waiting[waiter] = None
        try:
            while True:
                if group.closed:
                    raise ClientClosedError("the client was closed")
                ticket = waiter.ticket
                due = ticket.due()
                now = loop.time()
                if isinstance(due, _Ticket):  # an earlier request has not left yet (rare)
                    if deadline is not None and now >= deadline:
                        raise _timeout(budgets, max_wait)
                    when = deadline
                elif due <= now:
                    ticket.status = _GRANTED
                    return ticket
                elif deadline is not None and due > deadline:
                    raise _timeout(budgets, max_wait)
                else:
                    when = due
                future = waiter.future = loop.create_future()
                if isinstance(due, _Ticket):
                    (due.followers or _set_followers(due)).append(future)
                handle = None if when is None else loop.call_at(when, _wake, future)
                group.waiters.add(future)
                try:
                    await future
                finally:
                    group.waiters.discard(future)
                    if handle is not None:
                        handle.cancel()
        except BaseException:
            waiter.ticket.release()
            raise
        finally:
            del self._waiting[waiter]

    async def penalize(self, budgets: Sequence[Budget], seconds: float) -> None:
        """Let nothing start through ``budgets`` for ``seconds`` from now (waiters included)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        until = now + seconds
        paused = set()
        for budget in budgets:
            state = self._state(budget)
            state.paused_until = max(state.paused_until, until)
            state.tat = max(state.tat, until)
            paused.add(state)
        for waiter in list(self._waiting):  # arrival order: re-reserved in the same order
            old = waiter.ticket
            if old.status != _PENDING or paused.isdisjoint(old.states):
                continue
            old.release()
            waiter.ticket = self._reserve(loop, old.states, self._earliest(old.states, now))
            if waiter.future is not None and not waiter.future.done():
                waiter.future.set_result(None)

    def next_start(self, budgets: Sequence[Budget]) -> float:
        """The earliest start (loop time) a request through ``budgets`` could reserve now."""
        now = asyncio.get_running_loop().time()
        return self._earliest(tuple(self._state(b) for b in budgets), now)

    def push(self, budgets: Sequence[Budget], not_before: float) -> None:
        """Record a start at ``not_before`` (loop time) made elsewhere (e.g. through Redis)."""
        for budget in budgets:
            state = self._state(budget)
            state.tat = max(state.tat, not_before) + state.interval

    def hold(self, budget: Budget, until: float) -> None:
        """Let nothing start through ``budget`` before ``until`` (loop time), queue kept."""
        state = self._state(budget)
        state.tat = max(state.tat, until)

    def _sweep(self, now: float) -> None:
        """Drop the budgets that are as good as new (idle), so dead accounts cost nothing."""
        self._next_sweep = now + _SWEEP_EVERY
        idle = {
            key
            for key, s in self._states.items()
            if s.tat <= now
            and s.paused_until <= now
            and (s.last is None or s.last.status in (_SENT, _RELEASED))
        }
        if idle:
            self._recent.clear()
            for key in idle:
                del self._states[key]
            self._by_budget = {b: s for b, s in self._by_budget.items() if s.key not in idle}

    def __len__(self) -> int:
        """How many budgets hold state."""
        return len(self._states)


def _set_followers(ticket: _Ticket) -> list[asyncio.Future[None]]:
    ticket.followers = []
    return ticket.followers


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _timeout(budgets: Sequence[Budget], max_wait: float | None) -> RateLimitWaitTimeout:
    names = ", ".join(sorted({b.limit.name for b in budgets}))
    return RateLimitWaitTimeout(f"cannot start this request within max_rate_wait ({names})")


_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MemoryLimiter] = (
    weakref.WeakKeyDictionary()
)


def memory_limiter_for_running_loop() -> MemoryLimiter:
    """The `MemoryLimiter` shared by every client on the running event loop."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = MemoryLimiter()
    return limiter
