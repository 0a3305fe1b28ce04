"""``python -m benchmarks.report [RESULTS_JSON]``: regenerate docs/benchmarks.md and its plots.

Reads ``benchmarks/results/latest.json`` (or the file given), writes ``docs/benchmarks.md`` (one
table per benchmark, the machine and versions) and ``docs/img/bench-*.png`` (matplotlib, Agg).
Run it after a full ``python -m benchmarks`` on a quiet machine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ._common import ROOT

LATEST = Path(__file__).resolve().parent / "results" / "latest.json"
DOC = ROOT / "docs" / "benchmarks.md"
IMG = ROOT / "docs" / "img"
SCALE_PNG = "bench-scale.png"
TIMELINE_PNG = "bench-limiter-timeline.png"

INTRO = """# Benchmarks

How this SDK compares with what users would pick instead: raw `aiohttp`, [ccxt], [pybotters],
pydantic v2, orjson and msgspec. Every number below comes from one run of `python -m benchmarks`
on the machine described at the end; ratios are taken pair by pair within that run, so compare
ratios, not absolute numbers across machines. The harness measures whatever SDK is installed
through its public API only (the decode benchmark's one exception is isolated in
`benchmarks/_sdk.py`).

[ccxt]: https://github.com/ccxt/ccxt
[pybotters]: https://github.com/pybotters/pybotters
"""

REPRODUCE = """## How to reproduce

```sh
make bench                  # installs .[dev,bench] into .venv, full run (~10 min),
                            # writes benchmarks/results/latest.json
.venv/bin/python -m benchmarks.report   # regenerates this page and docs/img/bench-*.png
make bench ARGS=--quick     # the CI smoke run (< 60 s); exit 1 only on a correctness problem
.venv/bin/python -m benchmarks --only decode scale   # some of them (results/last-run.json)
.venv/bin/python -m benchmarks.request_cpu           # one, summary only
```

Use a quiet machine: other processes change CPU-per-request figures by tens of percent (the
ratios within one run hold up better). `benchmarks/results/profile.txt` (from
`python -m benchmarks.profile`) shows where the SDK's CPU goes per request.

## Turning uvloop on

The SDK runs on any asyncio loop and never imports uvloop. To use it (the `uvloop` rows above):

```sh
pip install -e ".[speed]"               # from a clone: uvloop, on Linux and macOS
```

<!-- fragment -->
```python
import uvloop

uvloop.run(main())                      # instead of asyncio.run(main())
```

Note that uvloop's clock counts whole milliseconds: the limiter's schedule is then exact to
1 ms (the 5 % margin is 50 ms on a 1 s window).
"""


ABOUT = {
    "request_cpu": (
        "Client CPU (`time.process_time()` of the client process) per request, with the server "
        "in its own process answering a canned 50-row Bitget page (it checks no signature). "
        "Each account has its own client. *Paced*: 15 accounts at the endpoint's real 5 req/s "
        "(the SDK paces itself, 5 % under; peers are paced by a sleep; every contender's "
        "accounts start spread over one 200 ms interval, and all 15 share one loopback "
        "address, so the SDK keeps Bitget's per-IP budget too). *Saturated*: hundreds of "
        "accounts, 20 per loopback address so the SDK's per-IP budget does not bind, offering "
        "more than one process sends. Peers: raw aiohttp + `json.loads` (signed by hand), ccxt "
        "(`privateCopyGetV2CopyMixTraderOrderCurrentTrack`, `enableRateLimit=False`, "
        "`urls['api']` at the local server), pybotters (`Client(apis={'bitget': ...})`)."
    ),
    "decode": (
        "One reply body to typed values, in-process (`timeit`, GC off). Every contender's "
        "values are first compared with the wire's exact values. The msgspec floors do no "
        "Python post-processing: they are what msgspec alone costs."
    ),
    "ratelimit_accuracy": (
        "One account per limiter, all at once, pushing with 4 concurrent callers as fast as "
        "the limiter allows; arrivals counted by the server. The naive `AsyncLimiter(5, 1)` "
        "starts with a full bucket; ccxt budgets this endpoint at twice the documented rate."
    ),
    "fairness": (
        "Accounts that start together on one IP with several calls in flight each, against "
        "the simulator over HTTP (in the client's process): the per-IP budget is shared, and "
        "accounts must take turns at it (issue 16). Then client CPU per paced request with 15 "
        "accounts started together on one loopback address, the SDK against raw aiohttp + "
        "`json.loads`, server in its own process."
    ),
    "scale": (
        "One client process with one `CoinWClient` per account calling `get_order_info` as "
        "fast as the SDK allows, the simulator in another process counting violations. "
        "Both processes share the machine's cores, so the ceiling is the machine's, not only "
        "the SDK's."
    ),
    "startup": (
        "Fresh interpreters: time to import, RSS after import, and the Python heap one idle "
        "client holds (10 clients, `tracemalloc`)."
    ),
}


def md_table(table: dict[str, Any]) -> str:
    """A Markdown table: first column left-aligned, the others right-aligned."""
    columns = table["columns"]
    lines = [
        f"**{table['title']}**",
        "",
        "| " + " | ".join(columns) + " |",
        "|" + "|".join([":--", *["--:"] * (len(columns) - 1)]) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table["rows"]]
    return "\n".join(lines)


def section(name: str, bench: dict[str, Any]) -> str:
    """One benchmark's section."""
    parts = [f"## {name}: {bench['title']}", ""]
    if name in ABOUT:
        parts += [ABOUT[name], ""]
    for table in bench["tables"]:
        parts += [md_table(table), ""]
    if name == "scale":
        parts += [f"![scale curve](img/{SCALE_PNG})", ""]
    if name == "ratelimit_accuracy":
        parts += [f"![limiter timeline](img/{TIMELINE_PNG})", ""]
    parts += [f"- skipped **{who}**: {why}" for who, why in bench.get("skipped", {}).items()]
    parts += [f"- {note}" for note in bench.get("notes", [])]
    parts += [f"- **problem**: {p}" for p in bench.get("problems", [])]
    return "\n".join(parts).rstrip() + "\n"


