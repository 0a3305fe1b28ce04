"""Argument checks shared by the exchange clients; each raises `ValidationError` early."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from .._errors import ValidationError

__all__ = ["check_choice", "check_choices", "check_int_range", "check_token", "to_ms"]

E = TypeVar("E", bound=StrEnum)

_TOKEN = re.compile(r"[A-Za-z0-9_\-.]+\Z")


def check_choice(name: str, value: object, enum: type[E], *, case_insensitive: bool) -> E:
    """``value`` as a member of ``enum``, accepting the member itself or its wire string."""
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        wanted = value.strip()
        for member in enum:
            if member.value == wanted or (
                case_insensitive and member.value.lower() == wanted.lower()
            ):
                return member
    allowed = ", ".join(m.value for m in enum)
    raise ValidationError(f"{name} must be one of {allowed}; got {value!r}")


def check_choices(name: str, values: Iterable[object], enum: type[E]) -> list[E]:
    """A non-empty list of distinct members of ``enum`` (any case), in the order given."""
    if isinstance(values, str):
        values = [values]
    members = [check_choice(name, v, enum, case_insensitive=True) for v in values]
    if not members:
        raise ValidationError(f"{name} must not be empty")
    return list(dict.fromkeys(members))


def check_int_range(name: str, value: object, low: int, high: int) -> int:
    """An ``int`` (not a bool) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be an int; got {type(value).__name__}")
    if not low <= value <= high:
        raise ValidationError(f"{name} must be between {low} and {high}; got {value}")
    return value


def check_token(name: str, value: object, *, max_length: int = 64) -> str:
    """A short identifier (symbol, cursor, instrument) of letters, digits, ``_ - .``."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _TOKEN.match(value) or len(value) > max_length:
        raise ValidationError(
            f"{name} must be 1..{max_length} letters, digits, '_', '-' or '.'; got {value!r}"
        )
    return value


def to_ms(name: str, value: object) -> int:
    """A Unix time in milliseconds from an ``int`` (ms) or a timezone-aware ``datetime``."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(f"{name} must be timezone-aware (naive datetimes are ambiguous)")
        return int(value.timestamp() * 1000)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be an int of milliseconds or an aware datetime")
    if value < 0:
        raise ValidationError(f"{name} must not be negative")
    return value
