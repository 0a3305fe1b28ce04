"""What the pipeline needs to know about an exchange: its success code and its error table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .._errors import (
    AuthenticationError,
    BadRequestError,
    ExchangeError,
    ExchangeUnavailableError,
    NotFoundError,
    RateLimitError,
    UnknownExchangeError,
)

__all__ = ["ExchangeSpec"]


@dataclass(frozen=True, slots=True)
class ExchangeSpec:
    """An exchange's reply conventions.

    ``errors`` maps the exchange's codes (as strings) to exception classes; a code missing from
    it falls back on the HTTP status. The class decides whether the error is retried (see
    `RetryPolicy`), so the table is the whole per-exchange error policy.
    """

    name: str
    success_code: str
    errors: Mapping[str, type[ExchangeError]] = field(default_factory=dict)

    def error(
        self, http_status: int, code: str | None, message: str, retry_after: float | None
    ) -> ExchangeError:
        """The exception for a refused request."""
        cls = self.errors.get(code) if code is not None else None
        if cls is None:
            cls = _by_status(http_status)
        message = message or f"HTTP {http_status}"
        if issubclass(cls, RateLimitError):
            return cls(
                message,
                code=code,
                http_status=http_status,
                exchange=self.name,
                retry_after=retry_after,
            )
        return cls(message, code=code, http_status=http_status, exchange=self.name)


def _by_status(status: int) -> type[ExchangeError]:
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ExchangeUnavailableError
    if status == 401:
        return AuthenticationError
    if status == 403:
        # A 403 without an exchange code comes from a CDN or firewall in front of the API
        # (often a temporary block): retried with back-off rather than treated as a bad key.
        return ExchangeUnavailableError
    if status == 404:
        return NotFoundError
    if 400 <= status < 500:
        return BadRequestError
    return UnknownExchangeError
