"""The request a venue handles and the reply it decides: plain data, no HTTP library."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qsl, unquote

import msgspec

__all__ = [
    "NO_HEADERS",
    "Headers",
    "Incoming",
    "Refusal",
    "Reply",
    "incoming",
    "json_reply",
    "plain",
    "text_reply",
]

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


class Headers(Mapping[str, str]):
    """Request headers that look up case-insensitively (first value of each name)."""

    __slots__ = ("_items",)

    def __init__(self, headers: Mapping[str, str]) -> None:
        items: dict[str, tuple[str, str]] = {}
        for name, value in headers.items():
            items.setdefault(name.lower(), (name, value))
        self._items = items

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)


def incoming(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    remote: str,
    time: float,
) -> Incoming:
    """An :class:`Incoming` from the raw request line: ``target`` is ``path?query`` exactly as
    received (signatures are checked against it); the decoded query keeps the first value of
    each name, blanks included."""
    path, _, raw_query = target.partition("?")
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query.setdefault(name, value)
    return Incoming(
        method=method.upper(),
        path=unquote(path),
        target=target,
        raw_query=raw_query,
        query=query,
        headers=Headers(headers),
        remote=remote,
        time=time,
        body=body.decode("utf-8", errors="replace"),
    )


class Refusal(Exception):
    """Raised by an endpoint to refuse a request with an exchange error code.

    The venue renders it in the exchange's error shape.
    """

    def __init__(self, code: str, msg: str, status: int = 400) -> None:
        super().__init__(f"{code} {msg}")
        self.code = code
        self.msg = msg
        self.status = status
