"""Rendering orders for the terminal: an aligned table, or one JSON object per line."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TextIO

import msgspec

__all__ = ["print_json_lines", "print_table"]

_encoder = msgspec.json.Encoder()


def print_json_lines(rows: Iterable[msgspec.Struct], out: TextIO) -> int:
    """Write each struct as one JSON line (``Decimal`` as strings, ids as exact ints)."""
    count = 0
    for row in rows:
        out.write(_encoder.encode(row).decode())
        out.write("\n")
        count += 1
    return count


def print_table(rows: Sequence[Any], columns: Sequence[tuple[str, str]], out: TextIO) -> None:
    """An aligned text table of ``rows``; ``columns`` are (header, attribute name)."""
    cells = [[_cell(getattr(row, attr)) for _, attr in columns] for row in rows]
    headers = [header for header, _ in columns]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    out.write("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip() + "\n")
    for r in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")


def _cell(value: object) -> str:
    return "-" if value is None else str(value)
