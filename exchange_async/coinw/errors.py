"""CoinW futures error codes and the exception class each one becomes."""

from __future__ import annotations

from .._core.declarations import ExchangeSpec
from .._errors import (
    AuthenticationError,
    BadRequestError,
    ExchangeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)

__all__ = ["COINW"]


def _codes(cls: type[ExchangeError], *codes: str) -> dict[str, type[ExchangeError]]:
    return dict.fromkeys(codes, cls)


COINW = ExchangeSpec(
    name="coinw",
    success_code="0",
    errors={
        **_codes(RateLimitError, "29001"),
        # 6000/6001 are undocumented; seen mapped so by other clients.
        **_codes(AuthenticationError, "6000", "6001"),
        **_codes(PermissionDeniedError, "6003"),
        **_codes(BadRequestError, "402", "500", "904", "9016"),
        **_codes(NotFoundError, "404", "9001"),
    },
)
"""CoinW's conventions: success is code 0; errors may say ``message`` instead of ``msg``."""
