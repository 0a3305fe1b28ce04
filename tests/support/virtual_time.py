"""An event loop on a controlled clock: when nothing is ready it jumps to the next timer.

Limiter tests then assert exact schedules (a start at 0.103 s happens at exactly 0.103 on
``loop.time()``) and run in milliseconds, whatever the machine's load. Sockets still work: the
loop only fast-forwards when no I/O is ready.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _FastForwardSelector(selectors.DefaultSelector):
    """A selector whose timed waits advance the virtual clock instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = super().select(0)
        if events or timeout == 0:
            return events
        if timeout is None:
            return super().select(None)
        self.now += timeout
        return []


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose ``time()`` starts at 0.0 and only moves when the loop is idle."""

    def __init__(self) -> None:
        self._selector_ff = _FastForwardSelector()
        super().__init__(self._selector_ff)

    def time(self) -> float:
        return self._selector_ff.now


def run_virtual(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` to completion on a fresh `VirtualTimeLoop`."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(main)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
