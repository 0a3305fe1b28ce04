"""From a reply to data or an exception: envelope decoding and HTTP status classification.

Every way a body can be wrong ends here as a `DecodeError` (msgspec's errors, a nesting too
deep for the decoder, a number a model refuses); every refusal ends as the exchange's error
class, or the class its HTTP status implies. Nothing else in the SDK looks at a status code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TypeVar

import msgspec

from .._errors import (
    AuthenticationError,
    BadRequestError,
    DecodeError,
    ExchangeError,
    ExchangeUnavailableError,
    NotFoundError,
    RateLimitError,
    UnknownExchangeError,
)
from .endpoint import Endpoint
from .envelope import StatusOnly, status_decoder
from .exchange import ExchangeSpec
from .transport import TransportResponse

__all__ = [
    "MAX_SERVER_WAIT",
    "clamp_wait",
    "convert",
    "decode_reply",
    "error_for",
    "retry_after_seconds",
]

T = TypeVar("T")
R = TypeVar("R")

MAX_SERVER_WAIT = 3600.0
"""A ``Retry-After`` or ban length longer than this (an hour, ``inf``, ``1e400``) counts as this."""

_BAD_BODY = (msgspec.DecodeError, RecursionError, ValueError, ArithmeticError, TypeError)
"""What a decoder may raise on a hostile body (msgspec.ValidationError is a DecodeError)."""


def decode_reply(spec: ExchangeSpec, endpoint: Endpoint[T], response: TransportResponse) -> T:
    """The envelope's ``data`` on success; otherwise raise the mapped `ExchangeError`.

    ``data`` absent on success becomes ``endpoint.absent()``; an endpoint without that rule
    raises `DecodeError`.
    """
    status, body = response.status, response.body
    why = ""
    try:
        envelope = endpoint.decoder.decode(body)
    except RecursionError:
        raise _bad_body(spec, endpoint, status, "nested too deeply") from None
    except _BAD_BODY as exc:
        envelope = None
        why = f"{str(exc)[:160]}; "  # msgspec names the field: "Expected `int` - at `$.data`"
    if envelope is not None:
        code = None if envelope.code is None else str(envelope.code)
        if status == 200 and code == spec.success_code:
            if envelope.data is not None:
                return envelope.data
            if endpoint.absent is not None:
                return endpoint.absent()
            raise _bad_body(spec, endpoint, status, "no data")
        raise error_for(spec, status, code, envelope.text, retry_after_seconds(response.headers))
    # The data did not fit the model: an error reply with odd data, or a broken body.
    head = _status_only(body)
    retry_after = retry_after_seconds(response.headers)
    if head is not None and head.code is not None and str(head.code) != spec.success_code:
        raise error_for(spec, status, str(head.code), head.text, retry_after)
    if 300 <= status < 400:
        raise UnknownExchangeError(
            f"unexpected redirect (HTTP {status}); redirects are not followed",
            http_status=status,
            exchange=spec.name,
        )
    if status >= 500 or status == 429 or status in (401, 403, 404):
        raise error_for(spec, status, None, f"HTTP {status}", retry_after)
    raise _bad_body(spec, endpoint, status, why + _snippet(body))


def convert(spec: ExchangeSpec, function: Callable[[T], R], data: T) -> R:
    """``function(data)`` (a wire-to-public conversion), its failures as `DecodeError`."""
    try:
        return function(data)
    except DecodeError:
        raise
    except _BAD_BODY as exc:
        raise DecodeError(
            f"reply field not usable: {type(exc).__name__}: {str(exc)[:120]}", exchange=spec.name
        ) from None


def error_for(
    spec: ExchangeSpec, status: int, code: str | None, message: str, retry_after: float | None
) -> ExchangeError:
    """The exception for a refused request: by the exchange's code, else by HTTP status."""
    cls = spec.errors.get(code) if code is not None else None
    if cls is None:
        cls = _by_status(status)
    message = message or f"HTTP {status}"
    if issubclass(cls, RateLimitError):
        return cls(
            message, code=code, http_status=status, exchange=spec.name, retry_after=retry_after
        )
    return cls(message, code=code, http_status=status, exchange=spec.name)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds, clamped to `MAX_SERVER_WAIT`; None if absent or unusable."""
    raw = headers.get("Retry-After")
    if raw is None:
        raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if raw is None:
        return None
    try:
        value = float(raw.strip()[:32])
    except ValueError:
        return None
    return clamp_wait(value)


def clamp_wait(value: float | None) -> float | None:
    """A server-given wait as a usable number: NaN and negatives dropped, at most an hour."""
    if value is None or math.isnan(value) or value < 0:
        return None
    return min(value, MAX_SERVER_WAIT)


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


def _status_only(body: bytes) -> StatusOnly | None:
    try:
        return status_decoder.decode(body)
    except (*_BAD_BODY,):
        return None


def _bad_body(spec: ExchangeSpec, endpoint: Endpoint[T], status: int, what: str) -> DecodeError:
    return DecodeError(
        f"unexpected reply body for {endpoint.path}: {what}", http_status=status, exchange=spec.name
    )


def _snippet(body: bytes, limit: int = 120) -> str:
    text = body[:limit].decode("utf-8", "replace")
    return repr(text + ("…" if len(body) > limit else ""))
