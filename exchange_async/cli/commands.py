"""The CLI's commands, each an ``async`` function of the parsed arguments."""

from __future__ import annotations

import argparse
import os
import sys

from .. import BitgetClient, BitgetCredentials, CoinWClient, CoinWCredentials
from .output import print_json_lines, print_table

__all__ = ["UsageError", "coinw_orders", "demo", "simulate", "tracking_orders"]

NO_SIMULATOR = 'the simulator is not installed: pip install "exchange-async[sim]"'

TRACKING_COLUMNS = [
    ("trackingNo", "tracking_no"),
    ("symbol", "symbol"),
    ("side", "pos_side"),
    ("lev", "open_leverage"),
    ("price", "open_price_avg"),
    ("size", "open_size"),
    ("TP", "preset_stop_surplus_price"),
    ("SL", "preset_stop_loss_price"),
    ("fee", "open_fee"),
    ("followers", "follow_count"),
    ("openTime", "open_time"),
]

COINW_COLUMNS = [
    ("id", "id"),
    ("instrument", "instrument"),
    ("dir", "direction"),
    ("posType", "pos_type"),
    ("status", "order_status"),
    ("price", "order_price"),
    ("qty", "quantity"),
    ("unit", "quantity_unit"),
    ("lev", "leverage"),
    ("trigger", "trigger_price"),
    ("created", "created_date"),
]


class UsageError(Exception):
    """A mistake in how the command was called (exit code 2)."""


def _env(*names: str) -> list[str]:
    missing = [n for n in names if not os.environ.get(n, "").strip()]
    if missing:
        raise UsageError(f"set {', '.join(missing)} in the environment")
    return [os.environ[n] for n in names]


async def tracking_orders(args: argparse.Namespace) -> int:
    """Page through every current tracking order and print them."""
    key, secret, passphrase = _env("BITGET_API_KEY", "BITGET_SECRET_KEY", "BITGET_PASSPHRASE")
    credentials = BitgetCredentials(key, secret, passphrase)
    async with BitgetClient(credentials, base_url=args.base_url, uid=args.uid) as client:
        orders = client.iter_current_tracking_orders(
            args.product_type, symbol=args.symbol, page_size=args.page_size
        )
        if args.json:
            async for order in orders:
                print_json_lines([order], sys.stdout)
        else:
            rows = [order async for order in orders]
            print_table(rows, TRACKING_COLUMNS, sys.stdout)
            print(f"{len(rows)} orders", file=sys.stderr)
    return 0


async def coinw_orders(args: argparse.Namespace) -> int:
    """Fetch unfilled CoinW futures orders and print them."""
    key, secret = _env("COINW_API_KEY", "COINW_SECRET_KEY")
    ids = [i for chunk in args.ids for i in chunk.split(",") if i] if args.ids else None
    async with CoinWClient(CoinWCredentials(key, secret), base_url=args.base_url) as client:
        orders = await client.get_order_info(
            args.position_type, instrument=args.instrument, source_ids=ids
        )
    if args.json:
        print_json_lines(orders, sys.stdout)
    else:
        print_table(orders, COINW_COLUMNS, sys.stdout)
        print(f"{len(orders)} orders", file=sys.stderr)
    return 0


async def simulate(args: argparse.Namespace) -> int:
    """Serve the simulator until interrupted."""
    try:
        from exchange_async_sim import (
            DEMO_BITGET,
            DEMO_COINW,
            Simulator,
            config_from_arguments,
            serve_forever,
        )
    except ImportError:
        raise UsageError(NO_SIMULATOR) from None

    sim = Simulator.with_demo_accounts(config_from_arguments(args))

    def ready(base_url: str) -> None:
        print(f"simulator on {base_url} (Ctrl-C to stop)", file=sys.stderr)
        print(
            f"  Bitget demo: BITGET_API_KEY={DEMO_BITGET.api_key} "
            f"BITGET_SECRET_KEY={DEMO_BITGET.secret_key} "
            f"BITGET_PASSPHRASE={DEMO_BITGET.passphrase}",
            file=sys.stderr,
        )
        print(
            f"  CoinW demo:  COINW_API_KEY={DEMO_COINW.api_key} "
            f"COINW_SECRET_KEY={DEMO_COINW.secret_key}",
            file=sys.stderr,
        )

    await serve_forever(sim, args.host, args.port, on_ready=ready)
    return 0


async def demo(args: argparse.Namespace) -> int:
    """Watch a fleet of simulated accounts with the Poller; see `exchange_async.cli.demo`."""
    try:
        from exchange_async_sim import config_from_arguments
    except ImportError:
        raise UsageError(NO_SIMULATOR) from None
    from .demo import demo_command

    if args.accounts < 1 or args.duration <= 0:
        raise UsageError("--accounts must be at least 1 and --duration positive")
    return await demo_command(args, config_from_arguments(args))
