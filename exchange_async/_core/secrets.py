"""Helpers that keep secrets out of reprs, logs and exception messages."""

from __future__ import annotations

import hashlib

from .._errors import ValidationError

__all__ = ["MAX_CREDENTIAL_LENGTH", "account_fingerprint", "mask_key", "require_text"]

MAX_CREDENTIAL_LENGTH = 512
"""Longer than any exchange's key, secret or passphrase; a longer value is a wrong file read."""


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
