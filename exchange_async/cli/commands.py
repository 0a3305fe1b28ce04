"""The CLI's commands, each an ``async`` function of the parsed arguments returning an exit code."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import socket
import sys
from typing import Any

from .. import BitgetClient, BitgetCredentials, CoinWClient, CoinWCredentials
from . import _sim
from .output import COINW_COLUMNS, TRACKING_COLUMNS, Column, print_json_lines, print_table

__all__ = ["UsageError", "coinw_orders", "demo", "simulate", "tracking_orders"]

TABLE_WIDTH = 100
"""Table rows fit this many columns (or the terminal, when stdout is one)."""


class UsageError(Exception):
    """A mistake in how the command was called (exit code 2)."""


def _env(*names: str) -> list[str]:
    missing = [n for n in names if not os.environ.get(n, "").strip()]
    if missing:
        raise UsageError(
            f"set {', '.join(missing)} in the environment "
            "(`exchange-async simulate` prints demo keys to try)"
        )
    return [os.environ[n] for n in names]


def _table_width() -> int:
    if sys.stdout.isatty():
        return shutil.get_terminal_size((TABLE_WIDTH, 24)).columns
    return TABLE_WIDTH


def _print_orders(rows: list[Any], columns: tuple[Column, ...], args: argparse.Namespace) -> None:
    if args.json:
        print_json_lines(rows, sys.stdout)
        return
    hidden = print_table(rows, columns, sys.stdout, width=_table_width(), raw=args.raw)
    note = f" ({', '.join(hidden)} hidden to fit the width: --raw or --json show all)"
    print(f"{len(rows)} orders{note if hidden else ''}", file=sys.stderr)


async def tracking_orders(args: argparse.Namespace) -> int:
    """Page through every current tracking order and print them."""
    key, secret, passphrase = _env("BITGET_API_KEY", "BITGET_SECRET_KEY", "BITGET_PASSPHRASE")
    credentials = BitgetCredentials(key, secret, passphrase)
    async with BitgetClient(
        credentials,
        base_url=args.base_url,
        uid=args.uid,
        allow_insecure_http=args.allow_insecure_http,
    ) as client:
        orders = client.iter_current_tracking_orders(
            args.product_type, symbol=args.symbol, page_size=args.page_size
        )
        if args.json:  # stream: a long listing starts printing at once
            async for order in orders:
                print_json_lines([order], sys.stdout)
            return 0
        rows = [order async for order in orders]
    _print_orders(rows, TRACKING_COLUMNS, args)
    return 0


async def coinw_orders(args: argparse.Namespace) -> int:
    """Fetch unfilled CoinW futures orders and print them."""
    key, secret = _env("COINW_API_KEY", "COINW_SECRET_KEY")
    ids = [i for chunk in args.ids for i in chunk] if args.ids else None
    async with CoinWClient(
        CoinWCredentials(key, secret),
        base_url=args.base_url,
        allow_insecure_http=args.allow_insecure_http,
    ) as client:
        orders = await client.get_order_info(
            args.position_type, instrument=args.instrument, source_ids=ids
        )
    _print_orders(orders, COINW_COLUMNS, args)
    return 0


def next_steps(base_url: str, bitget: Any, coinw: Any, more: int = 0) -> str:
    """What to paste into another shell to query the simulator at ``base_url``; ``more``
    accounts per exchange besides the demo ones."""
    q = shlex.quote
    url = q(base_url)
    return "\n".join(
        [
            f"simulator listening on {base_url} (Ctrl-C to stop)",
            *_more_accounts(more),
            "",
            "Paste into another shell (the demo accounts; --base-url keeps you off the real "
            "exchange):",
            "",
            f"  export BITGET_API_KEY={q(bitget.api_key)} "
            f"BITGET_SECRET_KEY={q(bitget.secret_key)} BITGET_PASSPHRASE={q(bitget.passphrase)}",
            f"  exchange-async tracking-orders --product-type usdt-futures --base-url {url}",
            "",
            f"  export COINW_API_KEY={q(coinw.api_key)} COINW_SECRET_KEY={q(coinw.secret_key)}",
            f"  exchange-async coinw-orders --position-type plan --base-url {url}",
            "",
            "The documentation's examples read the address from the environment:",
            "",
            f"  export {BASE_URL_VARIABLE}={url}",
            "",
            f'From Python: ea.BitgetClient(credentials, base_url="{base_url}")',
        ]
    )


BASE_URL_VARIABLE = "EXCHANGE_ASYNC_BASE_URL"
"""Where the documentation's examples look for the simulator's address."""


def _more_accounts(more: int) -> list[str]:
    if not more:
        return []
    last = f"{more:03d}"
    return [
        f"{more + 1} accounts per exchange: the demo keys below, and Bitget API keys "
        f"demo-bitget-001 to demo-bitget-{last} (secret demo-bitget-NNN-secret, passphrase "
        f"demo-bitget-NNN-pass), CoinW API keys demo-coinw-001 to demo-coinw-{last} (secret "
        "demo-coinw-NNN-secret)"
    ]


async def simulate(args: argparse.Namespace) -> int:
    """Serve the simulator with its demo accounts until interrupted."""
    module = _sim.load_simulator()
    sim = module.Simulator.with_demo_accounts(_sim.config_from_arguments(args))
    more = args.accounts - 1
    if more:
        module.fleet.add_demo_fleet(sim, 2 * more)  # alternately Bitget and CoinW

    def ready(base_url: str) -> None:
        print(next_steps(base_url, module.DEMO_BITGET, module.DEMO_COINW, more), flush=True)

    try:
        await module.serve_forever(sim, args.host, args.port, on_ready=ready)
    except OSError as error:  # busy port, unknown host, no permission
        if isinstance(error, socket.gaierror) or not error.errno or error.errno < 0:
            reason = error.strerror or str(error)
        else:
            reason = os.strerror(error.errno)
        hint = " (another one may be running; --port 0 picks a free port)"
        raise UsageError(
            f"cannot listen on {args.host}:{args.port}: {reason}"
            f"{hint if error.errno in _BUSY else ''}"
        ) from None
    return 0


_BUSY = {98, 48, 10048}
"""EADDRINUSE on Linux, macOS and Windows."""


async def demo(args: argparse.Namespace) -> int:
    """Watch a fleet of simulated accounts with the Poller; see `exchange_async.cli.demo`."""
    from .demo import demo_command

    if args.faults and args.accounts < 2:
        raise UsageError("--faults needs --accounts of at least 2 (one of them gets a bad key)")
    if args.processes > 1:
        from .demo.local_redis import redis_problem, redis_unreachable

        problem = redis_problem(args.redis)
        if problem is None and args.redis:  # before any worker starts: none would send
            problem = await redis_unreachable(args.redis)
        if problem:
            raise UsageError(problem)
        if args.processes > args.accounts:
            raise UsageError("--processes must not exceed --accounts (each polls some accounts)")
    elif args.redis:
        raise UsageError("--redis needs --processes of at least 2")
    elif args.kill_one_after is not None:
        raise UsageError("--kill-one-after needs --processes of at least 2")
    return await demo_command(args, _sim.config_from_arguments(args))
