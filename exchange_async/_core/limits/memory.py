"""The in-process limiter: a GCRA schedule per budget, shared budgets taken in turn.

**Two phases.** A request's *account* budgets (per endpoint, per account) are reserved on
arrival, one GCRA step each (``tat`` is the budget's next slot, ``tau`` its tolerance,
`declarations` derives both):

    start = max(now, each account budget's tat - tau, any pause's end)
    tat   = max(tat, start) + interval

Only when that start is due does the request join the FIFO *ready* queue of each *shared*
budget (per IP) it counts against, and it takes the shared slot when it is at the head of each
and each conforms (``now >= tat - tau``). A request never holds a place in a shared budget
while it waits for its own account.

**Fairness, proof sketch.** An account budget's requests are chained: one is not due before the
one ahead of it in that budget has left (`Permit.sent`; see late sends). So each account budget
has at most one request in a shared budget's ready queue at a time. With ``k`` account budgets
ready, the queue is FIFO, and a served request's successor joins at the back: each waits for at
most ``k - 1`` others, i.e. accounts take turns at the shared budget's rate; none starves, and
an idle account's request waits for at most one request of each busy account.

**The promise** (per budget): any ``k + 1`` grants span at least ``k * interval - tau`` (GCRA),
hence never more than N in any window of W at the server while jitter stays under the margin's
allowance. Shared budgets: the same, from the ready queue.

**No timer for a free slot; one wake-up per due time.** `acquire` returns without suspending
when every budget conforms. Waiting requests sit on one timer heap per limiter with a single
armed loop timer: when it fires, every request due by then is released in the same callback.

**Late sends.** `Permit.sent` records the real send: for an account budget the next start
counts from it (a reservation is not due before the one ahead of it has left; then it starts
``interval - catch_up`` after the real send). For a shared budget, a send later than half its
jitter allowance (`RateLimit.jitter`: 750 ms for the per-IP minute) shifts the budget's next
slot by the lateness; a send less late is what the allowance is for, and shifting for it
would slow every account down.

**Giving back.** A reservation cancelled, closed (`WaitGroup.close`) or released unsent gives
its slot back where it is the last one of a budget; elsewhere the slot stays spent.

**Pauses.** `penalize` pushes the budgets' ``tat`` past the pause and re-reserves, in arrival
order, every waiter that holds one of them. Idle budgets are dropped now and then (at most
every 30 s, when a request brings budgets not looked up lately: a new account, say).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Sequence

from ..._errors import ClientClosedError, RateLimitWaitTimeout
from .declarations import Scope
from .schedule import GRANTED, PENDING, MemoryWaitGroup, Schedule, Ticket, Waiter, reserve
from .seam import Budget, WaitGroup

__all__ = ["MemoryLimiter", "MemoryWaitGroup"]

_SWEEP_EVERY = 30.0
"""Seconds (loop time) between two sweeps of idle budgets."""

_RECENT_MAX = 4096
"""Budget tuples whose schedules are remembered by identity (a cache, cleared when full)."""


class MemoryLimiter:
    """Rate limits kept in this process: every client on the event loop shares its budgets.

    See the module docstring for the algorithm. Use `carry.memory_limiter_for_running_loop` to get
    the loop's shared instance; a separate instance has separate budgets.
    """

    def __init__(self) -> None:
        self._states: dict[tuple[str, str, Scope, str], Schedule] = {}
        self._by_budget: dict[Budget, Schedule] = {}
        self._waiting: dict[Waiter, None] = {}  # in arrival order
        self._recent: dict[int, tuple[Sequence[Budget], tuple[Schedule, ...], int]] = {}
        self._next_sweep = float("-inf")
        self._heap: list[tuple[float, int, Ticket | Schedule | Waiter]] = []
        self._seq = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = float("inf")
        self._loop: asyncio.AbstractEventLoop | None = None
        self.wakeups = 0
        """Timer callbacks run so far (one per due time, however many callers it releases)."""

    def wait_group(self) -> MemoryWaitGroup:
        """A new group for one client's waits."""
        return MemoryWaitGroup()

    def _state(self, budget: Budget) -> Schedule:
        state = self._by_budget.get(budget)
        if state is None:
            key = (budget.server, budget.limit.name, budget.limit.scope, budget.owner)
            state = self._states.get(key)
            if state is None:
                state = self._states[key] = Schedule(key, budget)
            else:
                state.widen(budget)
            self._by_budget[budget] = state
        return state

    def _states_of(self, budgets: Sequence[Budget], now: float) -> tuple[tuple[Schedule, ...], int]:
        """The schedules of ``budgets`` (narrow first) and how many are narrow, looked up when
        `acquire` has not seen this tuple lately: then, now and then, idle budgets go first."""
        if now >= self._next_sweep:
            if self._next_sweep > float("-inf"):
                self._sweep(now)
            self._next_sweep = now + _SWEEP_EVERY
        narrow = [self._state(b) for b in budgets if b.limit.scope is not Scope.IP]
        shared = [self._state(b) for b in budgets if b.limit.scope is Scope.IP]  # `shared`
        states = tuple(narrow + shared)
        if len(self._recent) >= _RECENT_MAX:
            self._recent.clear()
        self._recent[id(budgets)] = (budgets, states, len(narrow))
        return states, len(narrow)

    @staticmethod
    def _earliest(states: Sequence[Schedule], now: float) -> float:
        start = now
        for state in states:
            at = state.conforms_at()
            if at > start:
                start = at
        return start

    def _reserve(
        self,
        loop: asyncio.AbstractEventLoop,
        states: tuple[Schedule, ...],
        n: int,
        now: float,
    ) -> Ticket:
        return reserve(self, loop, states, n, now, self._earliest(states[:n], now), False)

    async def acquire(
        self, budgets: Sequence[Budget], *, max_wait: float | None, group: WaitGroup
    ) -> Ticket:
        """Wait until a request may start under every budget and reserve that start.

        Returns without suspending when every budget has a free slot. Raises
        `RateLimitWaitTimeout` (at once, reserving nothing, when the account budgets alone
        already wait longer than ``max_wait`` seconds) and `ClientClosedError` when ``group``
        is or gets closed.
        """
        if not isinstance(group, MemoryWaitGroup):
            raise TypeError("group must come from this limiter's wait_group()")
        if group.closed:
            raise ClientClosedError("the client was closed")
        loop = self._loop = asyncio.get_running_loop()
        now = loop.time()
        # The common path is written out here and in `reserve` (a request costs few calls).
        cached = self._recent.get(id(budgets))  # the pipeline reuses its budgets tuples
        if cached is not None and cached[0] is budgets:
            states, n = cached[1], cached[2]
        else:
            states, n = self._states_of(budgets, now)
        start = now
        for i in range(n):  # `Schedule.conforms_at` of each account budget
            state = states[i]
            at = state.tat - state.tolerance
            if state.paused_until > at:
                at = state.paused_until
            if at > start:
                start = at
        if max_wait is not None and start - now > max_wait:
            raise _timeout(budgets, max_wait)
        ticket = reserve(self, loop, states, n, now, start, True)
        if ticket.status == GRANTED:
            return ticket  # a free slot: no timer, no suspension
        if ticket.wake_at < 0 and self._grant_now(ticket, now):
            return ticket
        future: asyncio.Future[Ticket] = loop.create_future()
        deadline = None if max_wait is None else now + max_wait
        waiter = ticket.waiter = Waiter(ticket, future, deadline)
        self._waiting[waiter] = None
        if waiter.deadline is not None:
            self._at(waiter.deadline, waiter)
        if ticket.wake_at >= 0:  # `advance`'s answer, known: its slot comes then
            self._at(ticket.wake_at, ticket)
        else:
            self.advance(ticket)
        group.waiters.add(future)
        try:
            return await future
        except BaseException:
            waiter.ticket.release()  # a granted one too: the caller never got it
            raise
        finally:
            group.waiters.discard(future)

    def _grant_now(self, ticket: Ticket, now: float) -> bool:
        if ticket.start > now:
            return False
        due = ticket.due()
        if isinstance(due, Ticket) or due > now or not self._take_shared_now(ticket, now):
            return False
        ticket.status = GRANTED
        ticket.granted_at = now
        return True

    @staticmethod
    def _take_shared_now(ticket: Ticket, now: float) -> bool:
        """Take the ticket's shared slots at once if nobody queues for them and they are free."""
        states = ticket.states
        for i in range(ticket.n_narrow, len(states)):
            if states[i].ready or states[i].conforms_at() > now:
                return False
        for i in range(ticket.n_narrow, len(states)):
            ticket.take(i, states[i], now)
        return True

    # -- the scheduler: every transition of a waiting ticket goes through `advance` ------------

    def advance(self, ticket: Ticket) -> None:
        """Move a waiting ticket on: wait for its narrow slot, or queue for its shared ones."""
        if ticket.status != PENDING or ticket.queued or ticket.waiter is None:
            return
        assert self._loop is not None
        now = self._loop.time()
        deadline = ticket.waiter.deadline
        due = ticket.due()
        if isinstance(due, Ticket):  # an earlier request of the account has not left yet
            due.followers.append(ticket)
        elif deadline is not None and due > deadline:
            self._fail(ticket)
        elif due > now:
            ticket.wake_at = due
            self._at(due, ticket)
        elif self._take_shared_now(ticket, now):  # none, or nobody queued and a free slot
            self._grant(ticket, now)
        else:
            ticket.queued = True
            for state in ticket.shared:
                state.ready.append(ticket)
            self._pump(ticket.shared, now)

    def _pump(self, states: Sequence[Schedule], now: float) -> None:
        """Grant the heads of ``states``' ready queues that conform; arm a timer for the rest."""
        work = list(states)
        while work:
            state = work.pop()
            while state.ready:
                head = state.ready[0]
                if any(s.ready[0] is not head for s in head.shared):
                    break  # it waits to be at the head elsewhere; that queue pumps it
                when = self._earliest(head.shared, now)
                if when > now:
                    waiter = head.waiter
                    if (
                        waiter is not None
                        and waiter.deadline is not None
                        and when > waiter.deadline
                    ):
                        self._fail(head)  # released: the queues it leaves are pumped
                        continue
                    self._at(when, state)
                    break
                head.queued = False
                for s in head.shared:
                    s.ready.popleft()
                    work.append(s)
                for i in range(head.n_narrow, len(head.states)):
                    head.take(i, head.states[i], now)
                self._grant(head, now)

    def _grant(self, ticket: Ticket, now: float) -> None:
        ticket.status = GRANTED
        ticket.granted_at = now
        waiter, ticket.waiter = ticket.waiter, None
        if waiter is not None:
            self._waiting.pop(waiter, None)
            if not waiter.future.done():
                waiter.future.set_result(ticket)

    def _fail(self, ticket: Ticket) -> None:
        waiter = ticket.waiter
        if waiter is not None and not waiter.future.done():
            names = ", ".join(sorted({s.key[1] for s in ticket.states}))
            waiter.future.set_exception(
                RateLimitWaitTimeout(f"cannot start this request within max_rate_wait ({names})")
            )
        ticket.release()

    def forget(self, ticket: Ticket, was_queued: bool) -> None:
        """A waiting ticket was released: drop its waiter, and let its shared queues move on."""
        waiter, ticket.waiter = ticket.waiter, None
        if waiter is not None:
            self._waiting.pop(waiter, None)
        if was_queued and self._loop is not None:
            self._pump(ticket.shared, self._loop.time())

    # -- one timer per due time ------------------------------------------------------------

    def _at(self, when: float, item: Ticket | Schedule | Waiter) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), item))
        if when < self._timer_at:
            assert self._loop is not None
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = when
            self._timer = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        """The one timer: release every waiter due by now, then arm for the next due time."""
        assert self._loop is not None
        self.wakeups += 1
        self._timer, self._timer_at = None, float("inf")
        now = self._loop.time()
        heap = self._heap
        while heap and heap[0][0] <= now:
            when, _, item = heapq.heappop(heap)
            if isinstance(item, Schedule):
                self._pump((item,), now)
            elif isinstance(item, Waiter):  # a deadline: still waiting, whatever its ticket
                if item in self._waiting:
                    self._fail(item.ticket)
            elif item.status == PENDING and item.wake_at == when:  # else stale
                item.wake_at = -1.0
                self.advance(item)
        if heap:
            self._timer_at = heap[0][0]
            self._timer = self._loop.call_at(self._timer_at, self._fire)

    async def penalize(self, budgets: Sequence[Budget], seconds: float) -> None:
        """Let nothing start through ``budgets`` for ``seconds`` from now (waiters included)."""
        loop = self._loop = asyncio.get_running_loop()
        now = loop.time()
        until = now + seconds
        paused = set()
        for budget in budgets:
            state = self._state(budget)
            state.paused_until = max(state.paused_until, until)
            state.tat = max(state.tat, until)
            paused.add(state)
        moved = [  # arrival order: re-reserved in the same order
            w for w in self._waiting if not paused.isdisjoint(w.ticket.narrow)
        ]
        old = [w.ticket for w in moved]
        for ticket in old:  # detached first: a released one wakes no one of them early
            ticket.waiter = None
        for ticket in old:
            ticket.release()
        for waiter, ticket in zip(moved, old, strict=True):
            waiter.ticket = self._reserve(ticket.loop, ticket.states, ticket.n_narrow, now)
            waiter.ticket.waiter = waiter
        for waiter in moved:
            self.advance(waiter.ticket)
        for state in paused:
            if state.ready:
                self._pump((state,), now)

    def next_start(self, budgets: Sequence[Budget]) -> float:
        """The earliest start (loop time) a request through ``budgets`` could reserve now."""
        now = asyncio.get_running_loop().time()
        return self._earliest([self._state(b) for b in budgets], now)

    def _sweep(self, now: float) -> None:
        """Drop the budgets that are as good as new (idle), so dead accounts cost nothing."""
        self._next_sweep = now + _SWEEP_EVERY
        idle = {
            key
            for key, s in self._states.items()
            if s.tat <= now
            and s.paused_until <= now
            and not s.ready
            and (s.last is None or s.last.status > GRANTED)
        }
        if idle:
            self._recent.clear()
            for key in idle:
                del self._states[key]
            self._by_budget = {b: s for b, s in self._by_budget.items() if s.key not in idle}

    def __len__(self) -> int:
        """How many budgets hold state."""
        return len(self._states)


def _timeout(budgets: Sequence[Budget], max_wait: float | None) -> RateLimitWaitTimeout:
    names = ", ".join(sorted({b.limit.name for b in budgets}))
    return RateLimitWaitTimeout(f"cannot start this request within max_rate_wait ({names})")
