"""Import time and idle-client memory: this SDK against ccxt, each in a fresh interpreter.

Each sample is a new ``python`` process that times the import with ``perf_counter``, reads its
RSS before and after, then creates 100 idle clients (no request sent) inside a running loop and
reports the Python heap they hold (``tracemalloc``) per client. Medians over the samples.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from ._common import ROOT, Outcome, Table, fmt, median

NAME = "startup"
CLIENTS = 10

PROBE = """
import asyncio, json, os, time, tracemalloc
def rss():
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
rss0 = rss(); t0 = time.perf_counter()
IMPORT
seconds = time.perf_counter() - t0; rss1 = rss()
async def idle():
    tracemalloc.start(); before = tracemalloc.get_traced_memory()[0]
    clients = [MAKE for i in range(CLIENTS)]
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    for c in clients:
        await CLOSE
    return held
held = asyncio.run(idle())
print(json.dumps({"import_ms": seconds * 1e3, "import_rss_mib": (rss1 - rss0) / 2**20,
                  "idle_client_kib": held / CLIENTS / 1024}))
"""

CONTENDERS = {
    "exchange_async": (
        "import exchange_async as ea",
        "ea.BitgetClient(ea.BitgetCredentials(f'k{i}', 's', 'p'))",
        "c.close()",
    ),
    "ccxt": (
        "import ccxt.async_support as ccxt",
        "ccxt.bitget({'apiKey': f'k{i}', 'secret': 's', 'password': 'p'})",
        "c.close()",
    ),
}


def sample(imports: str, make: str, close: str) -> dict[str, float] | str:
    """One fresh interpreter's numbers (or its last error line)."""
    code = (
        PROBE.replace("IMPORT", imports)
        .replace("MAKE", make)
        .replace("CLOSE", close)
        .replace("CLIENTS", str(CLIENTS))
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return (done.stderr.strip().splitlines() or ["failed"])[-1]
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(quick: bool = False) -> Outcome:
    """Samples of each contender, interleaved."""
    samples = 1 if quick else 5
    outcome = Outcome(NAME, f"Import time and idle-client memory (median of {samples} processes)")
    results: dict[str, list[dict[str, float]]] = {name: [] for name in CONTENDERS}
    for _ in range(samples):
        for name, (imports, make, close) in CONTENDERS.items():
            if name in outcome.skipped:
                continue
            got = sample(imports, make, close)
            if isinstance(got, str):
                outcome.skipped[name] = got
                if name == "exchange_async":
                    outcome.problems.append(f"importing the SDK failed: {got}")
            else:
                results[name].append(got)
    table = Table(
        "Fresh interpreter",
        ["library", "import ms", "RSS after import MiB", "idle client KiB (Python heap)"],
    )
    summary: dict[str, Any] = {}
    for name, items in results.items():
        if not items:
            continue
        row = {key: median(i[key] for i in items) for key in items[0]}
        summary[name] = {**row, "samples": items}
        table.rows.append(
            [name, fmt(row["import_ms"]), fmt(row["import_rss_mib"]), fmt(row["idle_client_kib"])]
        )
    outcome.tables.append(table)
    outcome.data = {"summary": summary, "clients_per_sample": CLIENTS}
    outcome.notes.append(
        "import ms: perf_counter around the import statement in a fresh "
        "interpreter (what the import pulls in included: aiohttp for both)."
    )
    return outcome


if __name__ == "__main__":
    from .__main__ import standalone

    sys.exit(standalone(NAME))
