"""``python -m benchmarks [--quick] [--only NAME]``: run, print a summary, write JSON results."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from . import bench_decode, bench_overhead, bench_ratelimit
from ._common import Outcome, machine_info

RESULTS = Path(__file__).resolve().parent / "results"

BENCHMARKS: dict[str, Callable[[bool], Outcome]] = {
    bench_ratelimit.NAME: bench_ratelimit.run,
    bench_decode.NAME: bench_decode.run,
    bench_overhead.NAME: bench_overhead.run,
}


def table(columns: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1) -> str:
    """A plain-text table: the first ``text_columns`` left-aligned, the others right-aligned."""
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(w) if i < text_columns else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(columns), rule, *(line(r) for r in rows)])


def report(outcome: Outcome, seconds: float) -> str:
    """One benchmark's section of the summary."""
    parts = [f"== {outcome.name}: {outcome.title} ({seconds:.1f} s)", ""]
    parts.append(table(outcome.columns, outcome.rows, outcome.text_columns))
    parts += [f"  note: {note}" for note in outcome.notes]
    parts += [f"  !  warning: {warning}" for warning in outcome.warnings]
    parts += [f"  !! PROBLEM: {problem}" for problem in outcome.problems]
    return "\n".join(parts) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks; exit status 1 if any reported a problem with the SDK."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a ~20 s smoke run")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), help="run one benchmark")
    args = parser.parse_args(argv)
    names = [args.only] if args.only else list(BENCHMARKS)
    RESULTS.mkdir(exist_ok=True)
    machine = machine_info()
    print(
        f"benchmarks {'(quick) ' if args.quick else ''}on {machine['platform']}, "
        f"{machine['cpu_count']} CPUs, Python {machine['python']}\n",
        flush=True,
    )
    problems = 0
    started = time.perf_counter()
    for name in names:
        began = time.perf_counter()
        outcome = BENCHMARKS[name](args.quick)
        seconds = time.perf_counter() - began
        print(report(outcome, seconds), flush=True)
        problems += len(outcome.problems)
        record = {
            "benchmark": name,
            "title": outcome.title,
            "quick": args.quick,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(seconds, 2),
            "machine": machine,
            "table": {"columns": outcome.columns, "rows": outcome.rows},
            "notes": outcome.notes,
            "warnings": outcome.warnings,
            "problems": outcome.problems,
            "data": outcome.data,
        }
        path = RESULTS / f"{name}.json"
        path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(f"done in {time.perf_counter() - started:.1f} s; JSON results in {RESULTS}/")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
