"""The demo's plain view: an opening line, a status line every few seconds, and (optionally)
one line per event. For pipes, logs, CI, and terminals without ``rich``."""

from __future__ import annotations

import time
from typing import TextIO

from ... import Event, OrderOpened
from .frame import Frame
from .tracker import describe

__all__ = ["PlainView", "status_line"]


def status_line(frame: Frame) -> str:
    """One line of the frame's headline numbers."""
    return (
        f"[{frame.clock()}] {frame.rate_text()}  {frame.requests_text()}  "
        f"{frame.orders_text()}  {frame.accounts_text()}  violations {frame.violations}"
    )


class PlainView:
    """Status lines on ``out`` every ``every`` seconds; with ``events``, every event too
    (except the orders of first snapshots, summed up by one ``synced`` line per account)."""

    def __init__(self, out: TextIO, *, every: float = 2.0, events: bool = False) -> None:
        self.out = out
        self.every = every
        self.events = events
        self._last = time.monotonic()

    def start(self, opening: str) -> None:
        """Print the opening line."""
        self._print(opening)

    def update(self, frame: Frame) -> None:
        """Print a status line when ``every`` seconds have passed since the last."""
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._print(status_line(frame))

    def event(self, event: Event) -> None:
        """Print ``event`` as a line when asked to."""
        if self.events and not (isinstance(event, OrderOpened) and event.initial):
            self._print(describe(event))

    def stop(self, final: Frame) -> None:
        """Print the last status line: the numbers the summary repeats."""
        self._print(status_line(final))

    def _print(self, line: str) -> None:
        print(line, file=self.out, flush=True)
