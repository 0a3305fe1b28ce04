"""The reply envelope both exchanges wrap their data in."""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

__all__ = ["Envelope", "StatusOnly", "status_decoder"]

T = TypeVar("T")


class Envelope(msgspec.Struct, Generic[T]):
    """``{"code": ..., "msg": ..., "data": ...}``; CoinW sometimes says ``message`` for ``msg``.

    Unknown fields (``requestTime``, ``retry``, ``success``) are ignored.
    """

    code: str | int | None = None
    msg: str | None = None
    message: str | None = None
    data: T | None = None

    @property
    def text(self) -> str:
        """The human-readable message, whichever field carried it."""
        return self.msg or self.message or ""


class StatusOnly(msgspec.Struct):
    """Just the code and message of a reply whose ``data`` did not decode."""

    code: str | int | None = None
    msg: str | None = None
    message: str | None = None

    @property
    def text(self) -> str:
        """The human-readable message, whichever field carried it."""
        return self.msg or self.message or ""


status_decoder: msgspec.json.Decoder[StatusOnly] = msgspec.json.Decoder(StatusOnly)
