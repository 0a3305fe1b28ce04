"""Bitget credentials and request signing (HMAC keys)."""

from __future__ import annotations

from collections.abc import Mapping

from .._core.pipeline.signing import (
    ApiKeyCredentials,
    HmacSigner,
    hmac_sha256_base64,
    prehash,
    require_text,
)

__all__ = ["BitgetCredentials", "auth_headers", "request_signer", "sign"]


class BitgetCredentials(ApiKeyCredentials):
    """An API key of a Bitget account: key, secret and the passphrase chosen at creation.

    ``repr()`` shows the key masked and never the secret or the passphrase.
    """

    __slots__ = ("_passphrase",)

    def __init__(self, api_key: str, secret_key: str, passphrase: str) -> None:
        super().__init__(api_key, secret_key)
        self._passphrase = require_text("passphrase", passphrase)

    @property
    def passphrase(self) -> str:
        """The passphrase set when the key was created."""
        return self._passphrase


def sign(
    secret_key: str, timestamp_ms: int, method: str, path_and_query: str, body: str = ""
) -> str:
    """Bitget's ``ACCESS-SIGN``: base64(HMAC_SHA256(secret, ts + METHOD + path?query + body)).

    ``path_and_query`` must be exactly what is sent: the path, then ``?`` and the query string
    when there is one.
    """
    return hmac_sha256_base64(secret_key, prehash(timestamp_ms, method, path_and_query, body))


def auth_headers(
    credentials: BitgetCredentials,
    timestamp_ms: int,
    method: str,
    path_and_query: str,
    body: str = "",
) -> dict[str, str]:
    """The auth headers of a signed Bitget request (pure: no clock, no I/O)."""
    return {
        "ACCESS-KEY": credentials.api_key,
        "ACCESS-SIGN": sign(credentials.secret_key, timestamp_ms, method, path_and_query, body),
        "ACCESS-TIMESTAMP": str(timestamp_ms),
        "ACCESS-PASSPHRASE": credentials.passphrase,
    }


def request_signer(credentials: BitgetCredentials, headers: Mapping[str, str]) -> HmacSigner:
    """One client's signer: ``headers`` plus the same auth headers as `auth_headers`, with the
    key, the passphrase and the secret's bytes prepared once."""
    constant = {
        **headers,
        "ACCESS-KEY": credentials.api_key,
        "ACCESS-PASSPHRASE": credentials.passphrase,
    }
    return HmacSigner(
        credentials.secret_key,
        constant,
        sign_header="ACCESS-SIGN",
        time_header="ACCESS-TIMESTAMP",
    )
