"""How long the request path is: SDK files and functions one call enters, over a real socket.

``python -m benchmarks.trace_path [--list]`` starts the bundled simulator on a loopback port,
then makes one cold ``get_current_tracking_orders`` call (a fresh event loop and client: the
server clock is measured first) and one warm call (the same client again) with a profiler
hook installed (``sys.setprofile``). It counts, for each call:

- files: distinct ``exchange_async`` source files in which a function was entered;
- functions: distinct named functions entered there (``<lambda>``, comprehensions and
  module bodies left out);
- depth: the most ``exchange_async`` frames on the stack at once.

Only the SDK's own files count (the simulator, aiohttp and the standard library do not).
Whether the rate limiter has to wait for a slot (it takes a few more functions when it does)
depends on timing, so the whole measurement runs ``--runs`` times (5), each on a fresh event
loop, simulator and client, and the largest counts are reported, with the smallest beside
them. ``--list`` prints the functions of the largest run; ``--transport aiohttp`` measures the
client on another of its transports.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import exchange_async as ea
from exchange_async_sim import Simulator, SimulatorConfig, SimulatorServer

SDK_DIR = str(Path(ea.__file__).resolve().parent)
KEY, SECRET, PASSPHRASE = "trace-key-0001", "trace-secret-0001", "trace-pass-0001"


@dataclass
class Trace:
    """What one call entered."""

    functions: set[tuple[str, str]] = field(default_factory=set)
    depth: int = 0

    @property
    def files(self) -> set[str]:
        """The SDK files entered."""
        return {file for file, _ in self.functions}

    def hook(self, frame: FrameType, event: str, arg: Any) -> None:
        """A ``sys.setprofile`` hook recording each SDK function entered."""
        if event != "call":
            return
        code = frame.f_code
        if not code.co_filename.startswith(SDK_DIR):
            return
        name = code.co_qualname
        if not code.co_name.startswith("<"):
            relative = code.co_filename[len(SDK_DIR) - len("exchange_async") :]
            self.functions.add((relative, name))
        depth = 0
        walk: FrameType | None = frame
        while walk is not None:
            if walk.f_code.co_filename.startswith(SDK_DIR):
                depth += 1
            walk = walk.f_back
        self.depth = max(self.depth, depth)


@contextmanager
def traced(trace: Trace) -> Iterator[None]:
    """Install ``trace`` as the profiler hook of this thread while inside."""
    sys.setprofile(trace.hook)
    try:
        yield
    finally:
        sys.setprofile(None)


async def measure(transport: str | None = None) -> tuple[Trace, Trace]:
    """(cold call, warm call) over a loopback socket to the simulator (``transport``: the
    client's ``transport=`` by name, None for its default)."""
    sim = Simulator(SimulatorConfig(seed=7))
    sim.add_bitget_account(api_key=KEY, secret_key=SECRET, passphrase=PASSPHRASE, orders=30)
    credentials = ea.BitgetCredentials(KEY, SECRET, PASSPHRASE)
    cold, warm = Trace(), Trace()
    options: dict[str, Any] = {} if transport is None else {"transport": transport}
    async with (
        SimulatorServer(sim) as server,
        ea.BitgetClient(credentials, base_url=server.base_url, **options) as client,
    ):
        with traced(cold):
            first = await client.get_current_tracking_orders("USDT-FUTURES")
        with traced(warm):
            second = await client.get_current_tracking_orders("USDT-FUTURES")
    if not (first.tracking_list and second.tracking_list):
        raise SystemExit("the simulator sent no orders")
    return cold, warm


def report(name: str, traces: list[Trace], listing: bool) -> None:
    """One line of counts, the largest of ``traces`` (and its functions, with ``listing``)."""
    most = max(traces, key=lambda t: (len(t.functions), len(t.files), t.depth))
    fewest = min(len(t.functions) for t in traces)
    print(
        f"{name}: {len(most.files)} SDK files, {len(most.functions)} named functions, "
        f"depth {most.depth} (fewest functions in {len(traces)} runs: {fewest})"
    )
    if listing:
        for file, function in sorted(most.functions):
            print(f"    {file}: {function}")


def main(argv: list[str] | None = None) -> None:
    """Run the trace and print the counts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="print every function entered")
    parser.add_argument("--runs", type=int, default=5, help="measurements (default 5)")
    parser.add_argument("--transport", help="a transport by name (default: the client's own)")
    args = parser.parse_args(argv)
    runs = [asyncio.run(measure(args.transport)) for _ in range(max(1, args.runs))]
    report("cold", [cold for cold, _ in runs], args.list)
    report("warm", [warm for _, warm in runs], args.list)


if __name__ == "__main__":
    main()
