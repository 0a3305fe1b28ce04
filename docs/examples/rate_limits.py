"""The rate-limit promise, seen from the caller. `python rate_limits.py`"""

import asyncio
import os
import time

import exchange_async as ea

BASE_URL = os.environ.get("EXCHANGE_ASYNC_BASE_URL", "http://127.0.0.1:8080")
CREDENTIALS = ea.BitgetCredentials(
    os.environ.get("BITGET_API_KEY", "demo-bitget-key"),
    os.environ.get("BITGET_SECRET_KEY", "demo-bitget-secret"),
    os.environ.get("BITGET_PASSPHRASE", "demo-passphrase"),
)


async def main() -> None:
    # Two clients of one key share the account's budget: 5 requests/s for this endpoint.
    async with (
        ea.BitgetClient(CREDENTIALS, base_url=BASE_URL) as first,
        ea.BitgetClient(CREDENTIALS, base_url=BASE_URL) as second,
    ):
        calls = [
            client.get_current_tracking_orders("USDT-FUTURES", limit=1)
            for client in (first, second)
            for _ in range(6)
        ]
        started = time.monotonic()
        await asyncio.gather(*calls)  # 12 calls at once: they queue, none is refused
        elapsed = time.monotonic() - started
        print(f"12 calls from 2 clients took {elapsed:.2f} s: {12 / elapsed:.1f} requests/s")
        refused = first.stats.rate_limited + second.stats.rate_limited
        print(f"refused by the exchange: {refused}")

    # A caller that cannot wait: max_rate_wait (seconds) raises instead of queueing longer.
    async with ea.BitgetClient(CREDENTIALS, base_url=BASE_URL, max_rate_wait=0.5) as impatient:
        results = await asyncio.gather(
            *(impatient.get_current_tracking_orders("USDT-FUTURES", limit=1) for _ in range(8)),
            return_exceptions=True,
        )
        timeouts = [r for r in results if isinstance(r, ea.RateLimitWaitTimeout)]
        print(
            f"8 calls with max_rate_wait=0.5: {len(results) - len(timeouts)} sent, "
            f"{len(timeouts)} gave up (RateLimitWaitTimeout) without sending"
        )


asyncio.run(main())
