"""What goes wrong, and which exception says so. `python errors.py`"""

import asyncio
import os
import socket

import exchange_async as ea

BASE_URL = os.environ.get("EXCHANGE_ASYNC_BASE_URL", "http://127.0.0.1:8080")
CREDENTIALS = ea.BitgetCredentials(
    os.environ.get("BITGET_API_KEY", "demo-bitget-key"),
    os.environ.get("BITGET_SECRET_KEY", "demo-bitget-secret"),
    os.environ.get("BITGET_PASSPHRASE", "demo-passphrase"),
)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def main() -> None:
    async with ea.BitgetClient(CREDENTIALS, base_url=BASE_URL) as bitget:
        # A bad argument: ValidationError (also a ValueError), before any request is sent.
        try:
            await bitget.get_current_tracking_orders("SPOT-FUTURES")
        except ea.ValidationError as error:
            print("ValidationError:", error)

    # A key the exchange refuses: AuthenticationError, at once (never retried).
    wrong = ea.BitgetCredentials("no-such-key", "secret", "passphrase")
    async with ea.BitgetClient(wrong, base_url=BASE_URL) as bitget:
        try:
            await bitget.get_current_tracking_orders("USDT-FUTURES")
        except ea.AuthenticationError as error:
            print(f"{type(error).__name__}: code={error.code} http_status={error.http_status}")

    # Nobody listening: retried with back-off, then TransportError.
    nowhere = f"http://127.0.0.1:{unused_port()}"
    retry = ea.RetryPolicy(max_attempts=3, base_delay=0.1)  # 3 attempts in all
    async with ea.BitgetClient(CREDENTIALS, base_url=nowhere, retry=retry) as bitget:
        try:
            await bitget.get_current_tracking_orders("USDT-FUTURES")
        except ea.TransportError as error:
            print(f"{type(error).__name__} after 3 attempts: {error.message}")

    # Everything the SDK raises on purpose is an ExchangeError: one except clause for all.
    async with ea.BitgetClient(CREDENTIALS, base_url=BASE_URL) as bitget:
        try:
            page = await bitget.get_current_tracking_orders("USDT-FUTURES", limit=1)
            print("and a call that works:", len(page.tracking_list), "order")
        except ea.ExchangeError as error:
            print("failed:", repr(error))


asyncio.run(main())
