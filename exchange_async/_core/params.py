"""Argument checks shared by the clients and the poller; each raises `ValidationError` early.

Every public argument goes through one of these before anything is sent, so a value of the
wrong type or range is a `ValidationError` (also a ``ValueError``), never a bare ``TypeError``,
``OverflowError`` or ``AttributeError`` from deeper down. Messages name the argument; they echo
the value only where it cannot be a secret (never for a URL that may carry a password).
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TypeVar, cast

from yarl import URL

from .._errors import ValidationError

__all__ = [
    "MAX_CHOICES",
    "MAX_MS",
    "check_base_url",
    "check_choice",
    "check_choices",
    "check_flag",
    "check_ids",
    "check_instance",
    "check_int_range",
    "check_seconds",
    "check_token",
    "check_uid",
    "redact_url",
    "to_ms",
]

E = TypeVar("E", bound=StrEnum)
C = TypeVar("C")

_TOKEN = re.compile(r"[A-Za-z0-9_\-.]+\Z")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

MAX_CHOICES = 100
"""The most values a list of choices (product or position types) may hold, repeats included."""

MAX_MS = 253_402_300_799_999
"""The last millisecond of year 9999: no exchange time is later."""


def _short(value: object) -> str:
    """``repr(value)`` cut to 60 characters, for messages. Never raises: an int of thousands of
    digits (over Python's int-to-str limit) or an object whose repr fails is described."""
    if isinstance(value, int) and value.bit_length() > 200:
        return f"an int of about {int(value.bit_length() * 0.30103)} digits"
    try:
        text = repr(value)
    except Exception:
        return f"a {type(value).__name__}"
    return text if len(text) <= 60 else text[:57] + "..."


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
    raise ValidationError(f"{name} must be one of {allowed}; got {_short(value)}")


def check_choices(name: str, values: object, enum: type[E]) -> list[E]:
    """A non-empty list of distinct members of ``enum`` (any case), in the order given; at most
    `MAX_CHOICES` values (an endless iterable is refused, not read forever)."""
    if isinstance(values, str | enum):
        values = [values]
    listed = _iterate(name, values, MAX_CHOICES)
    members = [check_choice(name, v, enum, case_insensitive=True) for v in listed]
    if not members:
        raise ValidationError(f"{name} must not be empty")
    return list(dict.fromkeys(members))


def check_int_range(name: str, value: object, low: int, high: int) -> int:
    """An ``int`` (not a bool) in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{name} must be an int; got {type(value).__name__}")
    if not low <= value <= high:
        raise ValidationError(f"{name} must be between {low} and {high}; got {_short(value)}")
    return int(value)


def check_seconds(
    name: str,
    value: object,
    *,
    minimum: float = 0.0,
    inclusive: bool = True,
    maximum: float = 86_400.0 * 365,
) -> float:
    """A finite ``int`` or ``float`` of seconds (not a bool) within ``minimum`` .. ``maximum``.

    ``inclusive=False`` excludes ``minimum`` itself (a timeout of 0 is not a timeout).
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{name} must be a number of seconds; got {type(value).__name__}")
    if isinstance(value, int) and abs(value) > maximum:
        raise ValidationError(f"{name} must be at most {maximum:g} s")
    seconds = float(value)
    low_ok = seconds >= minimum if inclusive else seconds > minimum
    if not (math.isfinite(seconds) and low_ok and seconds <= maximum):
        bound = ">=" if inclusive else ">"
        raise ValidationError(
            f"{name} must be finite, {bound} {minimum:g} and at most {maximum:g} s; "
            f"got {_short(value)}"
        )
    return seconds


def check_flag(name: str, value: object) -> bool:
    """A real ``bool`` (a truthy string such as ``"false"`` is a mistake, not a yes)."""
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False; got {type(value).__name__}")
    return value


def check_instance(name: str, value: object, cls: type[C]) -> C:
    """``value`` if it is a ``cls``."""
    if not isinstance(value, cls):
        raise ValidationError(f"{name} must be a {cls.__name__}; got {type(value).__name__}")
    return value


def check_token(name: str, value: object, *, max_length: int = 64) -> str:
    """A short identifier (symbol, cursor, instrument) of letters, digits, ``_ - .``."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**max_length:
        value = str(value)
    if not isinstance(value, str) or len(value) > max_length or not _TOKEN.match(value):
        raise ValidationError(
            f"{name} must be 1..{max_length} letters, digits, '_', '-' or '.'; got {_short(value)}"
        )
    return value


def check_uid(value: object) -> str:
    """An account UID: a positive ``int`` or a token string (letters, digits, ``_ - .``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(check_int_range("uid", value, 1, 2**63 - 1))
    return check_token("uid", value)


def to_ms(name: str, value: object) -> int:
    """A Unix time in milliseconds from an ``int`` (ms) or a timezone-aware ``datetime``.

    Exact (no float on the way), and between 0 and `MAX_MS`.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(f"{name} must be timezone-aware (naive datetimes are ambiguous)")
        try:
            ms = (value - _EPOCH) // _MS
        except OverflowError:  # a year-1 or year-9999 time in an extreme offset
            raise ValidationError(f"{name} is out of range") from None
    elif isinstance(value, int) and not isinstance(value, bool):
        ms = value
    else:
        raise ValidationError(
            f"{name} must be an int of milliseconds or an aware datetime; "
            f"got {type(value).__name__}"
        )
    if not 0 <= ms <= MAX_MS:
        raise ValidationError(f"{name} must be between 0 and {MAX_MS} ms (1970 to 9999)")
    return int(ms)


def check_ids(
    name: str, values: object, *, max_id: int = 2**63 - 1, max_count: int | None = None
) -> list[int]:
    """Distinct positive integer ids, in the order given, from ints or strings of digits.

    ``values`` is any iterable but a single string, of at most ``max_count`` values (an
    endless one is refused, not read forever); an exception raised while iterating it is
    reported as a `ValidationError` (chained, so the cause stays visible).
    """
    if isinstance(values, str | bytes | bytearray):
        raise ValidationError(f"{name} must be an iterable of ids, not a single string")
    ids: dict[int, None] = {}
    for raw in _iterate(name, values, max_count):
        value = _one_id(raw)
        if value is None:
            raise ValidationError(
                f"{name}: each order id must be an int or a string of digits; got {_short(raw)}"
            )
        if not 0 < value <= max_id:
            raise ValidationError(f"{name}: order id out of range 1..{max_id}: {_short(raw)}")
        ids[value] = None
    return list(ids)


def _one_id(raw: object) -> int | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return int(raw)
    if isinstance(raw, str):
        text = raw.strip()
        if 0 < len(text) <= 20 and text.isascii() and text.isdigit():
            return int(text)
    return None


def _iterate(name: str, values: object, limit: int | None = None) -> list[object]:
    """``list(values)`` (at most ``limit`` values), with a non-iterable, a failing iterator or
    one too long as a `ValidationError`."""
    if isinstance(values, dict):
        raise ValidationError(f"{name} must be a list or other iterable of values, not a dict")
    iterable = cast("Iterable[object]", values)
    try:
        items = list(iterable if limit is None else itertools.islice(iterable, limit + 1))
    except TypeError as exc:
        if not hasattr(values, "__iter__"):
            raise ValidationError(
                f"{name} must be an iterable; got {type(values).__name__}"
            ) from None
        raise ValidationError(f"{name} could not be read: {type(exc).__name__}") from exc
    except Exception as exc:
        raise ValidationError(f"{name} could not be read: {type(exc).__name__}") from exc
    if limit is not None and len(items) > limit:
        raise ValidationError(f"{name} may hold at most {limit} values")
    return items


def check_base_url(url: object, *, allow_insecure: bool = False) -> str:
    """``url`` normalised (no trailing ``/``) if it may carry requests signed with a secret.

    ``https://`` anywhere; plain ``http://`` only to a loopback host (``localhost``,
    127.0.0.0/8, ``::1``) unless ``allow_insecure`` (a TLS-terminating proxy on a trusted
    network). A user name and password (a proxy's) are kept for the requests but never shown:
    reprs and messages use `redact_url`. No query or fragment, no whitespace or control
    character. The message never echoes the URL.
    """
    if not isinstance(url, str):
        raise ValidationError(f"base_url must be a string; got {type(url).__name__}")
    if not url.isprintable() or any(c.isspace() for c in url):
        raise ValidationError("base_url must not contain whitespace or control characters")
    try:
        parsed = URL(url)
        host = parsed.host
    except (ValueError, TypeError, UnicodeError):
        raise ValidationError("base_url is not a valid URL") from None
    if parsed.scheme not in ("http", "https") or not host:
        raise ValidationError("base_url must be an http:// or https:// URL with a host")
    if parsed.query_string or parsed.fragment:
        raise ValidationError("base_url must not have a query string or fragment")
    if parsed.scheme == "http" and not allow_insecure and not is_loopback(host):
        raise ValidationError(
            f"base_url uses plain http:// to {host!r}, which is not a loopback host; use "
            "https://, or pass allow_insecure_http=True for a trusted network"
        )
    return str(parsed).rstrip("/")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address (127.0.0.0/8, ``::1``)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for reprs, messages and limiter keys)."""
    parsed = URL(url)
    if parsed.password is None:
        return url
    return str(parsed.with_password("***")).rstrip("/")
