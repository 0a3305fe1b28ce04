"""The ``exchange-async`` command: fetch orders, run the simulator, run the demo.

Exit codes: 0 success (``simulate`` stopped by Ctrl-C included); 1 the exchange or the
network failed; 2 a usage mistake (a bad option, missing credentials, a busy port); 3 and 4
the demo's check failed or could not cover every account; 130 interrupted. Every error is one
line on stderr, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Sequence

from .._errors import ExchangeError, TransportError, ValidationError
from ._sim import SimulatorMissing
from .arguments import cli_names
from .parser import build_parser

__all__ = ["main"]


def _log_to_stderr() -> None:
    """SDK warnings (e.g. a failed clock sync) as one prefixed line each."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("exchange-async: warning: %(message)s"))
    logger = logging.getLogger("exchange_async")
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``exchange-async``; returns the process exit code."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help, --version, usage errors (already printed)
        return exit_.code if isinstance(exit_.code, int) else 2
    from . import commands

    runners = {
        "tracking-orders": commands.tracking_orders,
        "coinw-orders": commands.coinw_orders,
        "simulate": commands.simulate,
        "demo": commands.demo,
    }
    _log_to_stderr()
    try:
        return asyncio.run(runners[args.command](args))
    except (commands.UsageError, SimulatorMissing) as exc:
        print(f"exchange-async {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # an argument the SDK refused before any request
        print(f"exchange-async {args.command}: error: {cli_names(str(exc))}", file=sys.stderr)
        return 2
    except ExchangeError as exc:
        hint = ""
        if isinstance(exc, TransportError) and getattr(args, "base_url", None):
            hint = f" (is --base-url {args.base_url} right and reachable?)"
        print(f"exchange-async: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        if args.command == "simulate":  # Ctrl-C is how a simulator is meant to end
            print("exchange-async simulate: stopped", file=sys.stderr)
            return 0
        print("exchange-async: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (`| head`) went away: not an error. Keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
