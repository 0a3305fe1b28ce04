"""CoinW futures credentials and request signing (private REST)."""

from __future__ import annotations

from .._core.hmac_sign import hmac_sha256_base64, prehash
from .._core.secrets import mask_key, require_text

__all__ = ["CoinWCredentials", "auth_headers", "sign"]


class CoinWCredentials:
    """An API key of a CoinW account. ``repr()`` shows the key masked, never the secret."""

    __slots__ = ("_secret_key", "api_key")

    def __init__(self, api_key: str, secret_key: str) -> None:
        self.api_key = require_text("api_key", api_key)
        self._secret_key = require_text("secret_key", secret_key)

    @property
    def secret_key(self) -> str:
        """The secret used to sign requests."""
        return self._secret_key

    def __repr__(self) -> str:
        return f"CoinWCredentials(api_key={mask_key(self.api_key)!r})"

    __str__ = __repr__

    def __reduce__(self) -> str:  # pragma: no cover - refuse to pickle secrets by accident
        raise TypeError("CoinWCredentials cannot be pickled")


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
    """The headers of a signed CoinW futures request."""
    return {
        "api_key": credentials.api_key,
        "timestamp": str(timestamp_ms),
        "sign": sign(credentials.secret_key, timestamp_ms, method, path_and_query, body),
    }
