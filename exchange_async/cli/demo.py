"""``exchange-async demo``: the Poller watching a fleet of simulated accounts, live.

Starts the simulator in-process (a mix of Bitget and CoinW accounts whose orders open, change
and close), polls every account with `Poller` through the real clients, shows a live view, and
ends with a summary whose limit violations, as the simulator counted them, should be zero.
The live view uses ``rich`` when it is installed and stdout is a terminal; otherwise it prints
a status line every few seconds. The SDK itself never imports ``rich``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import resource
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, TextIO

from exchange_async_sim import FleetAccount, Simulator, SimulatorConfig, SimulatorServer

from .. import (
    AccountError,
    AccountRateLimited,
    AccountStopped,
    BitgetCredentials,
    CoinWCredentials,
    Event,
    OrderChanged,
    OrderClosed,
    OrderOpened,
    Poller,
)

__all__ = ["DemoReport", "run_demo"]

BITGET_PER_ACCOUNT = 5.0
BITGET_PER_IP = 100.0  # 6000 per minute
COINW_PER_ACCOUNT = 10.0
PRODUCT_TYPES = ("USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES")


@dataclass
class DemoReport:
    """What the demo measured; printed as the summary and returned for tests."""

    accounts: int
    seconds: float
    requests: int
    retries: int
    events: dict[str, int]
    refused_for_rate: dict[str, int]
    limit_violations: int
    mutations: int
    random_faults: dict[str, int]
    peak_rss_mib: float
    stopped: list[str] = field(default_factory=list)
    checked_accounts: int = 0
    """Accounts whose event-built state was compared with the simulator's at the end."""
    lost: int = 0
    """Orders open at the simulator that the events never reported (or reported closed)."""
    invented: int = 0
    """Orders the events say are open that are not, plus events contradicting earlier ones."""

    @property
    def requests_per_second(self) -> float:
        """Overall request rate over the run."""
        return self.requests / self.seconds if self.seconds else 0.0


def describe(event: Event) -> str:
    """One short line for the events stream."""
    who = f"{event.account:<11}"
    if isinstance(event, OrderOpened):
        tag = "initial" if event.initial else "opened "
        return f"{who} {tag} {event.key} {_order_label(event.order)}"
    if isinstance(event, OrderChanged):
        return f"{who} changed {event.key} {', '.join(event.changes)}"
    if isinstance(event, OrderClosed):
        return f"{who} closed  {event.key}"
    if isinstance(event, AccountError):
        return f"{who} error   {event.error} ({event.failures}x), retry in {event.retry_in:.1f}s"
    if isinstance(event, AccountRateLimited):
        return f"{who} rate-limited, retry in {event.retry_in:.1f}s"
    if isinstance(event, AccountStopped):
        return f"{who} STOPPED {event.reason}"
    return f"{who} {type(event).__name__}"


def _order_label(order: Any) -> str:
    symbol = getattr(order, "symbol", None) or getattr(order, "instrument", "")
    side = getattr(order, "pos_side", None) or getattr(order, "direction", "")
    return f"{symbol} {side}"


