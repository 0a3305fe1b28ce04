"""CoinW futures credentials and request signing (private REST)."""

from __future__ import annotations

from .._core.credentials import ApiKeyCredentials
from .._core.hmac_sign import hmac_sha256_base64, prehash

__all__ = ["CoinWCredentials", "auth_headers", "sign"]


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
