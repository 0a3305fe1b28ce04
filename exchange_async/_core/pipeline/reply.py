"""A reply, from bytes to data or the mapped error: envelope, decoding, conversion, status.

Every way a body can be wrong ends here as a `DecodeError` (msgspec's errors, a nesting too
deep for the decoder, a number a model refuses, a conversion that fails); every refusal ends
as the exchange's error class, or the class its HTTP status implies. Nothing else in the SDK
looks at a status code or a ``Retry-After`` header.

The bytes themselves are decoded by `decoder.ReplyDecoder` (blank-is-null fields, other
spellings, non-finite money: what the models declare), straight into the public types.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from ..._errors import (
    AuthenticationError,
    BadRequestError,
    DecodeError,
    ExchangeError,
    ExchangeUnavailableError,
    NotFoundError,
    RateLimitError,
    UnknownExchangeError,
)
from ..transport import TransportResponse
from .decoder import ReplyDecoder, non_finite

__all__ = [
    "MAX_SERVER_WAIT",
    "Envelope",
    "ExchangeRules",
    "ReplyDecoder",
    "ReplyRules",
    "StatusOnly",
    "clamp_wait",
    "decode_reply",
    "error_for",
    "non_finite",
    "retry_after_seconds",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

MAX_SERVER_WAIT = 3600.0
"""A ``Retry-After`` or ban length longer than this (seconds) counts as this: an hour."""

_BAD_BODY = (msgspec.DecodeError, RecursionError, ValueError, ArithmeticError, TypeError)
"""What a decoder may raise on a hostile body (msgspec.ValidationError is a DecodeError)."""


# -- the envelope ----------------------------------------------------------------------------


class Envelope(msgspec.Struct, Generic[T]):
    """``{"code": ..., "msg": ..., "data": ...}``; CoinW sometimes says ``message`` for ``msg``.

    Unknown fields (``requestTime``, ``retry``, ``success``) are ignored.
    """

    code: str | int | None = None
    msg: str | None = None
    message: str | None = None
    data: T | None = None

    @property
    def text(self) -> str:
        """The human-readable message, whichever field carried it."""
        return self.msg or self.message or ""


class StatusOnly(msgspec.Struct):
    """Just the code and message of a reply whose ``data`` did not decode."""

    code: str | int | None = None
    msg: str | None = None
    message: str | None = None

    @property
    def text(self) -> str:
        """The human-readable message, whichever field carried it."""
        return self.msg or self.message or ""


_status_decoder: msgspec.json.Decoder[StatusOnly] = msgspec.json.Decoder(StatusOnly)


# -- the whole reply ---------------------------------------------------------------------------


class ReplyRules(Protocol[T]):
    """What decoding reads of an endpoint (a `declarations.Endpoint` is one; the declarations
    import this module, so it names the shape, not the class)."""

    @property
    def path(self) -> str: ...
    @property
    def decoder(self) -> ReplyDecoder[Envelope[T]]: ...
    @property
    def absent(self) -> Callable[[], T] | None: ...


class ExchangeRules(Protocol):
    """What decoding reads of an exchange (a `declarations.ExchangeSpec` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def success_code(self) -> str: ...
    @property
    def errors(self) -> Mapping[str, type[ExchangeError]]: ...


def decode_reply(spec: ExchangeRules, endpoint: ReplyRules[T], response: TransportResponse) -> T:
    """The envelope's ``data`` (already the public type: nothing converts it after), on
    success; otherwise raise the mapped `ExchangeError`.

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
    raise _refusal_or_bad_body(spec, endpoint, response, why)


def _refusal_or_bad_body(
    spec: ExchangeRules, endpoint: ReplyRules[Any], response: TransportResponse, why: str
) -> ExchangeError:
    """The data did not fit the model: an error reply with odd data, or a broken body."""
    status, body = response.status, response.body
    head = _status_only(body)
    retry_after = retry_after_seconds(response.headers)
    if head is not None and head.code is not None and str(head.code) != spec.success_code:
        return error_for(spec, status, str(head.code), head.text, retry_after)
    if 300 <= status < 400:
        return UnknownExchangeError(
            f"unexpected redirect (HTTP {status}); redirects are not followed",
            http_status=status,
            exchange=spec.name,
        )
    if status >= 500 or status == 429 or status in (401, 403, 404):
        return error_for(spec, status, None, f"HTTP {status}", retry_after)
    return _bad_body(spec, endpoint, status, why + _snippet(body))


def error_for(
    spec: ExchangeRules, status: int, code: str | None, message: str, retry_after: float | None
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


# -- Retry-After (RFC 9110, section 10.2.3) ----------------------------------------------------

_DELAY_SECONDS = re.compile(r"[0-9]+\Z")
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_LONG_DAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_MONTH = r"(?P<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})"
_HTTP_DATES = (
    # IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    re.compile(rf"{_DAY}, (?P<day>[0-9]{{2}}) {_MONTH} (?P<year>[0-9]{{4}}) {_TIME} GMT\Z"),
    # obsolete RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
    re.compile(rf"{_LONG_DAY}, (?P<day>[0-9]{{2}})-{_MONTH}-(?P<year>[0-9]{{2}}) {_TIME} GMT\Z"),
    # obsolete asctime: Sun Nov  6 08:49:37 1994
    re.compile(rf"{_DAY} {_MONTH} (?P<day>[ 0-9][0-9]) {_TIME} (?P<year>[0-9]{{4}})\Z"),
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """``Retry-After`` in seconds (at most `MAX_SERVER_WAIT`); None if absent or not valid.

    Valid, as RFC 9110 says, is only a count of whole seconds (digits, nothing else) or an
    HTTP-date (a date already past is 0). Anything else (``inf``, ``1e400``, ``-5``, ``1.5``,
    ``NaN``) is ignored. ``now`` is the Unix time an HTTP-date is measured from (default: now).
    """
    raw = headers.get("Retry-After")
    if raw is None:
        raw = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if raw is None:
        return None
    value = raw.strip(" \t")
    if _DELAY_SECONDS.match(value):
        # Compare the digits, not int(value): 5,000 digits exceed Python's int-from-str limit.
        digits = value.lstrip("0") or "0"
        return min(float(digits), MAX_SERVER_WAIT) if len(digits) <= 5 else MAX_SERVER_WAIT
    at = _http_date(value)
    if at is None:
        return None
    return clamp_wait(max(0.0, at - (time.time() if now is None else now)))


def _http_date(value: str) -> float | None:
    """The Unix time of an HTTP-date in any of its three forms, or None."""
    for form in _HTTP_DATES:
        match = form.match(value)
        if match is None:
            continue
        year = int(match["year"])
        if year < 100:  # RFC 850's two digits: the year in the past closest to it
            year += 2000 if year + 2000 <= datetime.now(UTC).year + 50 else 1900
        try:
            moment = datetime(
                year,
                _MONTHS.index(match["month"]) + 1,
                int(match["day"]),
                int(match["hour"]),
                int(match["minute"]),
                int(match["second"]),
                tzinfo=UTC,
            )
        except ValueError:  # 31 Feb, hour 25
            return None
        return moment.timestamp()
    return None


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
        return _status_decoder.decode(body)
    except (*_BAD_BODY,):
        return None


def _bad_body(
    spec: ExchangeRules, endpoint: ReplyRules[Any], status: int, what: str
) -> DecodeError:
    return DecodeError(
        f"unexpected reply body for {endpoint.path}: {what}", http_status=status, exchange=spec.name
    )


def _snippet(body: bytes, limit: int = 120) -> str:
    text = body[:limit].decode("utf-8", "replace")
    return repr(text + ("…" if len(body) > limit else ""))