class _Fleet:
    """The poller over the fleet, plus the counters the views read."""

    def __init__(self, sim: Simulator, poller: Poller, fleet: list[FleetAccount]) -> None:
        self.sim = sim
        self.poller = poller
        self.fleet = fleet
        self.recent: deque[str] = deque(maxlen=12)
        self.books: dict[str, dict[str, Any]] = {}
        """Each account's open orders as its events describe them."""
        self.contradictions = 0
        self.started = time.monotonic()
        self._rate_mark = (self.started, 0)
        self.rate = 0.0

    def requests(self) -> int:
        return sum(s.requests for s in self.poller.accounts.values())

    def retries(self) -> int:
        return sum(s.client.stats.retries for s in self.poller.accounts.values() if s.client)

    def tick_rate(self) -> float:
        now, total = time.monotonic(), self.requests()
        then, before = self._rate_mark
        if now - then >= 1.0:
            self.rate = (total - before) / (now - then)
            self._rate_mark = (now, total)
        return self.rate

    def allowed_rate(self) -> float:
        bitget = sum(1 for a in self.fleet if a.exchange == "bitget")
        coinw = len(self.fleet) - bitget
        return min(bitget * BITGET_PER_ACCOUNT, BITGET_PER_IP) + coinw * COINW_PER_ACCOUNT

    async def consume(self) -> None:
        async for event in self.poller:
            if not (isinstance(event, OrderOpened) and event.initial):
                self.recent.append(describe(event))
            self._book(event)

    def _book(self, event: Event) -> None:
        book = self.books.setdefault(event.account, {})
        if isinstance(event, OrderOpened):
            self.contradictions += event.key in book
            book[event.key] = event.order
        elif isinstance(event, OrderChanged):
            self.contradictions += book.get(event.key) != event.previous
            book[event.key] = event.order
        elif isinstance(event, OrderClosed):
            self.contradictions += book.pop(event.key, None) is None

    async def settle(self, within: float) -> None:
        """Wait until every polling account has finished two snapshots started after now."""
        targets = {
            s.name: s.snapshots + 2 for s in self.poller.accounts.values() if s.state != "stopped"
        }
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            statuses = self.poller.accounts
            if all(statuses[n].snapshots >= t for n, t in targets.items() if n in statuses):
                return
            await asyncio.sleep(0.1)

    def check(self) -> tuple[int, int, int]:
        """(accounts checked, orders lost, orders invented) against the simulator's truth."""
        checked = lost = invented = 0
        statuses = self.poller.accounts
        for account in self.fleet:
            status = statuses.get(account.name)
            if status is None or status.state == "stopped" or not status.snapshots:
                continue
            truth = set(self.sim.open_orders(account.api_key))
            seen = set(self.books.get(account.name, {}))
            checked += 1
            lost += len(truth - seen)
            invented += len(seen - truth)
        return checked, lost, invented + self.contradictions


def _status_line(fleet: _Fleet) -> str:
    rate = fleet.tick_rate()
    counts = fleet.poller.event_counts
    states: dict[str, int] = {}
    for s in fleet.poller.accounts.values():
        states[s.state.value] = states.get(s.state.value, 0) + 1
    return (
        f"[{time.monotonic() - fleet.started:5.1f}s] {rate:6.1f} req/s "
        f"({rate / fleet.allowed_rate():4.0%} of the limits)  requests {fleet.requests()}  "
        f"retries {fleet.retries()}  events {sum(counts.values())}  "
        f"accounts {' '.join(f'{k}={v}' for k, v in sorted(states.items()))}  "
        f"violations {fleet.sim.limit_violations()}"
    )


async def _plain_view(fleet: _Fleet, out: TextIO, every: float = 2.0) -> None:
    while True:
        await asyncio.sleep(every)
        print(_status_line(fleet), file=out, flush=True)


async def _rich_view(fleet: _Fleet, rows: int) -> None:
    from rich.console import Group
    from rich.live import Live
    from rich.panel import Panel
    from rich.table import Table

    def render() -> Group:
        table = Table(expand=True, show_edge=False, pad_edge=False)
        for column in ("account", "exchange", "state", "orders", "snapshots", "requests"):
            table.add_column(
                column, justify="right" if column in ("orders", "snapshots", "requests") else "left"
            )
        table.add_column("last event")
        statuses = list(fleet.poller.accounts.values())
        for s in statuses[:rows]:
            style = {
                "ok": "green",
                "failing": "yellow",
                "rate_limited": "magenta",
                "stopped": "red",
            }
            table.add_row(
                s.name,
                s.exchange,
                f"[{style.get(s.state.value, 'white')}]{s.state.value}[/]",
                str(s.orders),
                str(s.snapshots),
                str(s.requests),
                s.last_event or "",
            )
        if len(statuses) > rows:
            table.add_row(f"... {len(statuses) - rows} more", "", "", "", "", "", "")
        events = "\n".join(fleet.recent) or "(waiting for the first changes)"
        return Group(
            Panel(_status_line(fleet), title="exchange-async demo"),
            table,
            Panel(events, title="events"),
        )

    with Live(render(), refresh_per_second=4, transient=False) as live:
        while True:
            await asyncio.sleep(0.25)
            live.update(render())


