"""Bitget's error codes and the exception class each one becomes."""

from __future__ import annotations

from operator import attrgetter

from .._core.declarations import ExchangeSpec, ServerTimeRule
from .._errors import (
    AuthenticationError,
    BadRequestError,
    ExchangeError,
    ExchangeUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    TimestampError,
)
from .endpoints import SERVER_TIME

__all__ = ["BITGET", "NotTraderError"]


class NotTraderError(PermissionDeniedError):
    """The account is not a copy-trading elite trader (Bitget 40732, 31001, 31025)."""


def _codes(cls: type[ExchangeError], *codes: str) -> dict[str, type[ExchangeError]]:
    return dict.fromkeys(codes, cls)


BITGET = ExchangeSpec(
    name="bitget",
    success_code="00000",
    errors={
        **_codes(RateLimitError, "429"),
        **_codes(AuthenticationError, "40001", "40002", "40003", "40006", "40009"),
        **_codes(AuthenticationError, "40011", "40012", "40036", "40037", "40041"),
        **_codes(PermissionDeniedError, "40014", "40018", "40038", "40199"),
        **_codes(TimestampError, "40005", "40008"),
        **_codes(BadRequestError, "00001", "40017", "40019", "40020", "40034"),
        **_codes(NotTraderError, "40732", "31001", "31025"),
        **_codes(NotFoundError, "43065"),
        # Transient during Bitget's release windows: retried.
        **_codes(ExchangeUnavailableError, "45001", "40725", "40808", "40015"),
    },
    headers={"Content-Type": "application/json", "locale": "en-US"},
    server_time=ServerTimeRule(SERVER_TIME, attrgetter("server_time")),  # C: no frame
)
"""Bitget's conventions: success is code "00000"; the clock is ``/api/v2/public/time``."""
