"""Reading the query of a private Bitget call: what every copy-trading endpoint checks alike.

Each reader raises :class:`~exchange_async_sim.wire.Refusal` with Bitget's code 40017
("Parameter verification failed") naming the parameter, as Bitget does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .wire import Incoming, Refusal

__all__ = [
    "PRODUCT_TYPES",
    "PrivateCall",
    "bad_param",
    "cursor",
    "int_param",
    "limit_param",
    "optional",
    "product_type",
    "time_range",
]

PRODUCT_TYPES = frozenset({"USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES"})
"""The ``productType`` values Bitget accepts (in any case)."""

_INTEGER = re.compile(r"-?[0-9]{1,19}")
_CURSOR = re.compile(r"[1-9][0-9]{0,18}")


@dataclass(frozen=True, slots=True)
class PrivateCall:
    """What a private endpoint gets besides the account and the query."""

    incoming: Incoming
    repeat_cursor: bool = False


def bad_param(name: str) -> Refusal:
    """Bitget's refusal of a bad ``name`` parameter."""
    return Refusal("40017", f"Parameter verification failed {name}")


def optional(query: Mapping[str, str], name: str) -> str | None:
    """The parameter, ``None`` when absent or empty."""
    value = query.get(name, "")
    return value or None


def int_param(query: Mapping[str, str], name: str) -> int | None:
    """An optional integer parameter (at most 19 digits)."""
    value = optional(query, name)
    if value is None:
        return None
    if not _INTEGER.fullmatch(value):
        raise bad_param(name)
    return int(value)


def product_type(query: Mapping[str, str]) -> str:
    """The required ``productType``, upper case."""
    value = optional(query, "productType")
    if value is None or value.upper() not in PRODUCT_TYPES:
        raise bad_param("productType")
    return value.upper()


def limit_param(query: Mapping[str, str], most: int, default: int = 20) -> int:
    """``limit``: ``default`` when absent, refused outside ``1..most``."""
    limit = int_param(query, "limit")
    if limit is None:
        return default
    if not 1 <= limit <= most:
        raise bad_param("limit")
    return limit


def time_range(query: Mapping[str, str]) -> tuple[int | None, int | None]:
    """(``startTime``, ``endTime``) in ms; refused when the start is after the end."""
    start = int_param(query, "startTime")
    end = int_param(query, "endTime")
    if start is not None and end is not None and start > end:
        raise bad_param("startTime")
    return start, end


def cursor(
    issued: Mapping[int, tuple[int, int]], query: Mapping[str, str], name: str
) -> tuple[int, int] | None:
    """The row position a cursor parameter stands for; only cursors in ``issued`` (those this
    server handed out) are accepted."""
    value = optional(query, name)
    if value is None:
        return None
    position = issued.get(int(value)) if _CURSOR.fullmatch(value) else None
    if position is None:
        raise bad_param(name)
    return position
