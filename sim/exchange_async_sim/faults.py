"""Fault injection: replies that replace the normal one, queued per path or drawn at random.

Exchange-neutral: the venues shape the faults that look like the exchange itself
(``rate_limited``, ``code``, ``malformed``); the rest look the same everywhere.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, get_args

from .wire import Reply, text_reply

__all__ = [
    "FAULT_KINDS",
    "Fault",
    "FaultKind",
    "FaultQueue",
    "RandomFaults",
    "generic_fault_reply",
    "make_fault",
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

    def clear(self) -> None:
        """Drop every queued fault."""
        self._queues.clear()


_PARAMETERS: Mapping[str, frozenset[str]] = {
    "rate_limited": frozenset({"retry_after"}),
    "code": frozenset({"code", "msg", "http_status", "shape"}),
    "delay": frozenset({"seconds"}),
}


def make_fault(
    fault: str,
    *,
    retry_after: float | None = None,
    code: str | int | None = None,
    msg: str | None = None,
    http_status: int = 200,
    shape: Literal["msg", "message"] | None = None,
    seconds: float | None = None,
) -> Fault:
    """A validated :class:`Fault`: each kind takes only its own parameters (see
    :meth:`Simulator.inject`); ``ValueError`` for an unknown kind, ``TypeError`` for a
    parameter the kind does not take or a missing one."""
    if fault not in FAULT_KINDS:
        raise ValueError(f"unknown fault {fault!r}; expected one of {sorted(FAULT_KINDS)}")
    given = {
        "retry_after": retry_after is not None,
        "code": code is not None,
        "msg": msg is not None,
        "http_status": http_status != 200,
        "shape": shape is not None,
        "seconds": seconds is not None,
    }
    allowed = _PARAMETERS.get(fault, frozenset())
    unexpected = {name for name, present in given.items() if present} - allowed
    if unexpected:
        raise TypeError(f"fault {fault!r} takes no {', '.join(sorted(unexpected))}")
    if fault == "code" and code is None:
        raise TypeError("fault 'code' needs code=")
    if fault == "delay" and (seconds is None or seconds < 0):
        raise TypeError("fault 'delay' needs seconds= (not negative)")
    kind: FaultKind = fault  # type: ignore[assignment]  # checked against FAULT_KINDS above
    return Fault(
        kind=kind,
        retry_after=retry_after,
        code=None if code is None else str(code),
        msg=msg,
        http_status=http_status,
        shape=shape,
        seconds=seconds or 0.0,
    )


class RandomFaults:
    """Random faults: each request gets one with probability ``rate``, of a kind drawn evenly
    from ``kinds``, from ``random.Random(seed)`` (so runs repeat). ``latency`` becomes a
    ``delay`` of ``latency`` seconds. :attr:`served` counts what was drawn, by kind."""

    __slots__ = ("_rng", "served")

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self.served: dict[str, int] = {}

    def draw(self, rate: float, kinds: tuple[str, ...], latency: float) -> Fault | None:
        """The fault for the current request, or ``None``."""
        if self._rng.random() >= rate or not kinds:
            return None
        kind = self._rng.choice(kinds)
        self.served[kind] = self.served.get(kind, 0) + 1
        if kind == "latency":
            return Fault(kind="delay", seconds=latency)
        return _RANDOM[kind]


_RANDOM: Mapping[str, Fault] = {
    kind: Fault(kind=kind)
    for kind in (
        "http_500",
        "http_502",
        "http_503",
        "html",
        "disconnect",
        "malformed",
        "rate_limited",
    )
}

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
