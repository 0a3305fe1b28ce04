"""One worker process of a fleet, for test_fleet_procs.py and the fleet benchmark.

    python tests/fleet_worker.py SPEC.json

SPEC: ``redis_url``, ``base_url``, ``worker_id``, ``accounts`` (`FleetAccount` fields),
``log`` (a path), and optionally ``interval``, ``lease_ttl``. It polls as a fleet worker until
killed (or stdin closes) and appends one JSON line per request to ``log`` the moment the
request is allowed out (after the lease check): ``[monotonic time, account, lease epoch]``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet_helpers import add_accounts

import exchange_async as ea
from exchange_async._core.transport.aiohttp import AiohttpTransport
from exchange_async.fleet.worker import FleetWorker
from exchange_async_sim import FleetAccount


class Recorder:
    """The poller's transport, logging each request as it is allowed out."""

    def __init__(self, names: dict[str, str], log: TextIO) -> None:
        self.inner = AiohttpTransport(max_connections=100)
        self.names = names
        self.log = log
        self.worker: FleetWorker | None = None

    async def send(self, request: ea.TransportRequest, on_sent: Any) -> ea.TransportResponse:
        key = request.headers.get("ACCESS-KEY") or request.headers.get("api_key") or ""
        name = self.names.get(key, "?")

        def sent() -> Any:
            waiting = on_sent()  # the lease check: raises when the lease lapsed
            assert self.worker is not None
            lease = self.worker.lease_of(name)
            epoch = lease.epoch if lease is not None else -1
            self.log.write(json.dumps([time.monotonic(), name, epoch]) + "\n")
            return waiting

        return await self.inner.send(request, sent)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def main(spec: dict[str, Any], log: TextIO) -> None:
    accounts = [FleetAccount(**fields) for fields in spec["accounts"]]
    fleet = ea.Fleet(
        spec["redis_url"],
        name="desk",
        worker_id=spec["worker_id"],
        lease_ttl=spec.get("lease_ttl", 5.0),
    )
    recorder = Recorder({a.api_key: a.name for a in accounts}, log)
    poller = ea.Poller(
        fleet=fleet,
        rate_limits=spec["redis_url"],
        interval=spec.get("interval", 0.5),
        transport=recorder,
    )
    recorder.worker = poller._publisher  # type: ignore[assignment]
    async with poller:
        add_accounts(poller, accounts, spec["base_url"])
        drain = asyncio.create_task(_drain(poller))
        await asyncio.to_thread(sys.stdin.read)  # until the test closes our stdin
    await drain
    await recorder.aclose()


async def _drain(poller: ea.Poller) -> None:
    async for _ in poller:  # the events went to the stream; a worker must still read them
        pass


if __name__ == "__main__":
    spec = json.loads(Path(sys.argv[1]).read_text())
    with open(spec["log"], "a", buffering=1) as log:
        asyncio.run(main(spec, log))
