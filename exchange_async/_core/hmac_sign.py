"""The HMAC-SHA256 + base64 primitive both exchanges sign with."""

from __future__ import annotations

import base64
import hashlib
import hmac

__all__ = ["hmac_sha256_base64", "prehash"]


def prehash(timestamp_ms: int, method: str, path_and_query: str, body: str) -> str:
    """``timestamp + METHOD + path + ?query + body``: the string both exchanges sign."""
    return f"{timestamp_ms}{method.upper()}{path_and_query}{body}"


def hmac_sha256_base64(secret: str, message: str) -> str:
    """base64(HMAC_SHA256(secret, message)) as text."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()
