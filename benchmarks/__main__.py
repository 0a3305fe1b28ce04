"""``python -m benchmarks [--quick] [--only NAME ...] [--out PATH]``.

Runs the benchmarks, prints a summary, writes one JSON file (a full run writes
``benchmarks/results/latest.json``, the file ``python -m benchmarks.report`` turns into
``docs/benchmarks.md``). Exit status 1 only on a correctness problem (a limit exceeded,
decoded values that differ, SDK calls that fail), never on speed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._common import Outcome, machine_info, versions

RESULTS = Path(__file__).resolve().parent / "results"
NAMES = ("request_cpu", "decode", "ratelimit_accuracy", "fairness", "scale", "startup", "fleet")
"""The benchmarks, in the order a full run takes them (each is ``benchmarks.<name>``)."""


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by ``None`` (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def run_one(name: str, quick: bool) -> Outcome:
    """Import ``benchmarks.<name>`` and run it."""
    module: Any = importlib.import_module(f"benchmarks.{name}")
    outcome: Outcome = module.run(quick)
    return outcome


def table_text(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    widths = [max([len(c), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(columns), "  ".join("-" * w for w in widths), *map(line, rows)])


def print_outcome(outcome: Outcome, seconds: float | None = None) -> None:
    """One benchmark's section of the summary, on stdout."""
    took = f" ({seconds:.1f} s)" if seconds is not None else ""
    parts = [f"== {outcome.name}: {outcome.title}{took}"]
    for table in outcome.tables:
        parts += ["", f"-- {table.title}", table_text(table.columns, table.rows)]
    parts += [f"  skipped {name}: {why}" for name, why in outcome.skipped.items()]
    parts += [f"  note: {note}" for note in outcome.notes]
    parts += [f"  !! PROBLEM: {problem}" for problem in outcome.problems]
    print("\n".join(parts) + "\n", flush=True)


def standalone(name: str, argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.<name> [--quick]``: one benchmark, summary only."""
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{name}")
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    args = parser.parse_args(argv)
    outcome = run_one(name, args.quick)
    print_outcome(outcome)
    return 1 if outcome.problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks and write the JSON results."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run under 60 s")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=NAMES,
        metavar="NAME",
        help=f"run only these: {', '.join(NAMES)}",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="JSON file to write (default: "
        "results/latest.json for a full run of everything, else "
        "results/last-run.json)",
    )
    args = parser.parse_args(argv)
    names = [n for n in NAMES if n in args.only] if args.only else list(NAMES)
    full = not args.quick and not args.only
    out: Path = args.out or RESULTS / ("latest.json" if full else "last-run.json")
    machine = machine_info()
    print(
        f"benchmarks {'(quick) ' if args.quick else ''}on {machine['cpu']}, "
        f"{machine['cpu_count']} CPUs, load {machine['loadavg_at_start']}, "
        f"Python {machine['python']}\n",
        flush=True,
    )
    record: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "machine": machine,
        "versions": versions(),
        "benchmarks": {},
    }
    problems = 0
    started = time.perf_counter()
    for name in names:
        began = time.perf_counter()
        outcome = run_one(name, args.quick)
        seconds = time.perf_counter() - began
        print_outcome(outcome, seconds)
        problems += len(outcome.problems)
        record["benchmarks"][name] = {"seconds": round(seconds, 1), **outcome.as_dict()}
    record["seconds"] = round(time.perf_counter() - started, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(finite(record), indent=1, allow_nan=False, default=str) + "\n")
    print(f"done in {record['seconds']:.1f} s; results in {out}")
    if problems:
        print(f"{problems} correctness problem(s): see !! PROBLEM above", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
