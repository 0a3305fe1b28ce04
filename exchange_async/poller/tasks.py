"""Stopping tasks for sure, and noticing a cancellation a library swallowed.

redis-py (8.x, on Python 3.11) writes through ``asyncio.wait_for``, which drops a cancellation
that arrives just as the inner call completes: the call returns, and the cancelled task goes
on as if nothing happened. A task in a ``while True`` loop then never ends, and whoever awaits
it after ``cancel()`` (``Poller.aclose``) waits forever. `uncancelled` re-raises such a lost
cancellation after each call; `stop` cancels again until the task has ended, within a bound.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

__all__ = ["STOP_WITHIN", "stop", "uncancelled"]

T = TypeVar("T")

log = logging.getLogger("exchange_async.poller")

STOP_WITHIN = 10.0
"""Seconds `stop` waits for a task at most before it gives up on it (and says so)."""
_AGAIN = 0.05
"""Seconds between two cancellations of a task that has not ended yet."""


async def uncancelled(call: Awaitable[T]) -> T:
    """Await ``call``; raise `asyncio.CancelledError` if the current task was cancelled
    meanwhile, even when ``call`` swallowed that cancellation and returned or failed."""
    task = asyncio.current_task()
    cancels = task.cancelling() if task is not None else 0
    try:
        result = await call
    except Exception:
        if task is not None and task.cancelling() > cancels:
            raise asyncio.CancelledError from None
        raise
    if task is not None and task.cancelling() > cancels:
        raise asyncio.CancelledError
    return result


async def stop(*tasks: asyncio.Task[Any], within: float = STOP_WITHIN) -> None:
    """Cancel ``tasks`` and wait until they have ended, cancelling again every 50 ms (a
    cancellation may be swallowed); after ``within`` seconds give up on those still running,
    with a warning. Cancelling the caller cancels the wait, not the bound."""
    pending = {t for t in tasks if not t.done()}
    deadline = time.monotonic() + within
    while pending:
        for task in pending:
            task.cancel()
        left = deadline - time.monotonic()
        if left <= 0:
            names = ", ".join(sorted(t.get_name() for t in pending))
            log.warning("tasks did not stop within %.1f s of cancel(): %s", within, names)
            return
        _, pending = await asyncio.wait(pending, timeout=min(_AGAIN, left))
    for task in tasks:  # retrieve each outcome: no "exception was never retrieved"
        if not task.cancelled():
            task.exception()
