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
from .frame import Frame

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
    ``height - 1`` lines (the cursor's line) nor wider than ``width``."""
    events = _event_lines(frame, height)
    notes = [_line(f"! {note}", "bold yellow") for note in frame.notes][: max(0, height - 12)]
    spare = height - 1 - _HEADER_LINES - len(notes) - _TABLE_CHROME - (events + 2)
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
    recent = list(frame.recent)[-events:] or ["(waiting for the first changes)"]
    return Group(
        header,
        *notes,
        _accounts_table(frame, spare),
        Panel(Group(*(_line(e) for e in recent)), title="events", title_align="left"),
    )


def _accounts_table(frame: Frame, room: int) -> Table:
    """The accounts in at most ``room`` lines, the last one ``+N more`` when they do not fit."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=True)
    for name, right in (
        ("account", False),
        ("exch", False),
        ("state", False),
        ("orders", True),
        ("snaps", True),
        ("reqs", True),
    ):
        table.add_column(
            name, justify="right" if right else "left", no_wrap=True, overflow="ellipsis"
        )
    table.add_column("reason / last event", no_wrap=True, overflow="ellipsis", ratio=1)
    total = sum(frame.states.values())
    shown = total if total <= room else max(0, room - 1)
    for row in frame.rows[:shown]:
        style = _STYLE.get(row.state, "")
        table.add_row(
            row.name,
            row.exchange,
            Text(row.state.replace("_", "-"), style=style),
            str(row.orders),
            str(row.snapshots),
            str(row.requests),
            Text(row.note, style=style if row.state != "ok" else "dim"),
        )
    hidden = total - min(shown, len(frame.rows))
    if hidden > 0 and room > 0:
        table.add_row(Text(f"+{hidden} more", style="dim"), "", "", "", "", "", "")
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
