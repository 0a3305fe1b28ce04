"""Endpoints declared as data: method, path, the limits they count against, the reply type."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .decoding import ReplyDecoder
from .envelope import Envelope
from .limits import RateLimit

__all__ = ["Endpoint"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True, eq=False)
class Endpoint(Generic[T]):
    """One REST endpoint of an exchange.

    ``data_type`` is the type of the envelope's ``data`` field on success; the endpoint keeps
    one reusable decoder for its whole reply. ``strict=False`` lets numeric strings decode into
    ``int`` and ``Decimal`` fields, which both exchanges need. ``absent`` says what a successful
    reply without ``data`` means (``list`` for "no orders"); without it, that is a `DecodeError`.
    ``blank_as_null`` names keys whose ``""`` means unset, ``fast_suffix`` a suffix they share
    (see `ReplyDecoder`).
    """

    method: str
    path: str
    limits: tuple[RateLimit, ...]
    data_type: type[T]
    signed: bool = True
    absent: Callable[[], T] | None = None
    blank_as_null: tuple[str, ...] = ()
    fast_suffix: str | None = None
    decoder: ReplyDecoder[Envelope[T]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        decoder = ReplyDecoder(
            Envelope[self.data_type],  # type: ignore[name-defined]
            blank_as_null=self.blank_as_null,
            fast_suffix=self.fast_suffix,
        )
        object.__setattr__(self, "decoder", decoder)
