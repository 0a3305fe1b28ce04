"""The exchanges' documented example rows as exact bytes, and the money fields in them, for
tests that change one wire value and check how the client reads it (`with_value`).

They are ``exchange_async_sim.testing``'s `bitget_tracking_row` and `coinw_order_row` encoded;
pass them to its ``bitget_page`` / ``coinw_rows`` to get a whole reply."""

from __future__ import annotations

import msgspec

from exchange_async_sim.testing import bitget_tracking_row, coinw_order_row

BITGET_ROW = msgspec.json.encode(bitget_tracking_row())
"""``{"trackingNo":"1231231231",...,"followCount":"1"}``: Bitget's example, every value a string."""
BITGET_MONEY = {
    "open_leverage": b'"openLeverage":"20"',
    "open_price_avg": b'"openPriceAvg":"26248.9"',
    "open_size": b'"openSize":"0.1000000000000000"',
    "open_fee": b'"openFee":"-2.62489"',
    "preset_stop_surplus_price": b'"presetStopSurplusPrice":"27561.34"',
    "preset_stop_loss_price": b'"presetStopLossPrice":"25855.16"',
}

COINW_ROW = msgspec.json.encode(coinw_order_row())
"""``{"baseSize":0.002,...,"userId":1162061}``: CoinW's example, numbers as JSON numbers."""
COINW_MONEY = {
    "base_size": b'"baseSize":0.002',
    "fee": b'"fee":"0"',
    "index_price": b'"indexPrice":85880.1',
    "margin": b'"margin":84',
    "order_price": b'"orderPrice":84000',
    "stop_loss_price": b'"stopLossPrice":83000',
    "trigger_price": b'"triggerPrice":84400',
}


def with_value(row: bytes, field: bytes, value: bytes) -> bytes:
    """``row`` with the ``"key":value`` pair ``field`` given ``value`` instead."""
    key = field.split(b":", 1)[0]
    assert field in row
    return row.replace(field, key + b":" + value)


def numbered(tracking_no: int) -> bytes:
    """`BITGET_ROW` with ``trackingNo`` ``tracking_no`` (rows of a page told apart)."""
    return BITGET_ROW.replace(b'"1231231231"', b'"%d"' % tracking_no)
