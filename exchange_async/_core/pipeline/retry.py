"""The one place that decides what is retried, how long to wait, and what else a failure does.

`RetryPolicy.decide` looks at one failed attempt and returns a `Decision`: raise, or retry
after a wait, maybe re-measuring the server's clock first, maybe pausing the whole account.
The pipeline carries the decision out; the poller uses `RetryPolicy.backoff` between snapshots.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..._errors import (
    ExchangeError,
    ExchangeUnavailableError,
    RateLimitError,
    RateLimitWaitTimeout,
    TimestampError,
    TransportError,
)
from ..params import check_int_range, check_seconds
from .reply import MAX_SERVER_WAIT, clamp_wait

__all__ = ["IDEMPOTENT_METHODS", "Decision", "RetryPolicy"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
"""Methods retried after a failure that may have reached the server."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after a failed attempt.

    ``error`` is what to raise when ``retry`` is false (the failure itself, or a copy with
    ``retry_after`` set). ``wait`` is the seconds to sleep before the next attempt;
    ``pause_account`` the seconds every caller of the account holds off (a rate-limit refusal);
    ``resync_clock`` asks for a new measurement of the server's clock first.
    """

    retry: bool
    error: ExchangeError
    wait: float = 0.0
    pause_account: float = 0.0
    resync_clock: bool = False


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a request is retried: capped exponential back-off with jitter, bounded attempts.

    Retried: connection errors and timeouts, HTTP 5xx and the exchange's documented transient
    codes, and rate-limit refusals; a rejected timestamp once, after re-measuring the server's
    clock. Never retried: authentication, permission and parameter errors, malformed bodies,
    and (unless ``retry_non_idempotent``) a POST whose failure may have reached the server.
    A rate-limit refusal pauses the whole account for at least ``rate_limit_delay`` (doubling
    with each refusal) or the server's ``Retry-After``, whichever is longer; a server wait
    longer than ``max_retry_after`` raises `RateLimitError` at once, with ``retry_after`` set.
    """

    max_attempts: int = 4
    """Attempts in all, the first included. 1 disables retries."""
    base_delay: float = 0.25
    """The back-off before the second attempt, in seconds; doubles for each one after."""
    max_delay: float = 8.0
    """No back-off the SDK chooses itself is longer than this, in seconds."""
    rate_limit_delay: float = 1.0
    """The shortest pause after a rate-limit refusal, in seconds; doubles with each refusal."""
    max_retry_after: float = 30.0
    """The longest server-asked wait (seconds) slept through inside one call."""
    retry_non_idempotent: bool = False
    """Retry a POST after a failure that may have reached the server (idempotency keys only)."""

    def __post_init__(self) -> None:
        check_int_range("max_attempts", self.max_attempts, 1, 100)
        for name in ("base_delay", "max_delay", "rate_limit_delay", "max_retry_after"):
            check_seconds(name, getattr(self, name), maximum=86_400.0)

    def is_retryable(self, error: ExchangeError, method: str = "GET") -> bool:
        """Whether ``error`` may be retried at all."""
        if isinstance(error, RateLimitWaitTimeout):
            return False
        if isinstance(error, RateLimitError):
            return True  # refused before doing anything: safe for any method
        if method.upper() not in IDEMPOTENT_METHODS and not self.retry_non_idempotent:
            return False
        return isinstance(error, TransportError | ExchangeUnavailableError)

    def decide(
        self,
        error: ExchangeError,
        attempt: int,
        *,
        method: str = "GET",
        clock_resynced: bool = True,
        max_rate_wait: float | None = None,
        can_pause_account: bool = True,
    ) -> Decision:
        """What to do after failed attempt number ``attempt`` (1-based) ended in ``error``.

        ``clock_resynced`` says whether the server's clock was already re-measured in this call
        (or cannot be); ``max_rate_wait`` is the caller's limit on waiting for the rate limiter;
        ``can_pause_account`` is false when the request has no account budget to pause (the
        caller then sleeps the pause itself).
        """
        if isinstance(error, TimestampError):
            return Decision(retry=not clock_resynced, error=error, resync_clock=True)
        if isinstance(error, RateLimitError) and not isinstance(error, RateLimitWaitTimeout):
            decision = self._after_refusal(error, attempt, max_rate_wait)
            if decision.retry and not can_pause_account:
                return Decision(True, decision.error, wait=decision.pause_account)
            return decision
        retry = attempt < self.max_attempts and self.is_retryable(error, method)
        return Decision(retry=retry, error=error, wait=self.backoff(attempt) if retry else 0.0)

    def _after_refusal(
        self, error: RateLimitError, attempt: int, max_rate_wait: float | None
    ) -> Decision:
        server_wait = clamp_wait(error.retry_after)
        pause = self.rate_limit_pause(attempt, server_wait)
        too_long = server_wait is not None and server_wait > self.max_retry_after
        if max_rate_wait is not None and pause > max_rate_wait:
            too_long = True
        retry = attempt < self.max_attempts and not too_long
        reported = error if retry else _with_retry_after(error, max(pause, server_wait or 0.0))
        return Decision(retry=retry, error=reported, pause_account=pause)

    def rate_limit_pause(self, attempt: int, server_wait: float | None = None) -> float:
        """Seconds an account holds off after its ``attempt``-th refusal in a row (jittered up
        to 25 %; never shorter than ``server_wait``, never longer than `MAX_SERVER_WAIT`)."""
        floor = min(MAX_SERVER_WAIT, self.rate_limit_delay * 2.0 ** min(attempt - 1, 30))
        if server_wait is not None:
            floor = max(floor, server_wait)
        return min(MAX_SERVER_WAIT, floor * random.uniform(1.0, 1.25))

    def backoff(self, attempt: int) -> float:
        """Seconds before the attempt after failed attempt ``attempt``: capped exponential
        back-off with "equal jitter" (between half the ceiling and the ceiling)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** min(attempt - 1, 30))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def delay(self, error: ExchangeError, attempt: int) -> float:
        """Seconds to wait after ``error`` ended failed attempt ``attempt`` (1-based)."""
        if isinstance(error, RateLimitError):
            return self.rate_limit_pause(attempt, clamp_wait(error.retry_after))
        return self.backoff(attempt)


def _with_retry_after(error: RateLimitError, seconds: float) -> RateLimitError:
    """A copy of ``error`` that tells the caller how long to wait (the original is untouched)."""
    return type(error)(
        error.message,
        code=error.code,
        http_status=error.http_status,
        exchange=error.exchange,
        retry_after=max(seconds, clamp_wait(error.retry_after) or 0.0),
    )
