"""Building the query string once: the exact bytes that are signed are the bytes sent."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .._errors import ValidationError

__all__ = ["encode_query"]

# Characters that no HTTP client or server re-encodes in a query value. Anything else would
# be percent-encoded by someone on the way, and the signature over the raw value would break.
_SAFE_VALUE = re.compile(r"[A-Za-z0-9\-_.~,:]*\Z")


def encode_query(params: Mapping[str, str]) -> str:
    """``k1=v1&k2=v2`` with keys sorted ascending and values as they are (never re-encoded).

    Values must already be strings of URL-safe characters; a value that would need encoding
    raises `ValidationError`, because no exchange verifies such a signature reliably.
    """
    parts = []
    for key in sorted(params):
        value = params[key]
        if not _SAFE_VALUE.match(value):
            raise ValidationError(f"{key} has characters that cannot be sent unencoded")
        parts.append(f"{key}={value}")
    return "&".join(parts)
