"""Bytes to the declared type: one reusable msgspec decoder per endpoint, straight into the
public models.

What msgspec cannot do natively, declared on the model's fields and done here at C speed:

* ``BLANK_IS_NULL``: a field whose ``""`` on the wire means "not set" (Bitget's unset preset
  prices). msgspec cannot decode ``""`` into ``Decimal | None``, so before decoding, one
  ``split``/``join`` pass turns those values into ``null`` in the raw bytes, in the spelling
  the body uses (``"key":""`` or ``"key": ""``, read off the first such key). Only when
  decoding then fails, a slower pass also accepts blanks with odd whitespace (``"x": "  "``).
  The keys are read from the model, never guessed: one pass serves them all when their
  longest common suffix ends no other key of the model, else each key has its own pass.
* ``also_spelled(...)``: other wire names of a field (Bitget's ``openAvgPrice`` beside
  ``openPriceAvg``). Tried only when the decode fails, so the usual spelling costs nothing.
* Non-finite numbers (``NaN``, ``sNaN``, ``Infinity``) decode into ``Decimal`` without
  complaint; each row model refuses them in ``__post_init__`` with `non_finite`, which msgspec
  turns into a ``msgspec.ValidationError`` naming the field and the row. Measured on the
  50-row, 16 KB Bitget page, that is the cheapest way to keep the guarantee: about 5 us (plain
  attribute tests; ``all(map(...))`` over an ``attrgetter`` costs four times as much), where a
  scan of the raw bytes costs more before it starts (``bytes.lower()`` ~5 us, then each
  ``find`` of a 3-byte needle ~10-20 us), and would still have to handle JSON escapes (``\\u004e``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Generic, TypeVar

import msgspec

__all__ = ["BLANK_IS_NULL", "ReplyDecoder", "also_spelled", "non_finite", "wire_keys"]

T = TypeVar("T")

BLANK_IS_NULL = msgspec.Meta(extra={"blank_is_null": True})
"""``Annotated[Decimal | None, BLANK_IS_NULL] = None``: the wire's ``""`` (or blank) means
``None`` for this field."""


def also_spelled(*names: str) -> msgspec.Meta:
    """``Annotated[Decimal, also_spelled("openAvgPrice")]``: other wire names of this (required)
    field, tried when a reply lacks its usual one."""
    return msgspec.Meta(extra={"aliases": names})


def wire_keys(type_: Any) -> tuple[set[str], set[str], dict[str, str]]:
    """(every wire key, the blank-is-null keys, alias -> wire key) of the structs in ``type_``."""
    keys: set[str] = set()
    blank: set[str] = set()
    aliases: dict[str, str] = {}
    for field in _fields(msgspec.inspect.type_info(type_), set()):
        keys.add(field.encode_name)
        extra = getattr(field.type, "extra", None) or {}
        if extra.get("blank_is_null"):
            blank.add(field.encode_name)
        for alias in extra.get("aliases", ()):
            if not field.required:  # the other spelling is tried when the usual one is missing
                raise TypeError(f"{field.name}: only a required field can be also_spelled")
            aliases[alias] = field.encode_name
    return keys, blank, aliases


def _fields(info: Any, seen: set[int]) -> Iterator[msgspec.inspect.Field]:
    """Every field of every struct reachable from ``info`` (each struct once)."""
    if isinstance(info, msgspec.inspect.StructType):
        if id(info.cls) in seen:
            return
        seen.add(id(info.cls))
        for field in info.fields:
            yield field
            yield from _fields(field.type, seen)
        return
    for name in ("type", "item_type", "key_type", "value_type"):
        inner = getattr(info, name, None)
        if isinstance(inner, msgspec.inspect.Type):
            yield from _fields(inner, seen)
    for inner in getattr(info, "types", ()) or ():
        yield from _fields(inner, seen)
    for inner in getattr(info, "item_types", ()) or ():
        yield from _fields(inner, seen)


def _key_ends(blank: set[str], others: set[str]) -> tuple[bytes, ...]:
    """What the blank pass looks for: one suffix shared by every blank key and ending no other
    key of the model (from its last camel-case word on when that is enough: ``"Price"``, not
    ``"sPrice"``, measured faster), else every key on its own."""
    first = min(blank)
    n = len(first)
    while n and not all(k.endswith(first[len(first) - n :]) for k in blank):
        n -= 1
    suffix = first[len(first) - n :]
    word = max((i for i, c in enumerate(suffix) if c.isupper()), default=0)
    for end in (suffix[word:], suffix):
        if end and not any(k.endswith(end) for k in others):
            return (end.encode() + b'"',)
    return tuple(k.encode() + b'"' for k in sorted(blank))


class ReplyDecoder(Generic[T]):
    """Decodes whole reply bodies into ``type_`` (numeric strings accepted, ``strict=False``).

    The blank-is-null keys and the alternative spellings come from the model's field metadata
    (`BLANK_IS_NULL`, `also_spelled`). Raises ``msgspec.DecodeError``
    (``msgspec.ValidationError`` for a wrong shape or value), also for a body nested too deeply
    to decode (never a bare ``RecursionError``).
    """

    __slots__ = ("_alias_map", "_aliases", "_decoder", "_key_ends", "_lenient")

    def __init__(self, type_: type[T]) -> None:
        self._decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(type_, strict=False)
        keys, blank, aliases = wire_keys(type_)
        self._key_ends: tuple[bytes, ...] = ()
        self._lenient: re.Pattern[bytes] | None = None
        if blank:
            self._key_ends = _key_ends(blank, keys - blank)  # an unknown key is ignored anyway
            names = b"|".join(re.escape(k.encode()) for k in sorted(blank))
            self._lenient = re.compile(rb'("(?:' + names + rb')"\s*:\s*)"\s*"')
        self._aliases = (
            re.compile(rb'"(' + b"|".join(re.escape(a.encode()) for a in aliases) + rb')"(?=\s*:)')
            if aliases
            else None
        )
        self._alias_map = {a.encode(): k.encode() for a, k in aliases.items()}

    def decode(self, body: bytes) -> T:
        """The decoded reply; ``msgspec.DecodeError`` if ``body`` does not fit the type."""
        fast = body
        for key_end in self._key_ends:
            fast = _nulled(fast, key_end)
        try:
            return self._decoder.decode(fast)
        except msgspec.ValidationError:
            retry = self._lenient_body(body)
            if retry == fast:
                raise
        except RecursionError:
            # ~1000 nested brackets anywhere (even in an ignored field) exhaust msgspec's
            # depth limit; that is a malformed reply like any other.
            raise msgspec.DecodeError("reply nested too deeply") from None
        try:
            return self._decoder.decode(retry)
        except RecursionError:
            raise msgspec.DecodeError("reply nested too deeply") from None

    def _lenient_body(self, body: bytes) -> bytes:
        if self._lenient is not None:
            body = self._lenient.sub(rb"\1null", body)
        if self._aliases is not None:
            body = self._aliases.sub(lambda m: b'"' + self._alias_map[m[1]] + b'"', body)
        return body


def _nulled(body: bytes, key_end: bytes) -> bytes:
    """``body`` with ``""`` after keys ending in ``key_end`` as ``null``, in the body's own
    spelling (``"k":""`` or ``"k": ""``, read off the first such key): one split/join pass."""
    at = body.find(key_end)
    while at >= 0:
        at += len(key_end)
        if body.startswith(b':"', at):  # compact, as the exchanges send it: no slicing
            return (key_end + b":null").join(body.split(key_end + b':""'))
        colon = body.find(b":", at, at + 8)
        if colon >= 0 and not body[at:colon].strip():  # else a value that ends the same way
            space = body[colon + 1 : colon + 2]
            sep = body[at : colon + 1] + (space if space.isspace() else b"")
            return (key_end + sep + b"null").join(body.split(key_end + sep + b'""'))
        at = body.find(key_end, at)
    return body


def non_finite(obj: object, fields: tuple[str, ...]) -> str | None:
    """The first of ``fields`` of ``obj`` holding a NaN or infinite ``Decimal``, as a message.

    ``None`` when every one is finite (or ``None``). Call it from ``__post_init__``.
    """
    for name in fields:
        value: Decimal | None = getattr(obj, name)
        if value is not None and not value.is_finite():
            return f"{name} must be a finite number, got {str(value)!r}"
    return None
