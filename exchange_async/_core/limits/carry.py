"""The in-process budgets carried from one event loop to the next of the same process.

Each event loop has its own `MemoryLimiter` (its timers and futures belong to that loop). A
sync program that calls ``asyncio.run(fetch())`` again and again starts a new loop each time;
so that a run does not start with a full budget, a new loop's limiter starts from every
schedule (next slot, pause) the process's other loops left, when both loops count time on
``time.monotonic()`` (asyncio's and uvloop's clocks do; a loop with its own clock, such as a
test's virtual clock, keeps its own budgets).

This covers loops that run one after another. Loops running *at the same time* in several
threads each keep their own budgets from the moment they start: give them one shared limiter
(``rate_limits=<Redis URL>``) or run one loop per process.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import deque

from .memory import MemoryLimiter
from .schedule import Schedule

__all__ = [
    "LOOP_LIMITERS",
    "MONOTONIC_SLACK",
    "forget_other_loops",
    "limiter_of_loop",
    "memory_limiter_for_running_loop",
]

MONOTONIC_SLACK = 0.05
"""Seconds: a loop whose ``time()`` is this close to ``time.monotonic()`` shares its budgets
with the process's other such loops (the offset is added to carried slots: later, never
earlier)."""

_lock = threading.Lock()
_carriers: list[tuple[asyncio.AbstractEventLoop, MemoryLimiter, float]] = []
"""(loop, its limiter, its clock's offset from ``time.monotonic()``), for the loops on the
monotonic clock that may still run or were not yet carried into a newer loop's limiter."""


LOOP_LIMITERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MemoryLimiter] = (
    weakref.WeakKeyDictionary()
)
"""The `MemoryLimiter` of each event loop (see `limiter_of_loop`)."""


def memory_limiter_for_running_loop() -> MemoryLimiter:
    """The `MemoryLimiter` shared by every client on the running event loop."""
    return limiter_of_loop(asyncio.get_running_loop())


def forget_other_loops() -> None:
    """Let the next new event loop start with fresh budgets (a test suite that gives each test
    a fresh simulator at the same address calls this between tests)."""
    with _lock:
        _carriers.clear()


def limiter_of_loop(loop: asyncio.AbstractEventLoop) -> MemoryLimiter:
    """The `MemoryLimiter` of ``loop``: made on first use, from the other loops' budgets."""
    found = LOOP_LIMITERS.get(loop)
    if found is None:
        found = LOOP_LIMITERS[loop] = _new_limiter(loop)
    return found


def _new_limiter(loop: asyncio.AbstractEventLoop) -> MemoryLimiter:
    limiter = MemoryLimiter()
    offset = loop.time() - time.monotonic()
    if abs(offset) > MONOTONIC_SLACK:
        return limiter  # its own clock: its own budgets
    with _lock:
        for other_loop, other, other_offset in _carriers:
            if other_loop is not loop:
                _carry(other, limiter, abs(offset) + abs(other_offset))
        # A loop that is not running now has been carried here: forget it (and let it go).
        _carriers[:] = [c for c in _carriers if c[0].is_running() and c[0] is not loop]
        _carriers.append((loop, limiter, offset))
    return limiter


def _carry(source: MemoryLimiter, target: MemoryLimiter, slack: float) -> None:
    """Start ``target``'s budgets no earlier than ``source``'s next slots and pauses."""
    for _ in range(3):  # another thread's loop may add a budget meanwhile: read again
        try:
            states = list(source._states.items())
            break
        except RuntimeError:
            continue
    else:
        return
    for key, state in states:
        mine = target._states.get(key)
        if mine is None:
            mine = target._states[key] = _blank_copy(state)
        mine.tat = max(mine.tat, state.tat + slack)
        mine.paused_until = max(mine.paused_until, state.paused_until + slack)


def _blank_copy(state: Schedule) -> Schedule:
    """A schedule with ``state``'s key and timing, no slot taken, no ticket, nobody queued."""
    copy = object.__new__(Schedule)
    for name in ("key", "interval", "tolerance", "catch_up", "late_ok", "shared", "chained"):
        setattr(copy, name, getattr(state, name))
    copy.tat = float("-inf")
    copy.paused_until = float("-inf")
    copy.last = None
    copy.ready = deque()
    return copy
