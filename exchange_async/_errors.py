"""Every exception the SDK raises on purpose.

The tree::

    ExchangeError                      .code, .message, .http_status, .exchange
    ├── ValidationError (ValueError)   bad arguments; raised before any request is sent
    ├── ClientClosedError              the client was used after close()
    ├── AuthenticationError            bad key, signature, passphrase, permission
    │   ├── PermissionDeniedError      key lacks a permission or the IP is not whitelisted
    │   └── TimestampError             the request timestamp is outside the server's window
    ├── RateLimitError                 the exchange refused for rate, after the SDK's retries
    │   └── RateLimitWaitTimeout       the local limiter would make the caller wait too long
    ├── BadRequestError                the exchange rejected the parameters
    │   └── NotFoundError              the thing asked for does not exist
    ├── ExchangeUnavailableError       HTTP 5xx or a documented transient code, after retries
    ├── TransportError                 connection refused, reset, DNS failure, after retries
    │   └── RequestTimeoutError        no complete answer within the timeout, after retries
    ├── DecodeError                    the body was not what the exchange documents
    │   ├── ReplyTooLargeError         the reply was over the client's maximum reply size
    │   └── PaginationError            paging made no progress (a repeated cursor, no new rows)
    └── UnknownExchangeError           an error code the SDK has no class for

Network-library exceptions (aiohttp, asyncio timeouts, msgspec) are translated into this tree in
exactly one place, the transport (``_core/transport/aiohttp.py``) and the decoder
(``_core/pipeline/reply.py``); nothing else escapes a client call except cancellation.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "DecodeError",
    "ExchangeError",
    "ExchangeUnavailableError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimitWaitTimeout",
    "ReplyTooLargeError",
    "RequestTimeoutError",
    "TimestampError",
    "TransportError",
    "UnknownExchangeError",
    "ValidationError",
]


class ExchangeError(Exception):
    """Base of everything the SDK raises on purpose.

    ``code`` is the exchange's own error code as a string (``"40009"``, ``"29001"``) or ``None``
    when the error did not come from the exchange; ``http_status`` is the HTTP status of the
    reply, or ``None`` when there was no reply.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        exchange: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.exchange = exchange

    def __str__(self) -> str:
        parts = []
        if self.exchange:
            parts.append(self.exchange)
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.code is not None:
            parts.append(f"code {self.code}")
        prefix = ", ".join(parts)
        return f"{self.message} ({prefix})" if prefix else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, code={self.code!r}, "
            f"http_status={self.http_status!r}, exchange={self.exchange!r})"
        )


class ValidationError(ExchangeError, ValueError):
    """An argument is invalid; raised before any request is sent."""


class ClientClosedError(ExchangeError):
    """The client was used after ``close()``."""


class AuthenticationError(ExchangeError):
    """The exchange refused the credentials: key, signature, passphrase or permission."""


class PermissionDeniedError(AuthenticationError):
    """The key is valid but lacks a permission, or the caller's IP is not whitelisted."""


class TimestampError(AuthenticationError):
    """The request timestamp was outside the exchange's window even after a clock re-sync."""


class RateLimitError(ExchangeError):
    """The exchange refused a request for rate, and the SDK's retries did not get through.

    ``retry_after`` is the number of seconds the exchange (or the SDK's back-off policy) asks
    the caller to wait before trying again, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        http_status: int | None = None,
        exchange: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code, http_status=http_status, exchange=exchange)
        self.retry_after = retry_after


class RateLimitWaitTimeout(RateLimitError):
    """The local rate limiter would have made the caller wait longer than ``max_rate_wait``."""


class BadRequestError(ExchangeError):
    """The exchange rejected the request's parameters."""


class NotFoundError(BadRequestError):
    """The exchange says the thing asked for does not exist."""


class ExchangeUnavailableError(ExchangeError):
    """HTTP 5xx, or a code the exchange documents as transient, after the SDK's retries."""


class TransportError(ExchangeError):
    """The request did not complete at the network level, after the SDK's retries."""


class RequestTimeoutError(TransportError):
    """No complete reply arrived within the configured timeout, after the SDK's retries."""


class DecodeError(ExchangeError):
    """The reply's body was not what the exchange documents (not JSON, wrong shape)."""


class UnknownExchangeError(ExchangeError):
    """The exchange returned an error code the SDK has no specific class for."""


class ReplyTooLargeError(DecodeError):
    """The reply was longer than the client's ``max_reply_bytes`` (wire or decompressed)."""


class PaginationError(DecodeError):
    """Paging made no progress: a repeated or unusable cursor, or a page with nothing new.

    Paging stops with this error instead of looping (and spending the account's budget).
    """
