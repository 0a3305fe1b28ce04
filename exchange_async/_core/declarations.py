"""What an exchange package declares, as data: its endpoints and its reply conventions.

An `Endpoint` is one REST endpoint (method, path, the limits it counts against, the reply
type, how its data becomes the public value); an `ExchangeSpec` is what the pipeline needs to
know about the exchange itself (success code, error table, static headers, where its clock is).
Exchange packages build these; the pipeline carries them out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .._errors import ExchangeError
from .limits import RateLimit
from .pipeline.reply import Envelope, ReplyDecoder

__all__ = ["Endpoint", "ExchangeSpec", "ServerTimeRule"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True, eq=False)
class Endpoint(Generic[T]):
    """One REST endpoint of an exchange; a request to it returns a ``T``.

    ``data_type`` is the type of the envelope's ``data`` field on success; the endpoint keeps
    one reusable decoder for its whole reply. ``strict=False`` lets numeric strings decode into
    ``int`` and ``Decimal`` fields, which both exchanges need. ``absent`` says what a successful
    reply without ``data`` means (``list`` for "no orders"); without it, that is a `DecodeError`.
    ``data_type`` is the public type itself: the reply decodes straight into it (which wire
    blanks mean ``None``, and other spellings of a key, the model's fields say: see
    `ReplyDecoder`), so nothing converts it after. ``cursor_param`` is the query parameter that
    asks a paged endpoint for the page after a cursor.
    """

    method: str
    path: str
    limits: tuple[RateLimit, ...]
    data_type: type[T]
    signed: bool = True
    absent: Callable[[], T] | None = None
    cursor_param: str | None = None
    decoder: ReplyDecoder[Envelope[T]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        decoder = ReplyDecoder(Envelope[self.data_type])  # type: ignore[name-defined]
        object.__setattr__(self, "decoder", decoder)


@dataclass(frozen=True, slots=True)
class ServerTimeRule(Generic[T]):
    """Where the exchange tells its time: a public ``endpoint`` and ``read(data) -> Unix ms``."""

    endpoint: Endpoint[T]
    read: Callable[[T], int]


@dataclass(frozen=True, slots=True)
class ExchangeSpec:
    """An exchange's reply conventions.

    ``errors`` maps the exchange's codes (as strings) to exception classes; a code missing from
    it falls back on the HTTP status (see `reply.error_for`). The class decides whether the
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