def plot_scale(bench: dict[str, Any], path: Path) -> None:
    """Achieved vs allowed req/s against accounts, per loop."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = [p for p in bench["data"]["points"] if "failed" not in p]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    sizes = sorted({p["accounts"] for p in points})
    ax.plot(sizes, [n * 10 for n in sizes], "k--", label="allowed (10 req/s per account)")
    for loop, transport in (("asyncio", "lean"), ("asyncio", "aiohttp"), ("uvloop", "lean")):
        mine = sorted(
            (p["accounts"], p["req_per_s"])
            for p in points
            if p["loop"] == loop and p.get("transport", "lean") == transport
        )
        if mine:
            ax.plot(*zip(*mine, strict=True), "o-", label=f"achieved, {loop}, {transport}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("CoinW accounts in one process")
    ax.set_ylabel("requests per second")
    ax.set_title("One client process polling CoinW accounts (simulator in another)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_timeline(bench: dict[str, Any], path: Path) -> None:
    """Requests in the trailing 1 s window, sampled every 20 ms, per limiter."""
    from bisect import bisect_left

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = bench["data"]
    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    end = min(float(data["seconds"]), 10.0)
    grid = [i * 0.02 for i in range(int(end / 0.02) + 1)]
    styles = ["-", "--", "-.", ":"]
    for i, (name, times) in enumerate(data["timeline"].items()):
        counts = [bisect_left(times, t) - bisect_left(times, t - 1.0) for t in grid]
        ax.step(
            grid, counts, where="post", label=name, linewidth=1.6, linestyle=styles[i % len(styles)]
        )
    ax.axhline(data["limit"], color="red", linestyle="--", label=f"limit ({data['limit']}/s)")
    ax.set_xlabel("seconds since start")
    ax.set_ylabel("requests in the last 1 s (at the server)")
    ax.set_title("Limiter timeline: Bitget tracking orders, one account each")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _get(tree: Any, *path: str) -> Any:
    """``tree[path[0]][path[1]]...`` or ``None``."""
    for key in path:
        if not isinstance(tree, dict) or key not in tree:
            return None
        tree = tree[key]
    return tree


def headline(benches: dict[str, Any]) -> list[list[str]]:
    """Issue 9's targets against this run: ``[target, measured, met]`` rows."""
    rows: list[list[str]] = []

    def add(target: str, value: float | None, met: bool | None, unit: str = "x") -> None:
        shown = "-" if value is None else f"{value:.2f}{unit}"
        rows.append([target, shown, "-" if met is None else ("yes" if met else "no")])

    paced = _get(benches, "request_cpu", "data", "summary", "paced") or {}
    for peer, bound in (("aiohttp+json", None), ("ccxt", 1 / 1.3), ("pybotters", 1 / 1.3)):
        ratio = _get(paced, peer, "sdk_over_client_median")
        limit = 1.0 if bound is None else bound
        add(
            f"paced CPU/request, SDK / {peer} <= {limit:.2f}",
            ratio,
            None if ratio is None else ratio <= limit,
        )
    bitget: Any = next(iter((_get(benches, "decode", "data", "replies") or {}).values()), {})
    decoders = bitget.get("decoders", {}) if isinstance(bitget, dict) else {}
    for peer, limit in (("pydantic v2", 1 / 2.3), ("json.loads", 1 / 1.2)):
        ratio = _get(decoders, peer, "sdk_over_decoder_median")
        add(
            f"Bitget decode, SDK / {peer} <= {limit:.2f}",
            ratio,
            None if ratio is None else ratio <= limit,
        )
    floor = _get(decoders, "msgspec Decimal floor", "sdk_over_decoder_median")
    add(
        "Bitget decode, SDK / msgspec Decimal floor <= 1.10",
        floor,
        None if floor is None else floor <= 1.1,
    )
    points = _get(benches, "scale", "data", "points") or []
    at300 = [
        p
        for p in points
        if p.get("accounts") == 300
        and p.get("loop") == "asyncio"
        and p.get("transport", "lean") == "lean"
    ]
    if at300 and "failed" not in at300[0]:
        p = at300[0]
        share = p["req_per_s"] / (p["allowed_req_per_s"] * 0.95)
        add(
            "300 CoinW accounts: >= 95 % of the SDK's allowance (9.5/s each)",
            share * 100,
            share >= 0.95,
            " %",
        )
        add(
            "300 CoinW accounts: p99 loop lag < 50 ms", p["lag_p99_ms"], p["lag_p99_ms"] < 50, " ms"
        )
        add(
            "300 CoinW accounts: violations = 0",
            float(p["limit_violations"]),
            p["limit_violations"] == 0,
            "",
        )
    ceiling = _get(benches, "scale", "data", "ceiling")
    if ceiling:
        rows.append(
            [
                "single-process ceiling (req/s)",
                f"{ceiling['req_per_s']:,.0f}",
                f"bound by {ceiling['bound_by']}",
            ]
        )
    return rows


