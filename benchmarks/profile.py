"""``python -m benchmarks.profile``: where the SDK's CPU goes per request (pyinstrument).

Profiles the SDK's request path as ``request_cpu`` drives it (server in its own process, one
`ea.BitgetClient` per account), paced (15 accounts) and saturated (400 accounts), and writes
``benchmarks/results/profile.txt``: the top functions by own time and by cumulative time, as a
percentage of the client process's sampled time, then the call tree's top. For the team working
on the hot path; not part of ``python -m benchmarks``.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from ._common import run_async
from ._contenders import CONTENDERS
from ._proc import server_process
from .request_cpu import PER_HOST, drive

OUT = Path(__file__).resolve().parent / "results" / "profile.txt"
TOP = 25


IDLE = ("epoll.poll", "select", "poll")
"""Frames where the loop waits for I/O: left out, so percentages are of busy time."""


def walk(
    frame: Any,
    parent: str,
    ancestors: frozenset[str],
    own: dict[str, float],
    total: dict[str, float],
) -> None:
    """Add ``frame``'s own time and, once per stack, its cumulative busy time."""
    if frame.function.startswith("[") or frame.function in IDLE:
        return
    key = f"{frame.function}  ({frame.file_path_short}:{frame.line_no})"
    own[key] += frame.total_self_time
    if key not in ancestors:
        total[key] += frame.time - idle_time(frame)
    for child in frame.children:
        walk(child, key, ancestors | {key}, own, total)


def idle_time(frame: Any) -> float:
    """Seconds spent waiting in the selector under ``frame``."""
    if frame.function in IDLE:
        return float(frame.time)
    return sum(idle_time(child) for child in frame.children)


def summarize(profiler: Any, title: str, requests: float) -> str:
    """Own and cumulative percentages of the busy (non-idle) sampled time, top ``TOP`` each."""
    root = profiler.last_session.root_frame()
    own: dict[str, float] = defaultdict(float)
    total: dict[str, float] = defaultdict(float)
    walk(root, "?", frozenset(), own, total)
    idle = idle_time(root)
    busy = max(root.time - idle, 1e-9)
    lines = [
        f"== {title}: {requests:,.0f} requests in the measured window; {root.time:.2f} s "
        f"sampled, {busy:.2f} s busy ({busy / max(requests, 1) * 1e6:.0f} µs busy per request, "
        "profiler overhead included)",
        "",
        "-- own time, % of busy time (top functions)",
    ]
    for key, seconds in sorted(own.items(), key=lambda kv: -kv[1])[:TOP]:
        lines.append(f"{seconds / busy:6.1%}  {key}")
    lines += ["", "-- cumulative time, % of busy time"]
    for key, seconds in sorted(total.items(), key=lambda kv: -kv[1])[:TOP]:
        lines.append(f"{seconds / busy:6.1%}  {key}")
    tree = profiler.output_text(unicode=False, color=False, show_all=False, timeline=False)
    lines += ["", "-- call tree (pyinstrument, wall time, trimmed)", *tree.splitlines()[:60], ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Profile both loads and write the summary."""
    from pyinstrument import Profiler

    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    sdk = CONTENDERS[0]
    parts = [__doc__ or "", ""]
    with server_process("benchmarks._pageserver", [str(400 // PER_HOST)]) as server:
        for title, accounts in (("paced, 15 accounts", 15), ("saturated, 400 accounts", 400)):
            profiler = Profiler(interval=0.0005)
            profiler.start()
            result = run_async(drive(sdk, server.port, accounts, args.seconds, 1.0))
            profiler.stop()
            parts.append(summarize(profiler, title, result["requests"]))
            parts.append(
                f"(CPU per request while profiled: {result['cpu_us_per_request']:.0f} "
                "µs, inflated by the profiler)\n"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(parts), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
