"""The ``exchange-async`` command: fetch orders, run the simulator, run the demo."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from .. import __version__
from .._errors import ExchangeError

try:
    from exchange_async_sim import add_simulator_arguments
except ImportError:  # the simulator is the "sim" extra; `simulate` and `demo` say so when run

    def add_simulator_arguments(parser: argparse.ArgumentParser) -> None:
        """No simulator installed, so no simulator flags."""


__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="exchange-async",
        description="Rate-limit-safe crypto-exchange REST client.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    track = sub.add_parser(
        "tracking-orders",
        help="Bitget: every current tracking order (BITGET_API_KEY/SECRET_KEY/PASSPHRASE)",
    )
    track.add_argument("--product-type", required=True, help="usdt-futures, coin-futures, ...")
    track.add_argument("--symbol")
    track.add_argument("--page-size", type=int, default=50)
    track.add_argument("--base-url", default="https://api.bitget.com")
    track.add_argument("--uid", help="account UID, so several keys share one rate limit")
    track.add_argument("--json", action="store_true", help="one JSON object per line")

    coinw = sub.add_parser(
        "coinw-orders", help="CoinW: unfilled futures orders (COINW_API_KEY/SECRET_KEY)"
    )
    coinw.add_argument("--position-type", required=True, help="execute, plan, moveStop, ...")
    coinw.add_argument("--instrument", help="base currency, e.g. BTC or 1000PEPE")
    coinw.add_argument(
        "--ids", nargs="+", metavar="ID", help="order ids (spaces or commas; >20 are split)"
    )
    coinw.add_argument("--base-url", default="https://api.coinw.com")
    coinw.add_argument("--json", action="store_true", help="one JSON object per line")

    simulate = sub.add_parser("simulate", help="run the bundled exchange simulator")
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--port", type=int, default=8080)
    add_simulator_arguments(simulate)

    demo = sub.add_parser(
        "demo", help="watch a fleet of simulated accounts with the Poller (no credentials)"
    )
    demo.add_argument("--accounts", type=int, default=20, help="simulated accounts (default 20)")
    demo.add_argument("--duration", type=float, default=20.0, help="seconds to run (default 20)")
    demo.add_argument("--faults", action="store_true", help="inject faults and a bad key")
    demo.add_argument("--no-live", action="store_true", help="status lines instead of a live view")
    add_simulator_arguments(demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``exchange-async``; returns the process exit code."""
    args = _parser().parse_args(argv)
    from . import commands

    runners = {
        "tracking-orders": commands.tracking_orders,
        "coinw-orders": commands.coinw_orders,
        "simulate": commands.simulate,
        "demo": commands.demo,
    }
    try:
        return asyncio.run(runners[args.command](args))
    except commands.UsageError as exc:
        print(f"exchange-async: {exc}", file=sys.stderr)
        return 2
    except ExchangeError as exc:
        print(f"exchange-async: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (`| head`) went away: not an error. Keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
