"""The request a venue handles and the reply it decides, free of aiohttp types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import msgspec

__all__ = ["NO_HEADERS", "Incoming", "Refusal", "Reply", "json_reply", "plain", "text_reply"]

NO_HEADERS: Mapping[str, str] = MappingProxyType({})
"""An empty, read-only header mapping."""


@dataclass(frozen=True, slots=True)
class Incoming:
    """One request: ``target`` is the raw request target (path, ``?``, raw query) as it
    arrived and is what signatures are checked against; ``query`` holds the decoded
    parameters (first value of each); ``headers`` look up case-insensitively."""

    method: str
    path: str
    target: str
    raw_query: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    remote: str
    time: float
    body: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """What to answer: HTTP status, body bytes, and the exchange code for the arrival log.

    ``disconnect`` means close the connection without any reply.
    """

    status: int
    body: bytes = b""
    code: str = ""
    content_type: str = "application/json"
    headers: Mapping[str, str] = field(default_factory=lambda: NO_HEADERS)
    disconnect: bool = False


def json_reply(
    status: int, payload: Mapping[str, Any], code: str, headers: Mapping[str, str] = NO_HEADERS
) -> Reply:
    """A JSON reply; ints stay exact JSON integers, ``msgspec.Raw`` values go in verbatim."""
    return Reply(status, msgspec.json.encode(payload), code, headers=headers)


def text_reply(status: int, text: str, content_type: str = "text/plain") -> Reply:
    """A non-JSON reply (proxy error pages and the like); it carries no exchange code."""
    return Reply(status, text.encode(), "", content_type=content_type)


def plain(value: Decimal) -> str:
    """A decimal as positional text, never in exponent form: ``Decimal("1E+2")`` → ``"100"``."""
    return format(value, "f")


class Refusal(Exception):
    """Raised by an endpoint to refuse a request with an exchange error code.

    The venue renders it in the exchange's error shape.
    """

    def __init__(self, code: str, msg: str, status: int = 400) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.status = status
