"""Helpers shared by the benchmarks: statistics, window counting, result records."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = [
    "Outcome",
    "fmt",
    "machine_info",
    "max_in_window",
    "median",
    "rotated",
    "steady_rate",
    "violations",
]

T = TypeVar("T")


@dataclass(slots=True)
class Outcome:
    """What one benchmark hands back: summary table rows, notes, and data for its JSON file."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    text_columns: int = 1
    """How many leading columns hold text (left-aligned in the summary)."""
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    """What looks like an SDK bug (a limit exceeded, wrong values, failed calls)."""
    warnings: list[str] = field(default_factory=list)
    """What falls short of the SDK's documented promise without breaking anything."""


def median(values: Iterable[float]) -> float:
    """The median of ``values`` (which must not be empty)."""
    return float(statistics.median(list(values)))


def rotated(items: Sequence[T], by: int) -> list[T]:
    """``items`` rotated left by ``by``: interleaved rounds change who goes first."""
    if not items:
        return []
    k = by % len(items)
    return [*items[k:], *items[:k]]


def max_in_window(times: Iterable[float], window: float = 1.0) -> int:
    """The most ``times`` inside any half-open window ``[t, t + window)``."""
    ordered = sorted(times)
    return max(
        (bisect_left(ordered, t + window) - i for i, t in enumerate(ordered)),
        default=0,
    )


def violations(times: Iterable[float], limit: int, window: float = 1.0) -> int:
    """How many arrivals ``t`` start a window ``[t, t + window)`` holding more than ``limit``."""
    ordered = sorted(times)
    return sum(1 for i, t in enumerate(ordered) if bisect_left(ordered, t + window) - i > limit)


def steady_rate(times: Iterable[float], start: float, end: float) -> float:
    """Requests per second among ``times`` in ``[start, end)``, from first to last arrival.

    ``(n - 1) / (last - first)`` has no ±1 quantisation error, unlike ``n / (end - start)``,
    which at 5 requests/s over 5 s would be off by up to 4 %.
    """
    inside = sorted(t for t in times if start <= t < end)
    if len(inside) < 2 or inside[-1] <= inside[0]:
        return 0.0
    return (len(inside) - 1) / (inside[-1] - inside[0])


def fmt(value: float, digits: int = 2) -> str:
    """A number for the summary table."""
    return f"{value:.{digits}f}"


def machine_info() -> dict[str, Any]:
    """Where the numbers come from (they are only comparable within one run)."""
    try:
        load = list(os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        load = []
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "loadavg_at_start": load,
    }
