"""The demo's summary: one report built from the last frame, printed as text or JSON.

JSON keys (stable; ``schema`` changes if they ever do; times in seconds, rates in requests
per second)::

    schema, interrupted, exit_code,
    accounts {total, bitget, coinw, bad_key},
    seconds {total, running, settling},
    requests {total, running, per_second, allowed_per_second, share_of_limits, retries},
    orders {initial, opened, changed, closed},
    events {<event class>: count}, refused_for_rate {bitget, coinw}, limit_violations,
    limits {at_server, paired, at_send, at_handler, arrivals, paired_arrivals, unpaired_sends,
            bunched, sdk_over_limit, transit_median_ms, transit_max_ms, loop_lag_max_ms},
    simulator {mutations, random_faults},
    check {done, accounts, lost, invented, never_synced, not_caught_up},
    stopped {<account>: reason}, warnings [sentence], peak_rss_mib, processes,
    fleet {events_read, duplicates_removed, events_lost, contradictions, killed,
           killed_after_seconds, accounts_moved, polled_again_within_seconds} (or null)

With ``--processes N``, every number adds up the N worker processes (``peak_rss_mib`` too).
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from .frame import Frame, counted
from .tracker import Check
from .verdict import limit_json, limit_lines, sdk_over_limit

if TYPE_CHECKING:
    from .._sim import Pairing

__all__ = ["EXIT_INCOMPLETE", "EXIT_INTERRUPTED", "EXIT_UNHEALTHY", "DemoReport", "names"]

EXIT_UNHEALTHY = 3
"""The SDK sent more than a limit allows, or the events lost or invented orders."""
EXIT_INCOMPLETE = 4
"""Some accounts could not be checked (no snapshot on the frozen data)."""
EXIT_INTERRUPTED = 130
"""Ctrl-C."""


@dataclass
class DemoReport:
    """What the demo measured; printed as the summary and returned for tests."""

    frame: Frame
    """The last frame: the summary's requests, rates, orders and violations."""
    bitget_accounts: int
    coinw_accounts: int
    bad_key: str | None
    events: dict[str, int]
    refused_for_rate: dict[str, int]
    mutations: int
    random_faults: dict[str, int]
    peak_rss_mib: float
    stopped: dict[str, str]
    """Stopped accounts and why."""
    check: Check | None
    """``None`` when interrupted: the data was not frozen, so nothing could be compared."""
    never_synced: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    processes: int = 1
    """Worker processes polling (more than one: limits shared through Redis)."""
    pairing: Pairing | None = None
    """The simulator's arrivals set against the clients' send times (see `verdict`)."""
    fleet: dict[str, Any] | None = None
    """With ``--processes``: the fleet's stream as a consumer read it, and the takeover."""

    @property
    def interrupted(self) -> bool:
        """The run was cut short by Ctrl-C."""
        return self.frame.phase == "interrupted"

    @property
    def accounts(self) -> int:
        """Accounts watched, the bad key included."""
        return self.bitget_accounts + self.coinw_accounts + (self.bad_key is not None)

    @property
    def unchecked(self) -> list[str]:
        """Accounts the check should have covered and did not (the bad key excepted)."""
        late = self.check.not_caught_up if self.check else []
        stopped = [name for name in self.stopped if name != self.bad_key]
        return sorted({*self.never_synced, *late, *stopped})

    @property
    def exit_code(self) -> int:
        """0 healthy, 3 the SDK exceeded a limit or orders were lost/invented, 4 incomplete,
        130 Ctrl-C."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        check = self.check or Check()
        lost = (self.fleet or {}).get("events_lost", 0)
        if sdk_over_limit(self.frame.violations, self.pairing) or check.lost or check.invented:
            return EXIT_UNHEALTHY
        if lost:
            return EXIT_UNHEALTHY
        return EXIT_INCOMPLETE if self.unchecked else 0

    def to_json(self) -> dict[str, Any]:
        """The summary as plain data with the module's stable keys."""
        f, check = self.frame, self.check
        return {
            "schema": 1,
            "interrupted": self.interrupted,
            "exit_code": self.exit_code,
            "accounts": {
                "total": self.accounts,
                "bitget": self.bitget_accounts,
                "coinw": self.coinw_accounts,
                "bad_key": self.bad_key,
            },
            "seconds": {
                "total": round(f.elapsed, 3),
                "running": round(f.run_seconds, 3),
                "settling": round(f.settle_seconds, 3),
            },
            "requests": {
                "total": f.requests,
                "running": f.run_requests,
                "per_second": None if f.rate is None else round(f.rate, 2),
                "allowed_per_second": f.allowed,
                "share_of_limits": None if f.rate_share is None else round(f.rate_share, 3),
                "retries": f.retries,
            },
            "orders": {k: f.orders.get(k, 0) for k in ("initial", "opened", "changed", "closed")},
            "events": dict(sorted(self.events.items())),
            "refused_for_rate": {k: self.refused_for_rate.get(k, 0) for k in ("bitget", "coinw")},
            "limit_violations": f.violations,
            "limits": limit_json(f.violations, self.pairing),
            "simulator": {"mutations": self.mutations, "random_faults": self.random_faults},
            "check": {
                "done": check is not None,
                "accounts": check.checked if check else 0,
                "lost": check.lost if check else 0,
                "invented": check.invented if check else 0,
                "never_synced": self.never_synced,
                "not_caught_up": check.not_caught_up if check else [],
            },
            "stopped": self.stopped,
            "warnings": self.warnings,
            "peak_rss_mib": round(self.peak_rss_mib, 1),
            "processes": self.processes,
            "fleet": self.fleet,
        }

    def print_json(self, out: TextIO) -> None:
        """The summary as one JSON object."""
        print(json.dumps(self.to_json()), file=out, flush=True)

    def print_text(self, out: TextIO, width: int = 100) -> None:
        """The summary for people, wrapped at ``width``, warnings last."""
        for line in self._lines():
            print(textwrap.fill(line, width, subsequent_indent=" " * 20) or "", file=out)
        for warning in self.warnings:
            print(f"\n{textwrap.fill(f'WARNING: {warning}', width)}", file=out)
        out.flush()

    def _lines(self) -> list[str]:
        f = self.frame
        events = self._events_text()
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.random_faults.items())) or "none"
        bad = f" + 1 CoinW with a bad key ({self.bad_key})" if self.bad_key else ""
        stopped = ", ".join(f"{k} ({v})" for k, v in self.stopped.items())
        refused = self.refused_for_rate
        processes = (
            [f"  processes         {self.processes}, rate limits shared through Redis"]
            if self.processes > 1
            else []
        ) + _fleet_lines(self.fleet)
        return [
            "",
            "summary (INTERRUPTED: the numbers so far)" if self.interrupted else "summary",
            f"  time              {f.clock()}",
            f"  accounts          {self.accounts}: {self.bitget_accounts} Bitget, "
            f"{self.coinw_accounts} CoinW{bad}",
            *processes,
            f"  requests          {f.requests_text().removeprefix('requests ')}; {f.rate_text()}",
            f"  orders            {f.orders.get('initial', 0)} in first snapshots; during the "
            f"run {f.orders.get('opened', 0)} opened, {f.orders.get('changed', 0)} changed, "
            f"{f.orders.get('closed', 0)} closed",
            f"  events            {events}",
            f"  simulator changes {self.mutations}; injected faults: {faults}",
            f"  refused for rate  bitget {refused.get('bitget', 0)}, "
            f"coinw {refused.get('coinw', 0)}",
            f"  stopped accounts  {stopped or 'none'}",
            f"  peak memory       {self.peak_rss_mib:.0f} MiB",
            f"  event check       {self._check_text()}",
            *limit_lines(f.violations, self.pairing),
        ]

    def _events_text(self) -> str:
        """Events by class; the ``OrderOpened`` of first snapshots (initial orders) apart."""
        initial = self.frame.orders.get("initial", 0)
        parts = []
        for name, count in sorted(self.events.items()):
            if name == "OrderOpened" and initial:
                parts.append(f"OrderOpened {count - initial} + {initial} initial")
            else:
                parts.append(f"{name} {count}")
        return ", ".join(parts) or "none"

    def _check_text(self) -> str:
        if self.check is None:
            return "skipped (interrupted before the data was frozen and re-read)"
        c = self.check
        lost = counted(c.lost, "order")
        text = f"{counted(c.checked, 'account')}: {lost} lost, {c.invented} invented"
        missing = self.unchecked
        if missing:
            text += f"; NOT CHECKED {len(missing)}: {names(missing)}"
        return text


def _fleet_lines(fleet: dict[str, Any] | None) -> list[str]:
    """The fleet's lines of the summary: its stream as a consumer read it, the takeover."""
    if not fleet:
        return []
    lines = [
        f"  fleet stream      {fleet['events_read']} events read by a consumer group: "
        f"{fleet['duplicates_removed']} duplicates removed (by event_id), "
        f"{fleet['events_lost']} lost"
    ]
    if fleet.get("killed"):
        within = fleet["polled_again_within_seconds"]
        again = f"polled again within {within:g} s" if within is not None else "NOT polled again"
        lines.append(
            f"  takeover          {fleet['killed']} killed after {fleet['killed_after_seconds']:g} "
            f"s; its {counted(fleet['accounts_moved'], 'account')} {again} by the others"
        )
    return lines


def names(accounts: list[str], most: int = 6) -> str:
    """``a, b, c and 4 more``."""
    shown = ", ".join(accounts[:most])
    return shown + (f" and {len(accounts) - most} more" if len(accounts) > most else "")
