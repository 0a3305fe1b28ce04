"""What the demo says when something kept its check from covering every account: which
accounts, why (most often Bitget's per-IP cap), and what to do about it."""

from __future__ import annotations

import math

from ... import AccountStatus
from .frame import Frame, counted
from .report import DemoReport, names
from .tracker import BITGET_PER_ACCOUNT, BITGET_PER_IP, Tracker
from .verdict import limit_warning

__all__ = ["coverage_warnings", "live_notes", "starved_warning"]

DEFAULT_PER_SNAPSHOT = 5.0
"""Requests per Bitget snapshot assumed before any snapshot completed."""


def _capped(bitget_accounts: int) -> bool:
    """Whether these Bitget accounts together want more than the per-IP limit."""
    return bitget_accounts * BITGET_PER_ACCOUNT > BITGET_PER_IP


def _per_snapshot(statuses: list[AccountStatus]) -> float:
    """Average requests per completed snapshot of these accounts."""
    snapshots = sum(s.snapshots for s in statuses)
    if not snapshots:
        return DEFAULT_PER_SNAPSHOT
    return max(1.0, sum(s.requests for s in statuses if s.snapshots) / snapshots)


def starved_warning(starved: int, bitget: int, per_snapshot: float, duration: float) -> str:
    """Why Bitget accounts never finished a first snapshot (the per-IP cap), and what to do."""
    round_seconds = bitget * per_snapshot / BITGET_PER_IP
    fits = max(1, math.floor(duration * BITGET_PER_IP / per_snapshot / 2))
    return (
        f"{starved} of {bitget} Bitget accounts never completed a first snapshot, so the "
        f"event check could not cover them. Bitget allows {BITGET_PER_IP:g} requests/s per IP "
        f"(6,000 per minute) for all the accounts behind one address: "
        f"{BITGET_PER_IP / bitget:.2g} req/s each here, and a snapshot takes about "
        f"{per_snapshot:.1f} requests, so one snapshot of every Bitget account takes about "
        f"{round_seconds:.0f} s. Run longer (--duration {math.ceil(3 * round_seconds)}), "
        f"watch at most about {fits} Bitget accounts per IP for --duration {duration:g} "
        f"(--accounts {2 * fits}), or spread the accounts over several egress IPs."
    )


def coverage_warnings(tracker: Tracker, report: DemoReport) -> list[str]:
    """Sentences for the end of the summary; empty when the check covered everything."""
    statuses = tracker.poller.accounts
    bitget = [statuses[a.name] for a in tracker.fleet if a.exchange == "bitget"]
    warnings: list[str] = []
    never = list(report.never_synced)
    starved = [s.name for s in bitget if s.name in never]
    if starved and _capped(len(bitget)):
        warnings.append(
            starved_warning(len(starved), len(bitget), _per_snapshot(bitget), tracker.duration)
        )
        never = [n for n in never if n not in starved]
    if never:
        reasons = "; ".join(f"{n}: {statuses[n].last_error}" for n in never[:3] if n in statuses)
        warnings.append(
            f"{counted(len(never), 'account')} never completed a first snapshot, so the event "
            f"check could not cover them: {names(never)}" + (f" ({reasons})" if reasons else "")
        )
    late = report.check.not_caught_up if report.check else []
    if late:
        settle = tracker.settle_limit
        warnings.append(
            f"{counted(len(late), 'account')} completed no snapshot of the frozen data within the "
            f"{settle:g} s settling phase, so the event check skipped them: {names(late)}. "
            f"Give them longer (--settle {math.ceil(2 * settle)}) or watch fewer accounts."
        )
    stopped = {n: r for n, r in report.stopped.items() if n != report.bad_key}
    if stopped:
        warnings.append(
            f"{counted(len(stopped), 'account')} stopped and were not checked: "
            + "; ".join(f"{n} ({r})" for n, r in list(stopped.items())[:3])
        )
    return warnings + _failures(report)


def _failures(report: DemoReport) -> list[str]:
    warnings = []
    over = limit_warning(report.frame.violations, report.pairing)
    if over:
        warnings.append(over)
    check = report.check
    if check and (check.lost or check.invented):
        warnings.append(
            f"the events disagree with the simulator: {counted(check.lost, 'order')} lost, "
            f"{check.invented} invented (please report this)."
        )
    return warnings


def live_notes(tracker: Tracker, frame: Frame) -> tuple[str, ...]:
    """Short warnings for the live view while running."""
    if frame.phase != "running" or frame.run_seconds < 8 or not frame.unsynced:
        return ()
    statuses = tracker.poller.accounts
    bitget = [statuses[a.name] for a in tracker.fleet if a.exchange == "bitget"]
    starved = sum(1 for s in bitget if not s.snapshots and s.state != "stopped")
    if starved and _capped(len(bitget)):
        return (
            f"{starved} Bitget accounts still without a first snapshot: {len(bitget)} accounts "
            f"share Bitget's {BITGET_PER_IP:g} req/s per-IP limit",
        )
    return (f"{counted(frame.unsynced, 'account')} still without a first snapshot",)
