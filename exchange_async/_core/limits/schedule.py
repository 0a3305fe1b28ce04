"""The in-process limiter's data: one `Schedule` per budget, one `Ticket` per request.

`MemoryLimiter` (in `memory`) drives them; the rules are in its module docstring.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

from ..._errors import ClientClosedError
from .declarations import Scope
from .seam import Budget

__all__ = [
    "GRANTED",
    "PENDING",
    "RELEASED",
    "SENT",
    "MemoryWaitGroup",
    "Schedule",
    "Scheduler",
    "Ticket",
    "Waiter",
    "reserve",
]

PENDING, GRANTED, SENT, RELEASED = range(4)


class Scheduler(Protocol):
    """What a ticket tells its limiter (`MemoryLimiter`)."""

    def advance(self, ticket: Ticket) -> None:
        """An earlier ticket it waited for has left or was released: move it on."""
        ...

    def forget(self, ticket: Ticket, was_queued: bool) -> None:
        """A waiting ticket was released."""
        ...


class MemoryWaitGroup:
    """The waits of one client on a `MemoryLimiter`; `close` fails them all at once."""

    __slots__ = ("__weakref__", "closed", "waiters")

    def __init__(self) -> None:
        self.closed = False
        self.waiters: set[asyncio.Future[Ticket]] = set()

    def close(self) -> None:
        """Fail every wait of this group (now and later) with `ClientClosedError`."""
        self.closed = True
        for future in self.waiters:
            if not future.done():
                future.set_exception(ClientClosedError("the client was closed"))
        self.waiters.clear()


class Schedule:
    """The GCRA schedule of one budget (shared by every client of the same server, limit,
    owner): ``tat`` the next slot, ``tolerance`` how early a start may come, a pause's end,
    and for a shared budget the FIFO ``ready`` queue of requests whose own budgets are due."""

    __slots__ = ("catch_up", "chained", "interval", "key", "last", "late_ok", "paused_until",
                 "ready", "shared", "tat", "tolerance")  # fmt: skip

    def __init__(self, key: tuple[str, str, Scope, str], budget: Budget) -> None:
        interval, tolerance, catch_up, jitter = budget.limit.timing(budget.margin)
        self.key = key
        self.interval = interval
        self.tolerance = tolerance
        self.catch_up = catch_up
        self.late_ok = jitter / 2  # half: the other half for the network
        self.shared = budget.limit.scope is Scope.IP
        self.chained = not self.shared  # an account budget: re-date late sends through it
        self.tat = float("-inf")
        self.paused_until = float("-inf")
        self.last: Ticket | None = None
        self.ready: deque[Ticket] = deque()

    def widen(self, budget: Budget) -> None:
        """Clients with different margins share one schedule at the widest spacing."""
        if budget.interval > self.interval:
            self.interval = budget.interval
            self.tolerance = min(self.tolerance, budget.tolerance)

    def conforms_at(self) -> float:
        """The earliest moment (loop time) a start may take this budget's next slot."""
        start = self.tat - self.tolerance
        return start if start > self.paused_until else self.paused_until


class Waiter:
    """A caller asleep in `MemoryLimiter.acquire`: its ``future`` gets the granted ticket (a
    pause may replace its ``ticket`` by a new reservation). ``deadline``: loop time or None."""

    __slots__ = ("deadline", "future", "ticket")

    def __init__(
        self, ticket: Ticket, future: asyncio.Future[Ticket], deadline: float | None
    ) -> None:
        self.ticket = ticket
        self.future = future
        self.deadline = deadline


