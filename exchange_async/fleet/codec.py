"""Events and orders as bytes in Redis (msgpack), and back: ``Decimal`` and ``int`` exact.

An order is stored as its own msgpack map (the exchange model's wire names); a stream entry's
``data`` is an envelope naming the event type, its plain fields, and the order(s) as raw
msgpack. Reading needs each exchange's order model: the two built-in exchanges are known, a
third registers its own with `register_order_type`.
"""

from __future__ import annotations

import importlib
from typing import Any

import msgspec

from ..poller.events import (
    AccountError,
    AccountRateLimited,
    AccountRecovered,
    AccountStopped,
    AccountSynced,
    Event,
    Order,
    OrderChanged,
    OrderClosed,
    OrderOpened,
)

__all__ = ["decode_event", "decode_order", "encode_event", "encode_order", "register_order_type"]

_EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        OrderOpened,
        OrderChanged,
        OrderClosed,
        AccountSynced,
        AccountError,
        AccountRateLimited,
        AccountRecovered,
        AccountStopped,
    )
}
_BUILT_IN = {
    "bitget": ("exchange_async.bitget.models", "TrackingOrder"),
    "coinw": ("exchange_async.coinw.models", "OrderInfo"),
}


class _Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """Every field any event has (each event type uses some): one decode, exact types."""

    type: str
    account: str
    exchange: str
    at: float
    key: str | None = None
    order: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    previous: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    initial: bool = False
    changes: tuple[str, ...] = ()
    orders: int = 0
    error: str = ""
    message: str = ""
    code: str | None = None
    failures: int = 0
    retry_in: float = 0.0
    reason: str = ""


_decoders: dict[str, msgspec.msgpack.Decoder[Any]] = {}
_encoder = msgspec.msgpack.Encoder()
_envelope = msgspec.msgpack.Decoder(_Envelope)


def register_order_type(exchange: str, order_type: type[msgspec.Struct]) -> None:
    """Tell the fleet which model ``exchange``'s orders decode into (for a third exchange
    plugged in through `Poller.add`; Bitget and CoinW are known)."""
    _decoders[exchange] = msgspec.msgpack.Decoder(order_type)


def _decoder(exchange: str) -> msgspec.msgpack.Decoder[Any]:
    decoder = _decoders.get(exchange)
    if decoder is None:
        if exchange not in _BUILT_IN:
            raise LookupError(f"no order model registered for exchange {exchange!r}")
        module, name = _BUILT_IN[exchange]
        register_order_type(exchange, getattr(importlib.import_module(module), name))
        decoder = _decoders[exchange]
    return decoder


def encode_order(order: Order) -> bytes:
    """``order`` as msgpack (a map of its wire names)."""
    return _encoder.encode(order)


def decode_order(exchange: str, data: bytes) -> Order:
    """The order `encode_order` wrote, as ``exchange``'s model."""
    order: Order = _decoder(exchange).decode(data)
    return order


def encode_event(event: Event) -> bytes:
    """``event`` as the stream's envelope (its ``event_id`` is the stream entry's own field)."""
    fields: dict[str, Any] = {"type": type(event).__name__}
    for name in event.__struct_fields__:
        if name == "event_id":
            continue
        value = getattr(event, name)
        if name in ("order", "previous"):
            value = msgspec.Raw(encode_order(value))
        fields[name] = value
    return _encoder.encode(fields)


def decode_event(data: bytes, event_id: str) -> Event:
    """The event `encode_event` wrote, with ``event_id``; its orders as their exchange's model."""
    envelope = _envelope.decode(data)
    cls = _EVENT_TYPES[envelope.type]
    fields: dict[str, Any] = {}
    for name in cls.__struct_fields__:
        value = getattr(envelope, name, None)
        if isinstance(value, msgspec.Raw):
            value = _decoder(envelope.exchange).decode(value)
        fields[name] = value
    fields["event_id"] = event_id
    return cls(**fields)
