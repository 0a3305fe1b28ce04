"""One worker process of the fleet benchmark: ``python -m benchmarks._fleet_worker``.

The first line of stdin is its spec, a JSON object: ``redis_url``, ``base_url``,
``worker_id``, ``lease_ttl``, ``interval``, ``accounts`` (`FleetAccount` fields). It polls as a
fleet worker until its stdin closes (or it is killed).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import exchange_async as ea

PRODUCT_TYPES = ("USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES")


def add(poller: ea.Poller, account: dict[str, Any], base_url: str) -> None:
    """Watch one demo account (every Bitget product type the simulator serves)."""
    name, key, secret = account["name"], account["api_key"], account["secret_key"]
    if account["exchange"] == "bitget":
        credentials = ea.BitgetCredentials(key, secret, account["passphrase"])
        poller.add_bitget(name, credentials, base_url=base_url, product_types=PRODUCT_TYPES)
    else:
        poller.add_coinw(name, ea.CoinWCredentials(key, secret), base_url=base_url)


async def main(spec: dict[str, Any]) -> None:
    fleet = ea.Fleet(
        spec["redis_url"], name="bench", worker_id=spec["worker_id"], lease_ttl=spec["lease_ttl"]
    )
    # A Redis call may take a second before the limiter falls back to this process's share:
    # on a loaded machine the default (0.25 s) falls back now and then, and the share of the
    # per-IP budget (a quarter, with four workers) slows every Bitget account of the worker.
    limiter = ea.RedisLimiter(spec["redis_url"], call_timeout=1.0)
    poller = ea.Poller(fleet=fleet, rate_limits=limiter, interval=spec["interval"])
    async with poller:
        for account in spec["accounts"]:
            add(poller, account, spec["base_url"])
        drain = asyncio.create_task(_drain(poller))
        await asyncio.to_thread(sys.stdin.read)
    await drain
    await limiter.aclose()


async def _drain(poller: ea.Poller) -> None:
    async for _ in poller:  # the events are on the stream; the worker still reads its own
        pass


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.stdin.readline())))
