"""CoinW futures credentials and request signing (private REST)."""

from __future__ import annotations

from collections.abc import Mapping

from .._core.pipeline.signing import ApiKeyCredentials, HmacSigner, hmac_sha256_base64, prehash

__all__ = ["CoinWCredentials", "auth_headers", "request_signer", "sign"]


class CoinWCredentials(ApiKeyCredentials):
    """An API key of a CoinW account. ``repr()`` shows the key masked, never the secret."""

    __slots__ = ()


def sign(
    secret_key: str, timestamp_ms: int, method: str, path_and_query: str, body: str = ""
) -> str:
    """CoinW futures ``sign``: base64(HMAC_SHA256(secret, ts + METHOD + path?query + body)).

    The server checks the query exactly as it arrives, so ``path_and_query`` must be the bytes
    sent (``sourceIds`` commas unencoded). This is not the MD5 scheme of CoinW's spot API.
    """
    return hmac_sha256_base64(secret_key, prehash(timestamp_ms, method, path_and_query, body))


def auth_headers(
    credentials: CoinWCredentials,
    timestamp_ms: int,
    method: str,
    path_and_query: str,
    body: str = "",
) -> dict[str, str]:
    """The auth headers of a signed CoinW futures request (pure: no clock, no I/O)."""
    return {
        "api_key": credentials.api_key,
        "timestamp": str(timestamp_ms),
        "sign": sign(credentials.secret_key, timestamp_ms, method, path_and_query, body),
    }


def request_signer(credentials: CoinWCredentials, headers: Mapping[str, str]) -> HmacSigner:
    """One client's signer: ``headers`` plus the same auth headers as `auth_headers`, with the
    key and the secret's bytes prepared once."""
    constant = {**headers, "api_key": credentials.api_key}
    return HmacSigner(credentials.secret_key, constant, sign_header="sign", time_header="timestamp")
