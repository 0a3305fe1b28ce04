"""The demo's live view with ``rich`` (the ``demo`` extra): a header, the accounts (problems
first, with their reason) and the latest events, fitted to the terminal's height and width.

Imported only when ``rich`` is installed; the SDK itself never imports it.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ... import Event
from .frame import AccountRow, Frame

__all__ = ["LiveView", "render"]

_STYLE = {
    "ok": "green",
    "failing": "yellow",
    "rate_limited": "magenta",
    "starting": "cyan",
    "stopped": "bold red",
}
_HEADER_LINES = 6
"""The header panel: four lines of numbers and two borders."""
_TABLE_CHROME = 2
"""The table's header row and the rule under it."""


def _line(text: str, style: str = "") -> Text:
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def _event_lines(frame: Frame, height: int) -> int:
    """How many of the latest events to show: a quarter of the spare height, 1 to 8."""
    return max(1, min(8, (height - 12) // 3))


def render(frame: Frame, width: int, height: int) -> RenderableType:
    """The whole view for a terminal of ``width`` x ``height``: never taller than
    ``height - 1`` lines (the cursor's line) nor wider than ``width``. Rows that do not fit
    are counted in a ``+N more`` line; a very small terminal drops the events panel."""
    events = _event_lines(frame, height)
    notes = [_line(f"! {note}", "bold yellow") for note in frame.notes][: max(0, height - 12)]
    spare = height - 1 - _HEADER_LINES - len(notes) - _TABLE_CHROME - (events + 2)
    if spare < 3:  # a small terminal: the accounts matter more than the latest events
        spare, events = spare + events + 2, 0
    header = Panel(
        Group(
            _line(f"{frame.clock()}   violations {frame.violations}"),
            _line(f"{frame.rate_text()}   {frame.requests_text()}"),
            _line(frame.orders_text()),
            _line(frame.accounts_text()),
        ),
        title="exchange-async demo",
        title_align="left",
        border_style="red" if frame.violations else "blue",
    )
    parts: list[RenderableType] = [header, *notes, _accounts_table(frame, spare, width)]
    if events:
        recent = list(frame.recent)[-events:] or ["(waiting for the first changes)"]
        parts.append(Panel(Group(*(_line(e) for e in recent)), title="events", title_align="left"))
    return Group(*parts)


_COLUMNS = (  # name, width (0: the names'), right-aligned, drop order when narrow (0: never)
    ("account", 0, False, 0),
    ("exch", 6, False, 3),
    ("state", 12, False, 0),
    ("orders", 6, True, 2),
    ("snaps", 5, True, 4),
    ("reqs", 6, True, 1),
)
_MIN_REASON = 24
"""Columns are dropped until the reason column gets this many characters."""


def _columns(frame: Frame, width: int) -> list[tuple[str, int, bool]]:
    """The columns that fit ``width`` with room for the reason, in display order."""
    names = max((len(r.name) for r in frame.rows), default=7)
    columns = [(n, w or min(max(7, names), 16), r, d) for n, w, r, d in _COLUMNS]
    while width - sum(c[1] + 2 for c in columns) < _MIN_REASON:
        drop = max(columns, key=lambda c: c[3])
        if not drop[3]:
            break
        columns.remove(drop)
    return [(n, w, r) for n, w, r, _ in columns]


def _cell(row: AccountRow, column: str) -> str | Text:
    if column == "state":
        return Text(row.state.replace("_", "-"), style=_STYLE.get(row.state, ""))
    value = {"account": row.name, "exch": row.exchange, "orders": row.orders}.get(column)
    if value is None:
        value = row.snapshots if column == "snaps" else row.requests
    return str(value)


def _accounts_table(frame: Frame, room: int, width: int) -> Table:
    """The accounts in at most ``room`` lines, the last one ``+N more`` when they do not fit."""
    table = Table(
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
        expand=True,
    )
    columns = _columns(frame, width)
    for name, size, right in columns:
        table.add_column(
            name,
            width=size,
            justify="right" if right else "left",
            no_wrap=True,
            overflow="ellipsis",
        )
    table.add_column("reason / last event", no_wrap=True, overflow="ellipsis", ratio=1)
    total = sum(frame.states.values())
    shown = total if total <= room else max(0, room - 1)
    for row in frame.rows[:shown]:
        note_style = "dim" if row.state == "ok" else _STYLE.get(row.state, "")
        cells = [_cell(row, name) for name, _, _ in columns]
        table.add_row(*cells, Text(row.note, style=note_style))
    hidden = total - min(shown, len(frame.rows))
    if hidden > 0 and room > 0:
        table.add_row(Text(f"+{hidden} more", style="dim"), *[""] * len(columns))
    return table


class LiveView:
    """Redraws the frame in place on ``console`` (a terminal), sized on every update."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = Live(
            console=console, auto_refresh=False, transient=False, vertical_overflow="crop"
        )

    def start(self, opening: str) -> None:
        """Print the opening line and start drawing."""
        self.console.print(Text(opening, no_wrap=True, overflow="ellipsis"))
        self.live.start()

    def update(self, frame: Frame) -> None:
        """Redraw with ``frame``."""
        width, height = self.console.size
        self.live.update(render(frame, width, height), refresh=True)

    def event(self, event: Event) -> None:
        """Events show in the frame's panel; nothing to do per event."""

    def stop(self, final: Frame) -> None:
        """Draw the last frame (the summary's numbers) and leave it on the screen."""
        self.update(final)
        self.live.stop()