def render(record: dict[str, Any]) -> str:
    """The whole page."""
    benches = record["benchmarks"]
    parts = [INTRO]
    quick = " (a --quick run: smoke numbers only)" if record.get("quick") else ""
    parts.append(
        f"Generated {record['generated_at']}{quick} from "
        "`benchmarks/results/latest.json` by `python -m benchmarks.report`.\n"
    )
    targets = headline(benches)
    if targets:
        parts.append(
            md_table(
                {
                    "title": 'Issue 9\'s targets in this run ("full allowance" is '
                    "the SDK's 95 % of the documented limit)",
                    "columns": ["target", "measured", "met"],
                    "rows": targets,
                }
            )
        )
        parts.append("")
    parts += [section(name, bench) for name, bench in benches.items()]
    machine, versions = record["machine"], record["versions"]
    parts.append("## Machine and versions\n")
    parts.append(
        f"- {machine['cpu']}, {machine['cpu_count']} CPUs, {machine['platform']}, "
        f"load average at start {machine['loadavg_at_start']}"
    )
    parts.append("- " + ", ".join(f"{k} {v}" for k, v in versions.items()) + "\n")
    parts.append(REPRODUCE)
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Regenerate the page and the plots."""
    args = sys.argv[1:] if argv is None else argv
    source = Path(args[0]) if args else LATEST
    record = json.loads(source.read_text(encoding="utf-8"))
    benches = record["benchmarks"]
    IMG.mkdir(parents=True, exist_ok=True)
    try:
        if "scale" in benches:
            plot_scale(benches["scale"], IMG / SCALE_PNG)
        if "ratelimit_accuracy" in benches:
            plot_timeline(benches["ratelimit_accuracy"], IMG / TIMELINE_PNG)
    except ImportError as error:
        print(f"no plots: {error} (install the 'bench' extra)", file=sys.stderr)
    DOC.write_text(render(record), encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)} and plots in {IMG.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
