"""Credentials and the signing helpers every exchange shares, and keeping secrets quiet.

`ApiKeyCredentials` holds a key and its secret (never shown in a repr, never pickled);
`prehash` and `hmac_sha256_base64` are the pure primitives both exchanges sign with;
`require_text`, `mask_key` and `account_fingerprint` keep secrets out of reprs, logs and
exception messages. Nothing here reads a clock or does I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import NoReturn

from ..._errors import ValidationError

__all__ = [
    "MAX_CREDENTIAL_LENGTH",
    "ApiKeyCredentials",
    "HmacSigner",
    "account_fingerprint",
    "hmac_sha256_base64",
    "mask_key",
    "prehash",
    "require_text",
]

MAX_CREDENTIAL_LENGTH = 512
"""Longer than any exchange's key, secret or passphrase; a longer value is a wrong file read."""


class ApiKeyCredentials:
    """An API key and its secret. ``repr()`` shows the key masked and never the secret.

    Blank values raise `ValidationError` at construction; instances refuse to be pickled, so a
    secret cannot end up in a cache or a task queue by accident.
    """

    __slots__ = ("_secret_key", "api_key")

    def __init__(self, api_key: str, secret_key: str) -> None:
        self.api_key = require_text("api_key", api_key)
        self._secret_key = require_text("secret_key", secret_key)

    @property
    def secret_key(self) -> str:
        """The secret used to sign requests."""
        return self._secret_key

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_key={mask_key(self.api_key)!r})"

    def __str__(self) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} cannot be pickled")


class HmacSigner:
    """Signs one key's requests: base64(HMAC_SHA256(secret, ts + METHOD + path?query + body)).

    Built once per client: the secret's bytes and every header that never changes (the
    exchange's static headers, the key, a passphrase) are prepared here; a call copies them and
    adds the signature (``sign_header``) and the timestamp in ms (``time_header``). Pure: no
    clock, no I/O. ``repr()`` never shows the secret; instances refuse to be pickled.
    """

    __slots__ = ("_headers", "_secret", "_sign_header", "_time_header")

    def __init__(
        self, secret_key: str, headers: Mapping[str, str], *, sign_header: str, time_header: str
    ) -> None:
        self._secret = secret_key.encode()
        self._headers = dict(headers)
        self._sign_header = sign_header
        self._time_header = time_header

    def __call__(
        self, timestamp_ms: int, method: str, path_and_query: str, body: str = ""
    ) -> dict[str, str]:
        """Every header of the request: the constant ones, the signature and the timestamp."""
        message = f"{timestamp_ms}{method.upper()}{path_and_query}{body}".encode()
        headers = self._headers.copy()
        headers[self._sign_header] = base64.b64encode(
            hmac.new(self._secret, message, hashlib.sha256).digest()
        ).decode()
        headers[self._time_header] = str(timestamp_ms)
        return headers

    def __repr__(self) -> str:
        return f"<HmacSigner {', '.join(self._headers)}>"

    def __reduce__(self) -> NoReturn:
        raise TypeError("HmacSigner cannot be pickled")


def prehash(timestamp_ms: int, method: str, path_and_query: str, body: str) -> str:
    """``timestamp + METHOD + path + ?query + body``: the string both exchanges sign."""
    return f"{timestamp_ms}{method.upper()}{path_and_query}{body}"


def hmac_sha256_base64(secret: str, message: str) -> str:
    """base64(HMAC_SHA256(secret, message)) as text."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def require_text(name: str, value: object) -> str:
    """Return ``value`` if it is a non-blank string of printable ASCII, else raise
    ``ValidationError`` (a key read from a file with its trailing newline would otherwise fail
    every request, as an invalid header). The message names the field, never the value: it
    may be a secret.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name} must be a non-empty string")
    if len(value) > MAX_CREDENTIAL_LENGTH:
        raise ValidationError(f"{name} must be at most {MAX_CREDENTIAL_LENGTH} characters")
    if not (value.isascii() and value.isprintable()):
        raise ValidationError(
            f"{name} must be printable ASCII (no newline, tab or other control character)"
        )
    return value


def mask_key(api_key: str) -> str:
    """Show just enough of an API key to tell keys apart: ``bg_1…89ab``."""
    if len(api_key) <= 8:
        return "…"
    return f"{api_key[:4]}…{api_key[-4:]}"


def account_fingerprint(api_key: str) -> str:
    """A stable, non-reversible id for an API key, used as a rate-limit account id."""
    return "key:" + hashlib.sha256(api_key.encode()).hexdigest()[:16]
