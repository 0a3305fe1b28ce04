"""Injected faults: replies that replace the normal one for the next requests to a path."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal, get_args

from .replies import Reply, text_reply

__all__ = [
    "FAULT_KINDS",
    "Fault",
    "FaultKind",
    "FaultQueue",
    "generic_fault_reply",
    "retry_after_headers",
]

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


_BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def generic_fault_reply(fault: Fault) -> Reply | None:
    """The reply of a fault that looks the same on every exchange (proxy errors, a dropped
    connection); ``None`` for faults the exchange itself must shape."""
    if fault.kind == "http_500":
        return text_reply(500, "Internal Server Error")
    if fault.kind == "http_502":
        return text_reply(502, "Bad Gateway")
    if fault.kind == "http_503":
        return text_reply(503, "Service Unavailable")
    if fault.kind == "html":
        return text_reply(502, _BAD_GATEWAY_HTML, "text/html")
    if fault.kind == "disconnect":
        return Reply(0, disconnect=True)
    return None


def retry_after_headers(fault: Fault) -> dict[str, str]:
    """A ``Retry-After`` header (whole seconds when integral, else decimal) if the fault has one."""
    if fault.retry_after is None:
        return {}
    seconds = fault.retry_after
    return {"Retry-After": str(int(seconds)) if seconds == int(seconds) else str(seconds)}
