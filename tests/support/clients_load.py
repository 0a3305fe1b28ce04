"""Processes for the full-stack multi-process tests: the simulator, and workers with real clients.

``python tests/support/clients_load.py sim PORT_FILE ARRIVALS_FILE`` serves the simulator with
its demo accounts on a free port (written to ``PORT_FILE``); on SIGTERM it writes every arrival
it saw (``[monotonic time, exchange, path, account, HTTP status]``) and its own count of windows
over a limit to ``ARRIVALS_FILE`` as JSON, then exits.

``python tests/support/clients_load.py work REDIS_URL BASE_URL START_AT SECONDS SKEW OUT_FILE``
runs two `BitgetClient` and two `CoinWClient` of the demo accounts, all with
``rate_limits=REDIS_URL``, each calling one request after another from wall-clock ``START_AT``
for ``SECONDS``. With ``SKEW`` its ``time.time`` (patched before any client exists) and its event
loop's clock run that many seconds ahead. Writes a JSON summary: requests sent, errors (type
names, and whether each is an `ExchangeError`), and the limiter's warnings (fell back / back on
Redis).
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

import exchange_async as ea
from exchange_async_sim import DEMO_BITGET, DEMO_COINW, Simulator, SimulatorServer

WORKER_CLIENTS = 2
"""Clients of each account in each worker."""


async def serve(port_file: Path, arrivals_file: Path) -> None:
    sim = Simulator.with_demo_accounts()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with SimulatorServer(sim) as server:
        port_file.write_text(str(server.port))  # noqa: ASYNC240 - once, before serving
        await stop.wait()
    arrivals = [[a.time, a.exchange, a.path, a.account, a.status] for a in sim.arrivals]
    report = {
        "arrivals": arrivals,
        "limit_violations": {x: sim.limit_violations(x) for x in ("bitget", "coinw")},
    }
    arrivals_file.write_text(json.dumps(report))  # noqa: ASYNC240 - once, at the end


class Warnings(logging.Handler):
    """Keeps the limiter's warnings (one per outage, one per recovery), each with the wall-clock
    time it was logged."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append((record.created, record.getMessage()))


def _mark(ready: Path) -> None:
    ready.write_text("1")


async def work(
    redis_url: str, base_url: str, start_at: float, seconds: float, ready: Path
) -> dict[str, Any]:
    """Call as fast as the limits allow for ``seconds`` from ``start_at`` (epoch seconds);
    ``ready`` is written once a call of each exchange went through Redis."""
    warnings = Warnings()
    logging.getLogger("exchange_async.limiter").addHandler(warnings)
    sent = {"bitget": 0, "coinw": 0}
    errors: list[tuple[str, bool, str, float, float]] = []  # type, SDK's own, message, from, to
    marked: list[None] = []  # once ``ready`` is written
    slowest: list[tuple[float, float, str]] = []  # (seconds, started, exchange): the 3 longest
    bitget_credentials = ea.BitgetCredentials(
        DEMO_BITGET.api_key, DEMO_BITGET.secret_key, DEMO_BITGET.passphrase
    )
    coinw_credentials = ea.CoinWCredentials(DEMO_COINW.api_key, DEMO_COINW.secret_key)
    options: dict[str, Any] = {"base_url": base_url, "rate_limits": redis_url}
    # Longer than the longest legitimate wait of the Redis-restart test, a Bitget call queued
    # just before Redis dies: its place in the queue of 8 callers (4 processes x 2) at 5/s,
    # 1.7 s; the outage, 2.5 s; the probe noticing the return, up to 0.75 s; the hold of an
    # emptied Redis, 1.5 s; the queue again, 1.7 s: 8.1 s before any event-loop lag (7.2 s
    # measured with 4 CPU-bound processes beside the test). 10 s left under 2 s for the lag of
    # a starved machine across some ten sequential wake-ups and round trips.
    options["max_rate_wait"] = 15.0
    bitgets = [ea.BitgetClient(bitget_credentials, **options) for _ in range(WORKER_CLIENTS)]
    coinws = [ea.CoinWClient(coinw_credentials, **options) for _ in range(WORKER_CLIENTS)]
    loop = asyncio.get_running_loop()

    async def caller(name: str, call: Any) -> None:
        end = loop.time() + seconds
        while loop.time() < end:
            started = time.time()
            try:
                await call()
                sent[name] += 1
                if sent["bitget"] and sent["coinw"] and not marked:
                    _mark(ready)
                    marked.append(None)
                slowest.append((time.time() - started, started, name))
                slowest.sort(reverse=True)
                del slowest[3:]
            except Exception as error:  # the test wants none; report what it was
                typed = isinstance(error, ea.ExchangeError)
                errors.append((type(error).__name__, typed, str(error), started, time.time()))
                await asyncio.sleep(0.05)

    def bitget_call(client: ea.BitgetClient) -> Any:
        return lambda: client.get_current_tracking_orders("USDT-FUTURES")

    def coinw_call(client: ea.CoinWClient) -> Any:
        return lambda: client.get_order_info("plan")

    await asyncio.sleep(max(0.0, start_at - time.time()))
    await asyncio.gather(
        *(caller("bitget", bitget_call(c)) for c in bitgets),
        *(caller("coinw", coinw_call(c)) for c in coinws),
    )
    for client in [*bitgets, *coinws]:
        await client.close()
    return {"sent": sent, "errors": errors, "warnings": warnings.messages, "slowest": slowest}


def main(argv: list[str]) -> None:
    if argv[0] == "sim":
        asyncio.run(serve(Path(argv[1]), Path(argv[2])))
        return
    redis_url, base_url, start_at, seconds, skew, out_file = argv[1:]
    if float(skew):  # before any client (or limiter) exists
        real_time = time.time
        time.time = lambda: real_time() + float(skew)
    loop = asyncio.new_event_loop()
    if float(skew):
        real_loop_time = loop.time
        loop.time = lambda: real_loop_time() + float(skew)  # type: ignore[method-assign]
    try:
        ready = Path(out_file + ".ready")
        main = work(redis_url, base_url, float(start_at), float(seconds), ready)
        result = loop.run_until_complete(main)
    finally:
        loop.close()
    Path(out_file).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
