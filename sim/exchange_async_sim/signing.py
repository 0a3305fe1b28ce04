"""The referee's own signature check, written from the exchanges' documentation.

Nothing here comes from the SDK it judges: a signing bug in a client must fail against this.

- Bitget (``ACCESS-SIGN``) and CoinW futures (``sign``) both document
  ``base64(HMAC_SHA256(secret, timestamp + METHOD + path + ("?" + query if query) + body))``,
  where ``path?query`` is the request target exactly as it was sent (never re-sorted,
  re-encoded or decoded) and ``body`` the raw body text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["expected_signature", "signature_matches"]


def expected_signature(secret: str, timestamp: str, method: str, target: str, body: str) -> str:
    """The signature a request must carry: ``target`` is the raw ``path?query`` received."""
    message = timestamp + method.upper() + target + body
    digest = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signature_matches(
    signature: str, secret: str, timestamp: str, method: str, target: str, body: str
) -> bool:
    """Whether ``signature`` is the one documented for this request (constant-time compare)."""
    expected = expected_signature(secret, timestamp, method, target, body)
    return hmac.compare_digest(signature.encode("utf-8"), expected.encode("utf-8"))