async def run_demo(
    *,
    accounts: int = 20,
    duration: float = 20.0,
    faults: bool = False,
    live: bool | None = None,
    config: SimulatorConfig | None = None,
    out: TextIO = sys.stdout,
) -> DemoReport:
    """Run the demo and return its report (``live=None``: rich view if stdout is a terminal)."""
    config = config or SimulatorConfig()
    if config.mutation_interval is None:
        config.mutation_interval = 1.0
    if config.arrival_log_limit is None:
        # The summary's counters are incremental; a long log would only lengthen GC pauses.
        config.arrival_log_limit = 10_000
    if faults and not config.fault_rate:
        config.fault_rate = 0.03
    sim, fleet_accounts = Simulator.with_demo_fleet(accounts, config)
    async with SimulatorServer(sim) as server:
        poller = Poller(timeout=5.0)
        for account in fleet_accounts:
            if account.exchange == "bitget":
                assert account.passphrase is not None
                poller.add_bitget(
                    account.name,
                    BitgetCredentials(account.api_key, account.secret_key, account.passphrase),
                    base_url=server.base_url,
                    product_types=PRODUCT_TYPES,
                )
            else:
                poller.add_coinw(
                    account.name,
                    CoinWCredentials(account.api_key, account.secret_key),
                    base_url=server.base_url,
                )
        if faults:
            # One key with a wrong secret: its account stops; nobody else notices.
            poller.add_coinw(
                "bad-key", CoinWCredentials("demo-no-such-key", "x"), base_url=server.base_url
            )
        fleet = _Fleet(sim, poller, fleet_accounts)
        gc.freeze()  # the fleet's setup lives for the whole run: keep it out of GC passes
        use_rich = _rich_available() and (live if live is not None else out.isatty())
        async with poller:
            consumer = asyncio.create_task(fleet.consume())
            view = asyncio.create_task(
                _rich_view(fleet, rows=24) if use_rich else _plain_view(fleet, out)
            )
            try:
                await asyncio.sleep(duration)
                seconds = time.monotonic() - fleet.started
                requests, retries = fleet.requests(), fleet.retries()
                # Freeze the data and the faults, let every account catch up, then compare
                # what the events said with what the simulator holds.
                await sim.stop_mutations()
                sim.config.fault_rate = 0.0
                await fleet.settle(within=30.0)
            finally:
                view.cancel()
                await asyncio.gather(view, return_exceptions=True)
            stopped = [s.name for s in poller.accounts.values() if s.state.value == "stopped"]
            checked, lost, invented = fleet.check()
        await consumer
        return DemoReport(
            accounts=len(fleet_accounts),
            seconds=seconds,
            requests=requests,
            retries=retries,
            events=dict(poller.event_counts),
            refused_for_rate=sim.violations(),
            limit_violations=sim.limit_violations(),
            mutations=len(sim.mutations),
            random_faults=sim.random_fault_counts(),
            peak_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            stopped=stopped,
            checked_accounts=checked,
            lost=lost,
            invented=invented,
        )


def _rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def print_report(report: DemoReport, out: TextIO) -> None:
    """The summary printed when the demo ends."""
    events = ", ".join(f"{k} {v}" for k, v in sorted(report.events.items())) or "none"
    faults = ", ".join(f"{k} {v}" for k, v in sorted(report.random_faults.items())) or "none"
    lines = [
        "",
        "summary",
        f"  accounts          {report.accounts} ({report.seconds:.1f}s)",
        f"  requests          {report.requests} ({report.requests_per_second:.1f}/s), "
        f"retries {report.retries}",
        f"  events            {events}",
        f"  simulator changes {report.mutations}; injected faults: {faults}",
        f"  refused for rate  bitget {report.refused_for_rate.get('bitget', 0)}, "
        f"coinw {report.refused_for_rate.get('coinw', 0)}",
        f"  stopped accounts  {', '.join(report.stopped) or 'none'}",
        f"  peak memory       {report.peak_rss_mib:.0f} MiB",
        f"  event check       {report.checked_accounts} accounts: {report.lost} orders lost, "
        f"{report.invented} invented",
        f"  limit violations  {report.limit_violations} (as the simulator counted them)",
    ]
    print("\n".join(lines), file=out)


async def demo_command(args: argparse.Namespace, config: SimulatorConfig) -> int:
    """``exchange-async demo``: exit status 0 when the run had no limit violation."""
    report = await run_demo(
        accounts=args.accounts,
        duration=args.duration,
        faults=args.faults,
        live=False if args.no_live else None,
        config=config,
    )
    print_report(report, sys.stdout)
    healthy = report.limit_violations == 0 and report.lost == 0 and report.invented == 0
    return 0 if healthy else 3
