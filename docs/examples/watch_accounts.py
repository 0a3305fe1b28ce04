"""Watch several accounts at once and print what changes, failures included.

Run the simulator with changing orders first:
`exchange-async simulate --mutation-interval 0.5`, then `python watch_accounts.py`.
"""
# simulator: --mutation-interval 0.5

import asyncio
import os

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
WATCH_SECONDS = 8.0  # a real bot watches forever: drop the timeout below


def show(event: ea.Event) -> None:
    match event:
        case ea.OrderOpened(initial=True):
            pass  # was already open when we started: state, not news
        case ea.AccountSynced(account=name, orders=count):
            print(f"{name}: watching {count} orders")
        case ea.OrderOpened(account=name, key=key):
            print(f"{name}: opened {key}")
        case ea.OrderChanged(account=name, key=key, changes=changes):
            print(f"{name}: {key} changed {', '.join(changes)}")
        case ea.OrderClosed(account=name, key=key):
            print(f"{name}: {key} closed")
        # Failures are events too. Print them: a poller pointed at the wrong host or holding a
        # wrong key otherwise looks like a quiet market.
        case ea.AccountError(account=name, error=kind, message=message, retry_in=delay):
            print(f"{name}: {kind}: {message} (retrying in {delay:.1f} s)")
        case ea.AccountRateLimited(account=name, retry_in=delay):
            print(f"{name}: rate limited, resuming in {delay:.1f} s")
        case ea.AccountRecovered(account=name):
            print(f"{name}: recovered")
        case ea.AccountStopped(account=name, reason=reason):
            print(f"{name}: STOPPED: {reason}")  # bad key: fix it and add the account again


async def main() -> None:
    async with ea.Poller() as poller:
        poller.add_bitget("trader-alice", BITGET, product_types=["USDT-FUTURES"], base_url=BASE_URL)
        poller.add_coinw("risk-bob", COINW, position_types=["plan", "execute"], base_url=BASE_URL)
        # A key the exchange does not know: stopped at once, the others go on.
        wrong = ea.CoinWCredentials("not-a-key", "not-a-secret")
        poller.add_coinw("typo-carol", wrong, base_url=BASE_URL)

        try:
            async with asyncio.timeout(WATCH_SECONDS):
                async for event in poller:
                    show(event)
        except TimeoutError:
            pass

        for name, status in poller.accounts.items():
            print(f"{name}: {status.state}, {status.orders} orders, {status.requests} requests")
        print(dict(poller.event_counts))


asyncio.run(main())
