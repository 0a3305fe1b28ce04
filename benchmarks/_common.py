"""Helpers shared by the benchmarks: statistics, result records, machine and versions."""

from __future__ import annotations

import asyncio
import importlib.metadata
import os
import platform
import statistics
import sys
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "PEERS",
    "Outcome",
    "Table",
    "fmt",
    "machine_info",
    "max_in_window",
    "median",
    "percentile",
    "rotated",
    "spread",
    "versions",
    "windows_over",
]

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
"""The repository root (the benchmarks run from a checkout)."""

PEERS = (
    "exchange-async",
    "aiohttp",
    "msgspec",
    "aiolimiter",
    "ccxt",
    "pybotters",
    "pydantic",
    "orjson",
    "uvloop",
    "matplotlib",
    "pyinstrument",
)
"""Distributions whose versions each result file records."""


@dataclass(slots=True)
class Table:
    """One table of a benchmark's results (cells already formatted)."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"title": self.title, "columns": self.columns, "rows": self.rows}


@dataclass(slots=True)
class Outcome:
    """What one benchmark hands back: tables, notes, raw data, skips and problems."""

    name: str
    title: str
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    """Contender -> why it could not run (not installed, cannot be pointed at a local server)."""
    problems: list[str] = field(default_factory=list)
    """Correctness problems (a limit exceeded, decoded values differ): the run exits 1."""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "title": self.title,
            "tables": [t.as_dict() for t in self.tables],
            "notes": self.notes,
            "skipped": self.skipped,
            "problems": self.problems,
            "data": self.data,
        }


def median(values: Iterable[float]) -> float:
    """The median of ``values``, NaNs left out (NaN when none is left)."""
    items = [v for v in values if v == v]
    return float(statistics.median(items)) if items else float("nan")


def spread(values: Iterable[float]) -> tuple[float, float]:
    """``(min, max)`` of ``values`` (NaNs when empty)."""
    items = list(values)
    return (min(items), max(items)) if items else (float("nan"), float("nan"))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by nearest rank (NaN when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return float(ordered[rank])


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


def windows_over(times: Iterable[float], limit: int, window: float = 1.0) -> int:
    """How many arrivals ``t`` start a window ``[t, t + window)`` holding more than ``limit``."""
    ordered = sorted(times)
    return sum(1 for i, t in enumerate(ordered) if bisect_left(ordered, t + window) - i > limit)


def fmt(value: float, digits: int = 1) -> str:
    """A number for a table cell (``-`` for NaN)."""
    if value != value:  # NaN
        return "-"
    return f"{value:,.{digits}f}"


def versions() -> dict[str, str]:
    """Installed versions of the SDK and its peers (``"not installed"`` when absent)."""
    found: dict[str, str] = {"python": sys.version.split()[0]}
    for name in PEERS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def machine_info() -> dict[str, Any]:
    """Where the numbers come from (they are only comparable within one run)."""
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        load = []
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:  # pragma: no cover - not Linux
        pass
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "loadavg_at_start": load,
    }


def new_event_loop(use_uvloop: bool = False) -> asyncio.AbstractEventLoop:
    """A fresh event loop: uvloop's when asked (ImportError when uvloop is missing)."""
    if use_uvloop:
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run_async(coro: Any, use_uvloop: bool = False) -> Any:
    """Run ``coro`` to completion on a fresh loop (uvloop's when asked) and close it."""
    loop = new_event_loop(use_uvloop)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(coro)
    finally:
        left = asyncio.all_tasks(loop)  # e.g. ccxt's throttler loop outlives close()
        for task in left:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()
