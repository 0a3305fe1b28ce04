"""Two fleet workers share the accounts through Redis; a consumer group reads every event.

The two workers run in one process here to keep the example short; in production each is its
own process, on any host, started with the same accounts and the same `ea.Fleet` settings.
Needs Redis: set REDIS_URL, or have `redis-server` installed (a throwaway one is started).
Run the simulator first: `exchange-async simulate --mutation-interval 0.5`.
"""
# simulator: --mutation-interval 0.5

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import exchange_async as ea

BASE_URL = os.environ.get("EXCHANGE_ASYNC_BASE_URL", "http://127.0.0.1:8080")
BITGET = ea.BitgetCredentials(
    os.environ.get("BITGET_API_KEY", "demo-bitget-key"),
    os.environ.get("BITGET_SECRET_KEY", "demo-bitget-secret"),
    os.environ.get("BITGET_PASSPHRASE", "demo-passphrase"),
)
COINW = ea.CoinWCredentials(
    os.environ.get("COINW_API_KEY", "demo-coinw-key"),
    os.environ.get("COINW_SECRET_KEY", "demo-coinw-secret"),
)
RUN_SECONDS = 6.0  # a real fleet runs forever


async def worker(redis_url: str, worker_id: str, stop: asyncio.Event) -> None:
    """One worker: every worker adds the same accounts; the fleet decides who polls which."""
    fleet = ea.Fleet(redis_url, name="docs-desk", worker_id=worker_id)
    async with ea.Poller(fleet=fleet, rate_limits=redis_url, interval=0.5) as poller:
        poller.add_bitget("lead-1", BITGET, base_url=BASE_URL)
        poller.add_coinw("risk-1", COINW, base_url=BASE_URL)
        async for _ in poller:  # this worker's own events (already on the fleet's stream)
            if stop.is_set():
                break


async def consume(redis_url: str, stop: asyncio.Event) -> None:
    """Every account's events, from every worker, at least once: de-duplicate by event_id."""
    handled: set[str] = set()  # a real consumer keeps these where its results go
    async with ea.FleetEvents(
        redis_url, name="docs-desk", group="printer", consumer="printer-1", block=0.2
    ) as events:
        async for event in events:
            if event.event_id not in handled:
                handled.add(event.event_id)
                match event:
                    case ea.AccountSynced(account=name, orders=count):
                        print(f"{name}: watching {count} orders ({event.event_id})")
                    case ea.OrderOpened(initial=False) | ea.OrderChanged() | ea.OrderClosed():
                        print(f"{event.account}: {type(event).__name__} {event.key}")
            await events.ack(event)
            if stop.is_set():
                break


async def main(redis_url: str) -> None:
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(worker(redis_url, "worker-a", stop)),
        asyncio.create_task(worker(redis_url, "worker-b", stop)),
        asyncio.create_task(consume(redis_url, stop)),
    ]
    await asyncio.sleep(RUN_SECONDS)
    owners = await ea.Fleet(redis_url, name="docs-desk").owners()
    print("who polls what:", owners)
    stop.set()
    await asyncio.wait(tasks, timeout=10)
    for task in tasks:
        task.cancel()


@contextlib.contextmanager
def throwaway_redis() -> Iterator[str]:
    """A redis-server on a free loopback port, nothing saved, stopped at the end."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", directory]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while True:
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    if url := os.environ.get("REDIS_URL"):
        asyncio.run(main(url))
    elif shutil.which("redis-server"):
        with throwaway_redis() as url:
            asyncio.run(main(url))
    else:
        print("This example needs Redis: set REDIS_URL or install redis-server.")
