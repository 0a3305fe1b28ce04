"""``exchange-async demo``: the Poller watching a fleet of simulated accounts, live.

Starts the simulator in-process (a mix of Bitget and CoinW accounts whose orders open, change
and close), polls every account with `Poller` through the real clients, shows a live view
(``rich``, the ``demo`` extra) or status lines, and ends with a summary whose limit
violations, as the simulator counted them (each request dated when it reached its socket),
should be zero, beside the same count on the clients' own send times. Modules: ``run`` (the
phases and Ctrl-C), ``tracker`` (counters and the check), ``frame`` (one picture of the
numbers), ``live`` and ``plain`` (the views), ``report`` and ``advice`` (the summary and its
warnings), ``sends`` (when each request left) and ``verdict`` (who bunched requests, if anyone).
With ``--processes N``: ``procs`` (the parent), ``procs_state`` (the workers added up),
``worker`` (one worker process) and ``local_redis`` (a ``redis-server`` for the run).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from typing import TYPE_CHECKING

from .report import DemoReport
from .run import DemoOptions, run_demo

if TYPE_CHECKING:
    from .._sim import SimulatorConfig

__all__ = ["DemoOptions", "DemoReport", "default_settle", "demo_command", "run_demo"]


def _width() -> int:
    """The terminal's width when stdout is one, else 100 columns."""
    return shutil.get_terminal_size((100, 24)).columns if sys.stdout.isatty() else 100


def default_settle(accounts: int) -> float:
    """Seconds the settling phase may last by default: 15, or 0.25 per Bitget account (half
    the accounts) if longer. 300 Bitget accounts share Bitget's 100 requests/s per IP, and each
    must complete a whole snapshot of the frozen data: 44-50 s for 300 (600 accounts)."""
    return max(15.0, 0.25 * (accounts // 2))


async def demo_command(args: argparse.Namespace, config: SimulatorConfig) -> int:
    """``exchange-async demo``; the exit status is :attr:`DemoReport.exit_code`."""
    options = DemoOptions(
        accounts=args.accounts,
        duration=args.duration,
        settle=args.settle if args.settle is not None else default_settle(args.accounts),
        faults=args.faults,
        live=True if args.live else False if args.no_live else None,
        events=args.events,
        view_to_stderr=args.json,
    )
    if args.processes > 1:
        from .procs import run_demo_processes

        report = await run_demo_processes(
            options,
            config,
            processes=args.processes,
            redis_url=args.redis,
            kill_one_after=args.kill_one_after,
        )
    else:
        report = await run_demo(options, config)
    if args.json:
        report.print_json(sys.stdout)
        for warning in report.warnings:
            print(f"exchange-async demo: WARNING: {warning}", file=sys.stderr)
    else:
        report.print_text(sys.stdout, _width())
    return report.exit_code
