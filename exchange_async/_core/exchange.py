"""What the pipeline needs to know about an exchange, declared as data.

Its success code and error table, the static headers every request carries, and how to read
its clock (which endpoint returns the server time, and where in the reply).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .._errors import ExchangeError
from .endpoint import Endpoint

__all__ = ["ExchangeSpec", "ServerTimeRule"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ServerTimeRule(Generic[T]):
    """Where the exchange tells its time: a public ``endpoint`` and ``read(data) -> Unix ms``."""

    endpoint: Endpoint[T]
    read: Callable[[T], int]


@dataclass(frozen=True, slots=True)
class ExchangeSpec:
    """An exchange's reply conventions.

    ``errors`` maps the exchange's codes (as strings) to exception classes; a code missing from
    it falls back on the HTTP status (see `decode.error_for`). The class decides whether the
    error is retried (see `RetryPolicy`), so the table is the whole per-exchange error policy.
    ``headers`` are sent with every request (not signed, not secret). ``server_time``, when
    given, makes the pipeline measure the server's clock before the first signed request and
    again when the server rejects a timestamp.
    """

    name: str
    success_code: str
    errors: Mapping[str, type[ExchangeError]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    server_time: ServerTimeRule[Any] | None = None
