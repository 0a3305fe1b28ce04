"""Running the demo: the simulator and its fleet, the poller, the phases, Ctrl-C.

Phases: *running* (``duration`` seconds: orders open, change and close, faults if asked),
then *settling* (the data frozen and faults off, at most ``settle`` seconds, until every
account has completed a snapshot of the frozen data), then the check and the summary.
Ctrl-C at any moment ends the run with the summary so far, marked interrupted.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import resource
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TextIO

from ... import BitgetCredentials, CoinWCredentials, Event, Fleet, Poller
from ..._core.limits import Limiter
from ..._core.transport.lean import LeanTransport
from .. import _sim
from .advice import coverage_warnings, live_notes
from .frame import Frame, counted
from .plain import PlainView
from .report import DemoReport
from .sends import SendLog
from .tracker import Check, Tracker

if TYPE_CHECKING:
    from .._sim import FleetAccount, Simulator, SimulatorConfig

__all__ = ["BAD_KEY", "NO_RICH", "DemoOptions", "run_demo"]

PRODUCT_TYPES = ("USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES")
BAD_KEY = "bad-key"
"""With ``faults``: the name of the CoinW account whose secret is wrong (it stops)."""
NO_RICH = f"the live view needs rich ({_sim.install_hint('demo')}); showing status lines instead"


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """How to run the demo (the ``demo`` command's options)."""

    accounts: int = 20
    """Accounts watched, half Bitget and half CoinW; with ``faults`` one has a bad key."""
    duration: float = 20.0
    """Seconds of changing data."""
    settle: float = 15.0
    """At most this many seconds for every account to catch up with the frozen data."""
    faults: bool = False
    """Random faults (3 % unless the config says otherwise) and one bad key."""
    live: bool | None = None
    """The ``rich`` live view; ``None``: when the view's stream is a terminal."""
    events: bool = False
    """Status-lines view: print every event too."""
    view_to_stderr: bool = False
    """Draw the view on stderr (stdout is kept for a JSON summary)."""


class View(Protocol):
    """What the demo draws on: the live view or status lines."""

    def start(self, opening: str) -> None: ...
    def update(self, frame: Frame) -> None: ...
    def event(self, event: Event) -> None: ...
    def stop(self, final: Frame) -> None: ...


def _demo_config(config: SimulatorConfig | None, faults: bool) -> SimulatorConfig:
    config = config if config is not None else _sim.load_simulator().SimulatorConfig()
    if config.mutation_interval is None:
        config.mutation_interval = 1.0
    if config.arrival_log_limit is None:
        # The summary's counters are incremental; a long log would only lengthen GC pauses.
        config.arrival_log_limit = 10_000
    if faults and not config.fault_rate:
        config.fault_rate = 0.03
    return config


def make_view(options: DemoOptions, out: TextIO, err: TextIO) -> tuple[View, str | None]:
    """The view to draw on, and a note to print when the live view cannot be had."""
    stream = err if options.view_to_stderr else out
    live = options.live if options.live is not None else stream.isatty()
    if not live:
        return PlainView(stream, events=options.events), None
    try:
        from rich.console import Console

        from .live import LiveView
    except ImportError:
        return PlainView(stream, events=options.events), NO_RICH
    return LiveView(Console(file=stream)), None


def _poller(
    fleet: list[FleetAccount],
    base_url: str,
    *,
    bad_key: bool,
    rate_limits: str | Limiter | None = None,
    sends: SendLog | None = None,
    member: Fleet | None = None,
) -> Poller:
    """A poller over ``fleet`` (limits in-process, or shared through ``rate_limits``),
    sending through ``sends`` (it stays open when the poller closes); with ``member`` (an
    `ea.Fleet`), one worker of that fleet."""
    poller = Poller(timeout=5.0, rate_limits=rate_limits, transport=sends, fleet=member)
    for account in fleet:
        if account.exchange == "bitget":
            assert account.passphrase is not None
            credentials = BitgetCredentials(account.api_key, account.secret_key, account.passphrase)
            poller.add_bitget(
                account.name, credentials, base_url=base_url, product_types=PRODUCT_TYPES
            )
        else:
            poller.add_coinw(
                account.name,
                CoinWCredentials(account.api_key, account.secret_key),
                base_url=base_url,
            )
    if bad_key:  # a wrong secret: the account stops, nobody else notices
        poller.add_coinw(BAD_KEY, CoinWCredentials("demo-no-such-key", "x"), base_url=base_url)
    return poller


def _opening(fleet: list[FleetAccount], options: DemoOptions, base_url: str) -> str:
    bitget = sum(1 for a in fleet if a.exchange == "bitget")
    bad = " + 1 CoinW with a bad key" if options.faults else ""
    return (
        f"exchange-async demo: {counted(options.accounts, 'account')} ({bitget} Bitget, "
        f"{len(fleet) - bitget} CoinW{bad}) on a simulator at {base_url}: "
        f"{options.duration:g} s of changing data, then up to {options.settle:g} s settling. "
        "Ctrl-C ends early with a summary."
    )


async def run_demo(
    options: DemoOptions | None = None,
    config: SimulatorConfig | None = None,
    *,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> DemoReport:
    """Run the demo, drawing on ``out`` (or ``err``), and return its report."""
    options = options or DemoOptions()
    module = _sim.load_simulator()
    fleet_size = options.accounts - 1 if options.faults else options.accounts
    sim, fleet = module.Simulator.with_demo_fleet(fleet_size, _demo_config(config, options.faults))
    view, note = make_view(options, out, err)
    if note:
        print(f"exchange-async demo: {note}", file=err, flush=True)
    sim.referee.keep = True  # the summary pairs its arrivals with the clients' sends
    sends = SendLog(LeanTransport())
    async with module.SimulatorServer(sim) as server:
        poller = _poller(fleet, server.base_url, bad_key=options.faults, sends=sends)
        tracker = Tracker(
            sim, poller, fleet, duration=options.duration, settle_limit=options.settle
        )
        gc.freeze()  # the fleet's setup lives for the whole run: keep it out of GC passes
        try:
            async with poller:
                consumer = asyncio.create_task(tracker.consume())
                opening = _opening(fleet, options, server.base_url)
                report = await _watch(tracker, view, opening, sends)
            await consumer
        finally:
            await sends.aclose()
    return report


async def _watch(tracker: Tracker, view: View, opening: str, sends: SendLog) -> DemoReport:
    """Run the phases with the view drawing; stop the view whatever happens."""
    tracker.on_event = view.event
    stop = asyncio.Event()
    view.start(opening)
    tracker.start()
    ticker = asyncio.create_task(_tick(tracker, view))
    interrupted = True
    try:
        with _sigint_sets(stop):
            interrupted = await _phases(tracker, stop)
    finally:
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
        final = tracker.finish(interrupted=interrupted)
        report = _report(tracker, final, None if interrupted else tracker.check())
        report.pairing = tracker.sim.referee.pair(sends.by_scope(tracker.fleet))
        if not report.interrupted:
            report.warnings = coverage_warnings(tracker, report)
        view.stop(final)
    return report


async def _tick(tracker: Tracker, view: View, every: float = 0.25) -> None:
    while True:
        tracker.sample()
        frame = tracker.frame()
        view.update(dataclasses.replace(frame, notes=live_notes(tracker, frame)))
        await asyncio.sleep(every)


async def _phases(tracker: Tracker, stop: asyncio.Event) -> bool:
    """Run, then settle; True when Ctrl-C cut it short."""
    if await _wait(stop, tracker.duration):
        return True
    # Freeze the data and the faults, let every account catch up, then compare what the
    # events said with what the simulator holds.
    await tracker.sim.stop_mutations()
    tracker.sim.config.fault_rate = 0.0
    tracker.freeze()
    deadline = time.monotonic() + tracker.settle_limit
    while tracker.waiting():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        if await _wait(stop, min(0.1, remaining)):
            return True
    return False


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds`` or until ``event`` is set; True when it was."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True


@contextmanager
def _sigint_sets(stop: asyncio.Event) -> Iterator[None]:
    """The first Ctrl-C sets ``stop`` (the summary follows); a second one interrupts at once."""
    loop = asyncio.get_running_loop()

    def on_sigint() -> None:
        stop.set()
        loop.remove_signal_handler(signal.SIGINT)

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def _report(tracker: Tracker, final: Frame, check: Check | None) -> DemoReport:
    """The report of the moment ``final`` was taken."""
    sim: Simulator = tracker.sim
    statuses = tracker.poller.accounts
    bad_key = BAD_KEY if BAD_KEY in statuses else None
    stopped = {n: s.last_error or "stopped" for n, s in statuses.items() if s.state == "stopped"}
    never = [n for n, s in statuses.items() if not s.snapshots and s.state != "stopped"]
    bitget = sum(1 for a in tracker.fleet if a.exchange == "bitget")
    return DemoReport(
        frame=final,
        bitget_accounts=bitget,
        coinw_accounts=len(tracker.fleet) - bitget,
        bad_key=bad_key,
        events=dict(tracker.poller.event_counts),
        refused_for_rate=sim.violations(),
        mutations=len(sim.mutations),
        random_faults=sim.random_fault_counts(),
        peak_rss_mib=_peak_rss_mib(),
        stopped=stopped,
        check=check,
        never_synced=sorted(never),
    )


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)  # bytes on macOS