class Ticket:
    """One request's reservation: the `Permit` handed to the caller once it may start.

    Its account budgets (``narrow``) are reserved on arrival, ``start`` being that slot; its
    shared budgets only when the narrow slot is due (`MemoryLimiter` docstring). Per budget
    (``states`` = narrow then shared) it remembers the slot before its own (``befores``), its
    predecessor (``prevs``) and the next slot after it (``afters``).
    """

    __slots__ = ("afters", "befores", "followers", "granted_at", "limiter", "loop", "n_narrow",
                 "prevs", "queued", "start", "states", "status", "waiter", "wake_at")  # fmt: skip

    def __init__(
        self,
        limiter: Scheduler,
        loop: asyncio.AbstractEventLoop,
        states: tuple[Schedule, ...],
        n_narrow: int,
    ) -> None:
        self.limiter = limiter
        self.loop = loop
        self.states = states
        self.n_narrow = n_narrow
        self.status = PENDING
        self.start = 0.0
        self.granted_at = 0.0
        self.wake_at = -1.0  # the timer entry that is current for it (others are stale)
        self.queued = False  # waiting in its shared budgets' ready queues
        self.prevs: list[Ticket | None] = [None] * len(states)
        self.befores: list[float] = [0.0] * len(states)
        self.afters: list[float] = [0.0] * len(states)
        self.followers: list[Ticket] = []
        self.waiter: Waiter | None = None

    @property
    def narrow(self) -> tuple[Schedule, ...]:
        """The account budgets, reserved on arrival."""
        return self.states[: self.n_narrow]

    @property
    def shared(self) -> tuple[Schedule, ...]:
        """The shared (per-IP) budgets, taken once the narrow slot is due."""
        return self.states[self.n_narrow :]

    def take(self, i: int, state: Schedule, start: float) -> None:
        """Take ``state``'s next slot at ``start``, remembering how to give it back."""
        tat = state.tat
        self.befores[i] = tat
        self.prevs[i] = state.last
        after = state.tat = (tat if tat > start else start) + state.interval
        self.afters[i] = after
        state.last = self

    def sent(self) -> None:
        """The request's bytes are leaving now: later starts count from this moment."""
        if self.status != GRANTED:
            return
        self.status = SENT
        tick = getattr(self.loop, "_clock_resolution", 0.001)  # uvloop's time() counts whole ms
        now = self.loop.time() + (tick if tick >= 1e-6 else 0.0)  # the tick's end
        for i, state in enumerate(self.states):
            if state.chained:
                if now > self.start:
                    after = self.afters[i] = max(self.afters[i], now + state.interval)
                    if state.last is self:
                        state.tat = max(state.tat, after)
            elif now - self.granted_at > state.late_ok:  # a shared budget: later than its
                # jitter allowance covers (a send that late is rare): shift its next slots
                state.tat = max(state.tat, self.afters[i] + now - self.granted_at)
        self.prevs = []
        if self.followers:
            self._wake_followers()

    def release(self) -> None:
        """The request never left (or `sent` ran already): give the slots back where safe."""
        if self.status == SENT or self.status == RELEASED:
            return
        was_queued = self.queued
        self.status = RELEASED
        self.give_back()
        self._wake_followers()
        if was_queued or self.waiter is not None:
            self.limiter.forget(self, was_queued)

    def give_back(self) -> None:
        """Hand back every slot of a released ticket that is still the last of its budget."""
        if self.queued:
            self.queued = False
            for state in self.shared:
                state.ready.remove(self)
        for state in self.states:
            while (last := state.last) is not None and last.status == RELEASED:
                i = last.states.index(state)
                state.tat = last.befores[i]
                state.last = last.prevs[i]

    def _wake_followers(self) -> None:
        if self.followers:
            followers, self.followers = self.followers, []
            for ticket in followers:
                self.limiter.advance(ticket)

    def due(self) -> float | Ticket:
        """When the narrow slot may start (loop time), or the earlier ticket to wait for."""
        start = self.start
        for i in range(self.n_narrow):
            state = self.states[i]
            if state.paused_until > start:
                start = state.paused_until
            prev = self.prevs[i]
            while prev is not None and prev.status == RELEASED:
                prev = prev.prevs[prev.states.index(state)]
            if prev is None:
                continue
            if prev.status != SENT:
                return prev
            floor = prev.afters[prev.states.index(state)]
            if floor - state.catch_up > start:
                start = floor - state.catch_up
            self.afters[i] = max(self.afters[i], max(floor, start) + state.interval)
        if start > self.start:
            self.start = start
            for i, state in enumerate(self.narrow):
                self.afters[i] = max(self.afters[i], start + state.interval)
                if state.last is self:
                    state.tat = max(state.tat, self.afters[i])
        return start

    def __repr__(self) -> str:
        return f"<Permit start={self.start:.6f} status={self.status}>"


def reserve(
    limiter: Scheduler,
    loop: asyncio.AbstractEventLoop,
    states: tuple[Schedule, ...],
    n: int,
    now: float,
    start: float,
    grant: bool,
) -> Ticket:
    """A new ticket with its ``n`` account slots taken at ``start`` (`Ticket.take`).

    With ``grant``, when no earlier request of the account is still to leave (so `Ticket.due`
    is ``start``): if the start is now and nobody queues at the shared budgets, whose slots
    are free now (`MemoryLimiter._take_shared_now`), their slots are taken too and the ticket
    is GRANTED; if the start is later, ``wake_at`` is set to it (the limiter's timer wakes it
    then). Otherwise it stays PENDING for the limiter. Written out: the common path.
    """
    ticket = Ticket(limiter, loop, states, n)
    ticket.start = start
    befores, prevs, afters = ticket.befores, ticket.prevs, ticket.afters
    free = grant  # no earlier request of the account still to leave (so far)
    for i in range(n):
        state = states[i]
        tat, prev = state.tat, state.last
        befores[i] = tat
        prevs[i] = prev
        after = afters[i] = state.tat = (tat if tat > start else start) + state.interval
        state.last = ticket
        if free and prev is not None:  # as `Ticket.due` does, for a predecessor that left
            if prev.status != SENT:
                free = False  # not left yet, or released: the limiter's general path
                continue
            floor = prev.afters[i if prev.states is states else prev.states.index(state)]
            if floor - state.catch_up > start:
                free = False
            elif (floor if floor > start else start) + state.interval > after:
                afters[i] = (floor if floor > start else start) + state.interval
    if not free:
        return ticket
    if start > now:
        ticket.wake_at = start
        return ticket
    for i in range(n, len(states)):
        state = states[i]
        if state.ready or state.tat - state.tolerance > now or state.paused_until > now:
            return ticket
    for i in range(n, len(states)):
        state = states[i]
        tat = befores[i] = state.tat
        prevs[i] = state.last
        afters[i] = state.tat = (tat if tat > now else now) + state.interval
        state.last = ticket
    ticket.status = GRANTED
    ticket.granted_at = now
    return ticket
