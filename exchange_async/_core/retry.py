"""The one place that decides what is retried, and how long to wait before the next attempt."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .._errors import (
    ExchangeError,
    ExchangeUnavailableError,
    RateLimitError,
    RateLimitWaitTimeout,
    TransportError,
)
from .params import check_int_range, check_seconds

__all__ = ["RetryPolicy"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a read is retried: capped exponential back-off with jitter, a bounded attempt count.

    Retried: connection errors and timeouts, HTTP 5xx and the exchange's documented transient
    codes, and rate-limit refusals. Never retried: authentication, permission and parameter
    errors, malformed bodies. A rate-limit refusal waits at least ``rate_limit_delay`` (or the
    server's ``Retry-After``, whichever is longer) and pauses the account's buckets for that
    long, so concurrent callers back off too instead of turning one refusal into a burst.
    """

    max_attempts: int = 4
    """Attempts in all, the first included. 1 disables retries."""
    base_delay: float = 0.25
    """The back-off before the second attempt; doubles for each one after."""
    max_delay: float = 8.0
    """No back-off the SDK chooses itself is longer than this."""
    rate_limit_delay: float = 1.0
    """The shortest wait after a rate-limit refusal; doubles with each further refusal."""
    max_retry_after: float = 30.0
    """The longest ``Retry-After`` slept through inside one call; a longer one raises at once."""

    def __post_init__(self) -> None:
        check_int_range("max_attempts", self.max_attempts, 1, 100)
        for name in ("base_delay", "max_delay", "rate_limit_delay", "max_retry_after"):
            check_seconds(name, getattr(self, name), maximum=86_400.0)

    def is_retryable(self, error: ExchangeError) -> bool:
        """Whether ``error`` may be retried at all."""
        if isinstance(error, RateLimitWaitTimeout):
            return False
        return isinstance(error, TransportError | ExchangeUnavailableError | RateLimitError)

    def delay(self, error: ExchangeError, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        After a rate-limit refusal: at least ``rate_limit_delay * 2**(attempt-1)`` and at least
        the server's ``Retry-After``, plus up to 25 % jitter so that callers do not return in
        step. Otherwise: capped exponential back-off with "equal jitter" (never under half).
        """
        if isinstance(error, RateLimitError):
            floor = self.rate_limit_delay * 2.0 ** (attempt - 1)
            if error.retry_after is not None:
                floor = max(floor, error.retry_after)
            return floor * random.uniform(1.0, 1.25)
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def gives_up_early(self, error: ExchangeError) -> bool:
        """Whether the server asked for a longer wait than a call should sleep through."""
        retry_after = getattr(error, "retry_after", None)
        return retry_after is not None and retry_after > self.max_retry_after
