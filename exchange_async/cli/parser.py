"""The ``exchange-async`` argument parser: every sub-command, its options and their help."""

from __future__ import annotations

import argparse
from importlib.metadata import PackageNotFoundError, version

from .. import __version__
from ..bitget.models import ProductType
from ..coinw.models import PositionType
from . import _sim
from .arguments import (
    OneLineParser,
    base_url,
    choice_help,
    order_ids,
    page_size,
    port,
    position_type,
    positive_float,
    positive_int,
    product_type,
)

__all__ = ["build_parser"]

_SPELLINGS = "any case; dashes, underscores or camelCase alike"


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command line."""
    parser = OneLineParser(
        prog="exchange-async",
        description="Rate-limit-safe crypto-exchange REST client. Try it with no account: "
        "`exchange-async demo`, or `exchange-async simulate` and the commands it prints.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _tracking_orders(sub)
    _coinw_orders(sub)
    _simulate(sub)
    _demo(sub)
    return parser


def installed_version() -> str:
    """The installed distribution's version (its metadata: what pip installed), or the
    package's own ``__version__`` when it runs from a tree pip never installed."""
    try:
        return version("exchange-async")
    except PackageNotFoundError:
        return __version__


def _output_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per line, keyed by the model's field names (snake_case); "
        "ids and ms times exact JSON integers, decimals as strings",
    )
    command.add_argument(
        "--raw",
        action="store_true",
        help="table of the wire values (untrimmed decimals, ms times) with every column",
    )
    command.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow a plain http:// --base-url to a host that is not loopback "
        "(a TLS-terminating proxy on a trusted network); http:// to 127.0.0.1 needs no flag",
    )


def _tracking_orders(sub: argparse._SubParsersAction[OneLineParser]) -> None:
    command = sub.add_parser(
        "tracking-orders",
        help="Bitget: every current tracking order of an elite trader",
        description="Bitget: every current tracking order, newest first, all pages. "
        "Credentials from BITGET_API_KEY, BITGET_SECRET_KEY and BITGET_PASSPHRASE.",
    )
    command.add_argument(
        "--product-type",
        required=True,
        type=product_type,
        metavar="TYPE",
        help=f"{choice_help(ProductType)} ({_SPELLINGS})",
    )
    command.add_argument("--symbol", help="only this symbol, e.g. BTCUSDT")
    command.add_argument(
        "--page-size",
        type=page_size,
        default=50,
        metavar="N",
        help="orders per request, 1..50 (default 50)",
    )
    command.add_argument(
        "--base-url",
        type=base_url,
        default="https://api.bitget.com",
        metavar="URL",
        help="exchange host (default https://api.bitget.com; the simulator prints its own)",
    )
    command.add_argument("--uid", help="the account's UID, so several keys share one limit")
    _output_options(command)


def _coinw_orders(sub: argparse._SubParsersAction[OneLineParser]) -> None:
    command = sub.add_parser(
        "coinw-orders",
        help="CoinW: unfilled futures orders",
        description="CoinW: unfilled futures orders of one position type. "
        "Credentials from COINW_API_KEY and COINW_SECRET_KEY.",
    )
    command.add_argument(
        "--position-type",
        required=True,
        type=position_type,
        metavar="TYPE",
        help=f"{choice_help(PositionType)} ({_SPELLINGS})",
    )
    command.add_argument("--instrument", help="base currency, e.g. BTC or 1000PEPE")
    command.add_argument(
        "--ids",
        nargs="+",
        type=order_ids,
        metavar="ID",
        help="only these order ids (spaces or commas; more than 20 are split into requests)",
    )
    command.add_argument(
        "--base-url",
        type=base_url,
        default="https://api.coinw.com",
        metavar="URL",
        help="exchange host (default https://api.coinw.com; the simulator prints its own)",
    )
    _output_options(command)


def _simulate(sub: argparse._SubParsersAction[OneLineParser]) -> None:
    command = sub.add_parser(
        "simulate",
        help="run the exchange simulator with demo accounts",
        description="Serve a local fake of Bitget and CoinW until Ctrl-C, and print the "
        "commands (with --base-url and the demo keys) that query it.",
    )
    command.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    command.add_argument(
        "--port", type=port, default=8080, help="TCP port, 0 for any free one (default 8080)"
    )
    command.add_argument(
        "--accounts",
        type=positive_int,
        default=1,
        metavar="N",
        help="accounts per exchange (default 1: the demo keys); the others are "
        "demo-bitget-001, demo-coinw-001, ... (the output says their secrets)",
    )
    _sim.add_simulator_arguments(command)


def _demo(sub: argparse._SubParsersAction[OneLineParser]) -> None:
    command = sub.add_parser(
        "demo",
        help="watch a fleet of simulated accounts with the Poller (no credentials)",
        description="Start the simulator in-process, watch its accounts with the Poller, show "
        "a live view and a summary. Exit status: 0 all checked and no limit exceeded, 3 the "
        "check failed, 4 some accounts could not be checked, 130 interrupted (Ctrl-C).",
    )
    command.add_argument(
        "--accounts",
        type=positive_int,
        default=20,
        metavar="N",
        help="accounts, half Bitget, half CoinW (default 20; with --faults one of them has a "
        "bad key). Above 40, the Bitget ones share Bitget's 100 requests/s per-IP limit and "
        "their snapshots slow down accordingly",
    )
    command.add_argument(
        "--duration",
        type=positive_float,
        default=20.0,
        metavar="SECONDS",
        help="seconds of changing data (default 20), then a settling phase",
    )
    command.add_argument(
        "--settle",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="at most this long with the data frozen for every account to catch up before the "
        "check (default 15, or 0.25 per Bitget account if longer: their snapshots queue for "
        "Bitget's per-IP limit); it ends as soon as every account has caught up",
    )
    command.add_argument(
        "--faults",
        action="store_true",
        help="random faults (--fault-rate 0.03 unless given) and one account with a bad key",
    )
    live = command.add_mutually_exclusive_group()
    live.add_argument(
        "--live", action="store_true", help="the live view (default when on a terminal)"
    )
    live.add_argument("--no-live", action="store_true", help="status lines, not a live view")
    command.add_argument(
        "--events", action="store_true", help="with status lines: print every event too"
    )
    command.add_argument(
        "--json",
        action="store_true",
        help="the summary as one JSON object on stdout (the view goes to stderr)",
    )
    command.add_argument(
        "--processes",
        type=positive_int,
        default=1,
        metavar="N",
        help="run N worker processes as a fleet: each leases its share of the accounts and "
        "they share the rate limits through Redis (default 1: one process, no Redis)",
    )
    command.add_argument(
        "--kill-one-after",
        type=positive_float,
        metavar="SECONDS",
        help="with --processes: kill one worker (SIGKILL) this many seconds into the run, to "
        "watch the others take its accounts over",
    )
    command.add_argument(
        "--redis",
        metavar="URL",
        help="with --processes: the Redis to share limits through, e.g. redis://host:6379/0 "
        "(default: start a local redis-server for the run)",
    )
    _sim.add_simulator_arguments(command)
    command.set_defaults(sim_mutation_interval=1.0)
    _set_help(command, "sim_mutation_interval", "mutate the orders this often (default 1)")
    _set_help(
        command,
        "sim_fault_rate",
        "probability of a random fault per request (default 0; 0.03 with --faults)",
    )


def _set_help(parser: argparse.ArgumentParser, dest: str, text: str) -> None:
    """Restate an added option's help where this command's default differs."""
    for action in parser._actions:
        if action.dest == dest:
            action.help = text
