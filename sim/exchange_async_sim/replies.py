"""Exchange replies as bytes, for tests that answer a client themselves (a local server's
handler, the SDK's ``MemoryTransport``) instead of running the whole simulator.

Every builder returns the JSON body the exchange would send. A row (or ``data``) may be a
mapping, encoded here, or ``bytes``, spliced in verbatim: a test that checks how a client reads
an exact wire spelling (``"0.1000000000000000"``, a 20-digit integer, a blank ``""``) writes
that row as bytes. The shapes are the ones the simulator itself sends::

    bitget_page(bitget_tracking_row(trackingNo="7"), end_id="7")
    coinw_rows(coinw_order_row(id=33308741701971947), coinw_order_row(id=7))
    bitget_error("40014", "Invalid ApiKey")
    coinw_error(29001, "Too many requests")
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

__all__ = [
    "BITGET_REQUEST_TIME",
    "bitget_error",
    "bitget_page",
    "bitget_reply",
    "bitget_tracking_row",
    "coinw_error",
    "coinw_order_row",
    "coinw_reply",
    "coinw_rows",
]

BITGET_REQUEST_TIME = 1695801601016
"""The ``requestTime`` (ms) the builders put in a Bitget envelope: the documented example's."""

Row = Mapping[str, Any] | bytes


def _json(value: Any) -> bytes:
    """``value`` as JSON; ``bytes`` are taken to be JSON already."""
    return value if isinstance(value, bytes) else msgspec.json.encode(value)


def _array(rows: Iterable[Row]) -> bytes:
    return b"[" + b",".join(_json(row) for row in rows) + b"]"


def bitget_reply(
    data: Any,
    *,
    code: str = "00000",
    msg: str = "success",
    request_time: int = BITGET_REQUEST_TIME,
) -> bytes:
    """Bitget's envelope ``{"code", "msg", "requestTime", "data"}`` around ``data`` (a JSON
    value, or ``bytes`` of JSON; ``None`` gives ``"data": null``)."""
    head = msgspec.json.encode({"code": code, "msg": msg, "requestTime": request_time})
    return head[:-1] + b',"data":' + _json(data) + b"}"


def bitget_page(*rows: Row, end_id: str | bytes | None = "1") -> bytes:
    """A successful Bitget cursor page (``order-current-track``, ``order-history-track``):
    ``{"trackingList": rows, "endId": end_id}`` in the envelope; ``end_id=None`` sends null,
    ``bytes`` go in verbatim (``b"12"``, a number where Bitget sends a string)."""
    data = b'{"trackingList":' + _array(rows) + b',"endId":' + _json(end_id) + b"}"
    return bitget_reply(data)


def bitget_error(code: str, msg: str, *, request_time: int = BITGET_REQUEST_TIME) -> bytes:
    """Bitget's error reply: the envelope with ``code`` (e.g. ``"40014"``) and ``"data": null``.
    The HTTP status goes with it (Bitget sends 400 for most, 429 for its rate limit)."""
    return bitget_reply(None, code=code, msg=msg, request_time=request_time)


def coinw_reply(data: Any, *, code: int = 0, msg: str = "") -> bytes:
    """CoinW's envelope ``{"code", "data", "msg"}`` around ``data`` (a JSON value or bytes)."""
    return b'{"code":' + _json(code) + b',"data":' + _json(data) + b',"msg":' + _json(msg) + b"}"


def coinw_rows(*rows: Row) -> bytes:
    """A successful CoinW list reply (``GET /v1/perpum/order``): ``rows`` as ``data``."""
    return coinw_reply(_array(rows))


def coinw_error(code: int, msg: str) -> bytes:
    """CoinW's usual error reply ``{"code", "data": null, "msg"}`` (HTTP 200 as CoinW sends
    it; e.g. 29001 for its rate limit)."""
    return coinw_reply(None, code=code, msg=msg)


def bitget_tracking_row(**fields: str) -> dict[str, str]:
    """One current tracking order as Bitget documents it (every value a JSON string), with
    ``fields`` (wire names, e.g. ``trackingNo="7"``) replacing the example's values."""
    row = {
        "trackingNo": "1231231231",
        "openOrderId": "123123123123",
        "symbol": "BTCUSDT",
        "posSide": "long",
        "openLeverage": "20",
        "openPriceAvg": "26248.9",
        "openTime": "1695801595658",
        "openSize": "0.1000000000000000",
        "presetStopSurplusPrice": "27561.34",
        "presetStopLossPrice": "25855.16",
        "openFee": "-2.62489",
        "followCount": "1",
    }
    return row | fields


def coinw_order_row(**fields: Any) -> dict[str, Any]:
    """One unfilled futures order as CoinW documents it (numbers as JSON numbers, fees as
    strings), with ``fields`` (wire names, e.g. ``id=7``) replacing the example's values."""
    row: dict[str, Any] = {
        "baseSize": 0.002,
        "contractType": 1,
        "createdDate": 1740905644000,
        "currentPiece": 2,
        "direction": "long",
        "fee": "0",
        "frozenFee": "0.0168",
        "id": 33308741701971947,
        "indexPrice": 85880.1,
        "instrument": "BTC",
        "leverage": 2,
        "liquidateBy": "manual",
        "makerFee": "0.0001",
        "margin": 84,
        "orderPrice": 84000,
        "orderStatus": "unFinish",
        "originalType": "plan",
        "posType": "plan",
        "positionMargin": 84,
        "positionModel": 0,
        "quantity": 100,
        "quantityUnit": 0,
        "source": "api",
        "status": "open",
        "stopLossPrice": 83000,
        "stopLossRate": 0.02380952,
        "stopProfitPrice": 95000,
        "stopProfitRate": 0.2619048,
        "takerFee": "0.0006",
        "thirdOrderId": "103-12-53",
        "totalPiece": 2,
        "triggerPrice": 84400,
        "triggerType": 1,
        "updatedDate": 1740905777000,
        "userId": 1162061,
    }
    return row | fields
