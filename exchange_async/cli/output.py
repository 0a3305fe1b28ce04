"""Rendering orders for the terminal: a readable table, or one JSON object per line.

Tables trim decimals (``1263.0000000000000000`` -> ``1263``), show times as ISO 8601 in UTC
and drop the least useful columns until every row fits the width (a footer names them);
``raw=True`` keeps the wire values and every column. JSON lines use the models' field names
(snake_case) for every command: ids and millisecond times are exact JSON integers (or
strings where the model holds a string), decimals are strings, never floats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TextIO

import msgspec

__all__ = [
    "COINW_COLUMNS",
    "TRACKING_COLUMNS",
    "Column",
    "format_decimal",
    "format_ms",
    "print_json_lines",
    "print_table",
]

_encoder = msgspec.json.Encoder()


@dataclass(frozen=True)
class Column:
    """One table column: its header, the cell text of a row, and its rank (1 = kept last)."""

    header: str
    cell: Callable[[Any, bool], str]
    """``cell(row, raw)``: the text of this column for ``row``."""
    rank: int
    """Columns of the highest rank are hidden first when rows are too wide; rank 1 never."""


def format_decimal(value: Decimal) -> str:
    """A decimal without trailing zeros or exponent: ``1263.0000`` -> ``1263``."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def format_ms(value: int) -> str:
    """Unix milliseconds as ISO 8601 in UTC, to the second: ``2026-01-01T12:00:00Z``."""
    try:
        moment = datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return str(value)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _field(name: str, *, time: bool = False) -> Callable[[Any, bool], str]:
    def cell(row: Any, raw: bool) -> str:
        value = getattr(row, name)
        if value is None:
            return "-"
        if raw:
            return str(value)
        if isinstance(value, Decimal):
            return format_decimal(value)
        if time and isinstance(value, int):
            return format_ms(value)
        return str(value)

    return cell


_COINW_UNITS = {0: "USDT", 1: "cont", 2: ""}
"""CoinW ``quantityUnit``: 0 quote currency (USDT), 1 contracts, 2 base currency."""


def _coinw_quantity(row: Any, raw: bool) -> str:
    if raw:
        return str(row.quantity)
    unit = _COINW_UNITS.get(row.quantity_unit, f"unit {row.quantity_unit}")
    return f"{format_decimal(row.quantity)} {unit or row.instrument}"


def _leverage(name: str) -> Callable[[Any, bool], str]:
    def cell(row: Any, raw: bool) -> str:
        value = getattr(row, name)
        return str(value) if raw else f"{format_decimal(value)}x"

    return cell


TRACKING_COLUMNS: tuple[Column, ...] = (
    Column("trackingNo", _field("tracking_no"), 1),
    Column("symbol", _field("symbol"), 1),
    Column("side", _field("pos_side"), 1),
    Column("lev", _leverage("open_leverage"), 3),
    Column("price", _field("open_price_avg"), 1),
    Column("size", _field("open_size"), 1),
    Column("TP", _field("preset_stop_surplus_price"), 4),
    Column("SL", _field("preset_stop_loss_price"), 4),
    Column("fee", _field("open_fee"), 6),
    Column("followers", _field("follow_count"), 5),
    Column("openTime (UTC)", _field("open_time", time=True), 2),
)
"""The ``tracking-orders`` table (``TrackingOrder`` fields)."""

COINW_COLUMNS: tuple[Column, ...] = (
    Column("id", _field("id"), 1),
    Column("instrument", _field("instrument"), 1),
    Column("dir", _field("direction"), 1),
    Column("posType", _field("pos_type"), 5),
    Column("status", _field("order_status"), 2),
    Column("price", _field("order_price"), 1),
    Column("quantity", _coinw_quantity, 1),
    Column("lev", _leverage("leverage"), 3),
    Column("trigger", _field("trigger_price"), 4),
    Column("created (UTC)", _field("created_date", time=True), 2),
)
"""The ``coinw-orders`` table (``OrderInfo`` fields)."""

_RAW_COINW_EXTRA = Column("unit", _field("quantity_unit"), 1)


def print_json_lines(rows: Iterable[msgspec.Struct], out: TextIO) -> int:
    """Write each model as one JSON line keyed by its field names (snake_case)."""
    count = 0
    for row in rows:
        out.write(_encoder.encode(msgspec.structs.asdict(row)).decode())
        out.write("\n")
        count += 1
    return count


def print_table(
    rows: Sequence[Any],
    columns: Sequence[Column],
    out: TextIO,
    *,
    width: int = 100,
    raw: bool = False,
) -> list[str]:
    """An aligned table of ``rows`` at most ``width`` wide; returns the hidden headers.

    ``raw``: wire values and every column, whatever the width.
    """
    if raw and columns is COINW_COLUMNS:
        columns = (*columns, _RAW_COINW_EXTRA)
    shown = list(columns)
    cells = {id(c): [c.cell(row, raw) for row in rows] for c in columns}

    def widths() -> list[int]:
        return [max([len(c.header), *map(len, cells[id(c)])]) for c in shown]

    hidden: list[str] = []
    while not raw and sum(widths()) + 2 * (len(shown) - 1) > width:
        rank = max(c.rank for c in shown)  # columns of one rank go together (TP and SL)
        if rank == 1:
            break
        hidden += [c.header for c in shown if c.rank == rank]
        shown = [c for c in shown if c.rank != rank]
    sizes = widths()
    out.write(_line([c.header for c in shown], sizes))
    for index in range(len(rows)):
        out.write(_line([cells[id(c)][index] for c in shown], sizes))
    return hidden


def _line(texts: Sequence[str], sizes: Sequence[int]) -> str:
    return "  ".join(t.ljust(w) for t, w in zip(texts, sizes, strict=True)).rstrip() + "\n"
