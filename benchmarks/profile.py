"""``python -m benchmarks.profile``: where the SDK's CPU goes per request (pyinstrument).

Profiles the SDK's request path as ``request_cpu`` drives it (server in its own process, one
`ea.BitgetClient` per account), paced (15 accounts) and saturated (400 accounts), and writes
``benchmarks/results/profile.txt``: the top functions by own time and by cumulative time, as a
percentage of the client process's sampled time, then the call tree's top. For the team working
on the hot path; not part of ``python -m benchmarks``.

Then the *interpreter work* per request of the SDK and of raw aiohttp + ``json.loads``, side by
side: Python bytecodes executed (``sys.settrace`` with opcode events), by layer. Unlike CPU
time, the count does not move with the machine's load, so it shows what the SDK does per
request that the raw loop does not. Work done in C (msgspec, json's scanner, hmac, the socket
calls) is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter, defaultdict
from pathlib import Path
from types import FrameType
from typing import Any

from ._common import run_async
from ._contenders import CONTENDERS, Contender
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


LAYERS = (
    ("exchange_async/bitget/models.py", "SDK models (finiteness check per row)"),
    ("exchange_async/coinw/models.py", "SDK models (finiteness check per row)"),
    ("exchange_async/_core/limits/", "SDK rate limiter"),
    ("exchange_async/_core/transport/", "SDK transport"),
    ("exchange_async/", "SDK pipeline, signing, decode glue"),
    ("benchmarks/", "benchmark's caller (raw: signing, pacing)"),
    ("aiohttp/", "aiohttp, yarl, multidict"),
    ("yarl/", "aiohttp, yarl, multidict"),
    ("multidict/", "aiohttp, yarl, multidict"),
    ("asyncio/", "asyncio event loop"),
    ("selectors.py", "asyncio event loop"),
    ("json/", "json.loads (Python part)"),
)


def layer_of(path: str) -> str:
    """The layer a code object's file belongs to (``other`` when none matches)."""
    path = path.replace("\\", "/")
    return next((name for part, name in LAYERS if part in path), "other (hmac, enum, ...)")


async def count_opcodes(contender: Contender, base_url: str, requests: int) -> Counter[str]:
    """Bytecodes executed per layer over ``requests`` calls of one account at the real pace."""
    caller = await contender.open(base_url, 0, None)
    loop = asyncio.get_running_loop()
    counts: Counter[str] = Counter()
    layers: dict[str, str] = {}

    def trace(frame: FrameType, event: str, arg: object) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            path = frame.f_code.co_filename
            layer = layers.get(path)
            if layer is None:
                layer = layers[path] = layer_of(path)
            counts[layer] += 1
        return trace

    try:
        for _ in range(3):  # connection, clock sync, lazy set-up
            await caller.call()
        next_at = loop.time()
        sys.settrace(trace)
        try:
            for _ in range(requests):
                if not contender.self_paced:
                    next_at = max(next_at, loop.time()) + 0.2
                    await asyncio.sleep(next_at - loop.time())
                await caller.call()
        finally:
            sys.settrace(None)
    finally:
        await caller.close()
    return counts


def interpreter_work(port: int, requests: int = 25) -> str:
    """The opcode table: the SDK on each transport and raw aiohttp, per request, by layer."""
    shown = [
        c for c in CONTENDERS if c.name.startswith("exchange_async") or c.name == "aiohttp+json"
    ]
    url = f"http://127.0.0.1:{port}"
    per = {c.name: run_async(count_opcodes(c, url, requests)) for c in shown}
    first = shown[0].name
    names = sorted({k for counts in per.values() for k in counts}, key=lambda k: -per[first][k])
    lines = [
        f"== interpreter work: Python bytecodes per request ({requests} requests of one "
        "account at the real pace; C work not counted)",
        "",
        f"{'layer':48s}" + "".join(f" {c.name:>24s}" for c in shown),
    ]
    for name in [*names, "total"]:
        counts = [
            (sum(per[c.name].values()) if name == "total" else per[c.name][name]) / requests
            for c in shown
        ]
        lines.append(f"{name:48s}" + "".join(f" {n:24,.0f}" for n in counts))
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Profile both loads and write the summary."""
    from pyinstrument import Profiler

    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--work-only", action="store_true", help="only the bytecode table")
    args = parser.parse_args(argv)
    sdk = CONTENDERS[0]
    parts = [__doc__ or "", ""]
    with server_process("benchmarks._pageserver", [str(400 // PER_HOST)]) as server:
        work = interpreter_work(server.port)
        if args.work_only:
            print(work)
            return 0
        parts.append(work)
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
