"""Injected faults: replies that replace the normal one for the next requests to a path."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["FAULT_KINDS", "Fault", "FaultKind", "FaultQueue"]

FaultKind = Literal[
    "http_500",
    "http_502",
    "http_503",
    "rate_limited",
    "code",
    "malformed",
    "html",
    "delay",
    "disconnect",
    "repeat_cursor",
]
"""The kinds of fault :meth:`Simulator.inject` accepts."""

FAULT_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
"""Every fault kind, as strings."""


@dataclass(frozen=True, slots=True)
class Fault:
    """One queued fault and its parameters (only those its kind uses are set).

    ``shape`` chooses a CoinW ``code`` reply's shape: ``"msg"`` gives ``{"code", "data",
    "msg"}``, ``"message"`` gives ``{"code", "message", "retry", "success"}``; ``None`` picks
    ``"message"`` for 6003 and ``"msg"`` otherwise.
    """

    kind: FaultKind
    retry_after: float | None = None
    code: str | None = None
    msg: str | None = None
    http_status: int = 200
    shape: Literal["msg", "message"] | None = None
    seconds: float = 0.0


class FaultQueue:
    """Faults waiting per path, consumed one per request in order."""

    __slots__ = ("_queues",)

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = {}

    def add(self, path: str, fault: Fault, count: int = 1) -> None:
        """Queue ``fault`` for the next ``count`` requests to ``path``."""
        self._queues.setdefault(path, deque()).extend([fault] * count)

    def pop(self, path: str) -> Fault | None:
        """The fault the current request to ``path`` gets, if any (and consume it)."""
        queue = self._queues.get(path)
        if not queue:
            return None
        fault = queue.popleft()
        if not queue:
            del self._queues[path]
        return fault

    def pending(self, path: str | None = None) -> int:
        """How many faults are still queued (for ``path``, or in all)."""
        if path is not None:
            return len(self._queues.get(path, ()))
        return sum(len(queue) for queue in self._queues.values())

    def clear(self) -> None:
        """Drop every queued fault."""
        self._queues.clear()
