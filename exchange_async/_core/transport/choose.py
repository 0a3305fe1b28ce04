"""`transport_for`: which transport a client builds for itself, from its options.

The lean transport for http:// and https:// base URLs; aiohttp's for a caller's own aiohttp
session and for ``transport="aiohttp"``. Nothing here imports aiohttp: a client that does not
use it never loads it.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from ..._errors import ValidationError
from .base import Transport

if TYPE_CHECKING:
    from .aiohttp import HttpSession

__all__ = ["TRANSPORT_NAMES", "check_transport", "resolve_http_session", "transport_for"]

TRANSPORT_NAMES = ("lean", "aiohttp")
"""The transports a client can be asked for by name (``transport="aiohttp"``)."""


def check_transport(transport: object) -> None:
    """Raise `ValidationError` unless ``transport`` is None, a name, or a `Transport`."""
    if transport is None or transport in TRANSPORT_NAMES:
        return
    if isinstance(transport, str):
        raise ValidationError(f"transport must be one of {TRANSPORT_NAMES} or a Transport")
    if not (
        callable(getattr(transport, "send", None)) and callable(getattr(transport, "aclose", None))
    ):
        raise ValidationError("transport must have async send() and aclose() (a Transport)")


def transport_for(
    base_url: str,
    *,
    transport: str | None,
    http_session: HttpSession | None,
    max_connections: int,
    max_reply_bytes: int,
) -> Transport:
    """The transport a client creates (and owns) for ``base_url``."""
    if http_session is not None or transport == "aiohttp":
        from .aiohttp import AiohttpTransport

        return AiohttpTransport(
            http_session=http_session,
            max_connections=max_connections,
            max_reply_bytes=max_reply_bytes,
        )
    from .lean import LeanTransport

    return LeanTransport(max_connections=max_connections, max_reply_bytes=max_reply_bytes)


def resolve_http_session(
    http_session: HttpSession | None, session: HttpSession | None
) -> HttpSession | None:
    """``http_session=``, or the deprecated ``session=`` alias (with a DeprecationWarning)."""
    for name, value in (("http_session", http_session), ("session", session)):
        if value is not None and not hasattr(value, "closed"):  # duck-typed: test doubles
            raise ValidationError(f"{name} must be an aiohttp.ClientSession")
    if session is None:
        return http_session
    warnings.warn(
        "session= is deprecated; pass the aiohttp session as http_session=",
        DeprecationWarning,
        stacklevel=3,
    )
    if http_session is not None:
        raise ValidationError("pass http_session= only (session= is its deprecated alias)")
    return session
