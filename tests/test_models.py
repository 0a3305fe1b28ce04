"""Decoding the exchanges' documented examples, and the variants they are known to send."""

from __future__ import annotations

import json
import re
import typing
from decimal import Decimal
from typing import Annotated, Any

import msgspec
import pytest

import exchange_async as ea
from exchange_async._core.pipeline.decoder import BLANK_IS_NULL, ReplyDecoder, also_spelled
from exchange_async.bitget.endpoints import CURRENT_TRACK
from exchange_async.coinw.endpoints import ORDER_INFO

BITGET_SEED = b"""{
"code": "00000", "msg": "success", "requestTime": 1695801601016,
"data": {"trackingList": [{
  "trackingNo": "1231231231", "openOrderId": "123123123123", "symbol": "BTCUSDT",
  "posSide": "long", "openLeverage": "20", "openPriceAvg": "26248.9",
  "openTime": "1695801595658", "openSize": "0.1000000000000000",
  "presetStopSurplusPrice": "27561.34", "presetStopLossPrice": "25855.16",
  "openFee": "-2.62489", "followCount": "1"}],
 "endId": "1"}}"""

# seeds/001: the docs print a Python dict; this is the same reply as JSON, with a real
# (unrounded) id, as CoinW sends it.
COINW_SEED = b"""{"code": 0, "data": [{"baseSize": 0.002, "contractType": 1,
 "createdDate": 1740905644000, "currentPiece": 2, "direction": "long", "fee": "0",
 "frozenFee": "0.0168", "id": 33308741701971947, "indexPrice": 85880.1, "instrument": "BTC",
 "leverage": 2, "liquidateBy": "manual", "makerFee": "0.0001", "margin": 84,
 "orderPrice": 84000, "orderStatus": "unFinish", "originalType": "plan", "posType": "plan",
 "positionMargin": 84, "positionModel": 0, "quantity": 100, "quantityUnit": 0,
 "source": "api", "status": "open", "stopLossPrice": 83000, "stopLossRate": 0.02380952,
 "stopProfitPrice": 95000, "stopProfitRate": 0.2619048, "takerFee": "0.0006",
 "thirdOrderId": "103-12-53", "totalPiece": 2, "triggerPrice": 84400, "triggerType": 1,
 "updatedDate": 1740905777000, "userId": 1162061}], "msg": ""}"""


def _strings_variant(body: bytes) -> bytes:
    """The same reply with every number as a string, as CoinW's history endpoints send it."""
    quoted = re.sub(rb'(":\s*)(-?\d+(?:\.\d+)?)(?=[,}\s])', rb'\1"\2"', body)
    return quoted.replace(b'"code": "0"', b'"code": 0')


def _page(body: bytes) -> ea.TrackingOrdersPage:
    page = CURRENT_TRACK.decoder.decode(body).data
    assert isinstance(page, ea.TrackingOrdersPage)
    return page


def test_bitget_seed_example() -> None:
    page = _page(BITGET_SEED)
    assert page.end_id == "1"
    (order,) = page.tracking_list
    assert order == ea.TrackingOrder(
        tracking_no="1231231231",
        open_order_id="123123123123",
        symbol="BTCUSDT",
        pos_side="long",
        open_leverage=Decimal("20"),
        open_price_avg=Decimal("26248.9"),
        open_time=1695801595658,
        open_size=Decimal("0.1000000000000000"),
        preset_stop_surplus_price=Decimal("27561.34"),
        preset_stop_loss_price=Decimal("25855.16"),
        open_fee=Decimal("-2.62489"),
        follow_count=1,
    )
    assert order.pos_side == ea.PosSide.LONG
    assert isinstance(order.open_time, int) and isinstance(order.follow_count, int)


@pytest.mark.parametrize("blank", ['""', "null", '"  "'])
def test_bitget_unset_prices_are_none(blank: str) -> None:
    body = BITGET_SEED.replace(b'"27561.34"', blank.encode()).replace(b'"25855.16"', b'""')
    (order,) = _page(body).tracking_list
    assert order.preset_stop_surplus_price is None
    assert order.preset_stop_loss_price is None


def test_bitget_variants_request_time_string_unknown_fields_numeric_end_id() -> None:
    body = (
        BITGET_SEED.replace(b'"requestTime": 1695801601016', b'"requestTime": "1695801601016"')
        .replace(b'"followCount": "1"', b'"followCount": "1", "newField": {"x": 1}')
        .replace(b'"endId": "1"', b'"endId": 1')
    )
    page = _page(body)
    assert page.end_id == "1"
    assert page.tracking_list[0].follow_count == 1


def test_bitget_empty_page_has_no_cursor() -> None:
    body = b'{"code":"00000","msg":"success","data":{"trackingList":[],"endId":null}}'
    page = _page(body)
    assert page.tracking_list == [] and page.end_id is None


def _coinw_order(body: bytes) -> ea.OrderInfo:
    envelope = ORDER_INFO.decoder.decode(body)
    assert envelope.data is not None
    order: ea.OrderInfo = envelope.data[0]
    assert len(envelope.data) == 1
    return order


EXPECTED_COINW = {
    "id": 33308741701971947,
    "user_id": 1162061,
    "created_date": 1740905644000,
    "updated_date": 1740905777000,
    "contract_type": 1,
    "position_model": 0,
    "quantity_unit": 0,
    "trigger_type": 1,
    "base_size": Decimal("0.002"),
    "current_piece": Decimal("2"),
    "fee": Decimal("0"),
    "frozen_fee": Decimal("0.0168"),
    "index_price": Decimal("85880.1"),
    "leverage": Decimal("2"),
    "maker_fee": Decimal("0.0001"),
    "taker_fee": Decimal("0.0006"),
    "margin": Decimal("84"),
    "order_price": Decimal("84000"),
    "position_margin": Decimal("84"),
    "quantity": Decimal("100"),
    "total_piece": Decimal("2"),
    "stop_loss_price": Decimal("83000"),
    "stop_loss_rate": Decimal("0.02380952"),
    "stop_profit_price": Decimal("95000"),
    "stop_profit_rate": Decimal("0.2619048"),
    "stop_loss_order_price": None,
    "stop_profit_order_price": None,
    "trigger_price": Decimal("84400"),
    "direction": "long",
    "instrument": "BTC",
    "liquidate_by": "manual",
    "order_status": "unFinish",
    "original_type": "plan",
    "pos_type": "plan",
    "status": "open",
    "source": "api",
    "third_order_id": "103-12-53",
}


def test_coinw_seed_example_field_by_field() -> None:
    order = _coinw_order(COINW_SEED)
    for field, expected in EXPECTED_COINW.items():
        value = getattr(order, field)
        assert value == expected, field
        assert type(value) is type(expected), field


def test_coinw_all_strings_variant_decodes_to_the_same_values() -> None:
    strings = _strings_variant(COINW_SEED)
    assert b'"id": "33308741701971947"' in strings
    assert _coinw_order(strings) == _coinw_order(COINW_SEED)


def test_coinw_huge_ids_survive_exactly() -> None:
    big = 2**62 + 12345  # well above 2**53: a float would round it
    body = COINW_SEED.replace(b"33308741701971947", str(big).encode())
    assert _coinw_order(body).id == big
    body = COINW_SEED.replace(b"33308741701971947", f'"{big}"'.encode())
    assert _coinw_order(body).id == big


def test_coinw_missing_optionals_unknown_fields_and_new_enum_values() -> None:
    body = (
        COINW_SEED.replace(b'"stopLossPrice": 83000, ', b"")
        .replace(b'"thirdOrderId": "103-12-53", ', b'"thirdOrderId": null, ')
        .replace(b'"triggerType": 1,', b'"brandNew": [1, 2],')
        .replace(b'"orderStatus": "unFinish"', b'"orderStatus": "someFutureStatus"')
    )
    order = _coinw_order(body)
    assert order.stop_loss_price is None
    assert order.third_order_id is None
    assert order.trigger_type is None
    assert order.order_status == "someFutureStatus"


def test_coinw_message_style_error_envelope() -> None:
    body = b'{"code": 6003, "message": "require more permission", "retry": false, "success": false}'
    envelope = ORDER_INFO.decoder.decode(body)
    assert envelope.code == 6003 and envelope.text == "require more permission"


# -- what the models declare drives the decoder ------------------------------------------------


class _Blanks(msgspec.Struct, kw_only=True, rename="camel"):
    avg_price: Annotated[Decimal, also_spelled("priceAvg")]
    stop_price: Annotated[Decimal | None, BLANK_IS_NULL] = None
    limit_price: Annotated[Decimal | None, BLANK_IS_NULL] = None
    trigger_price: Decimal | None = None  # ends in "Price" too, but "" is NOT null for it
    stop_type: Annotated[str | None, BLANK_IS_NULL] = None


def test_blank_is_null_only_for_the_fields_that_say_so() -> None:
    decoder = ReplyDecoder(list[_Blanks])
    body = b'[{"stopPrice":"","limitPrice": "", "stopType":"","avgPrice":"1"},'
    body += b'{"stopPrice":"2","avgPrice":"1"}]'
    first, second = decoder.decode(body)
    assert (first.stop_price, first.limit_price, first.stop_type) == (None, None, None)
    assert second.stop_price == Decimal(2)
    with pytest.raises(msgspec.ValidationError, match="triggerPrice"):
        decoder.decode(b'[{"triggerPrice":"","avgPrice":"1"}]')  # a field that did not say so


def test_other_spellings_of_a_field_are_accepted() -> None:
    decoder = ReplyDecoder(list[_Blanks])
    (row,) = decoder.decode(b'[{"priceAvg" : "26248.9", "stopPrice": ""}]')
    assert row.avg_price == Decimal("26248.9") and row.stop_price is None
    with pytest.raises(msgspec.ValidationError, match="avgPrice"):
        decoder.decode(b'[{"x":"priceAvg"}]')  # a value, not a key

    class Optional(msgspec.Struct):
        avg_price: Annotated[Decimal | None, also_spelled("priceAvg")] = None

    with pytest.raises(TypeError, match="required"):
        ReplyDecoder(Optional)


@pytest.mark.parametrize(
    ("model", "row"),
    [
        (ea.TrackingOrder, json.loads(BITGET_SEED)["data"]["trackingList"][0]),
        (ea.OrderInfo, json.loads(COINW_SEED)["data"][0]),
    ],
)
def test_every_decimal_field_refuses_non_finite_values(model: type, row: dict[str, Any]) -> None:
    # The per-row check is hand-written for speed: this proves it covers every Decimal field.
    decoder = ReplyDecoder(list[model])  # type: ignore[valid-type]
    money = [f for f in msgspec.structs.fields(model) if Decimal in _types(f.type)]
    assert len(money) >= 6
    for field in money:
        for bad in ("NaN", "-Infinity", "sNaN"):
            with pytest.raises(msgspec.ValidationError, match=field.name):
                decoder.decode(msgspec.json.encode([{**row, field.encode_name: bad}]))


def _types(annotation: Any) -> tuple[Any, ...]:
    inner = typing.get_args(annotation)
    if typing.get_origin(annotation) is Annotated:
        return _types(inner[0])
    return inner or (annotation,)


def test_a_value_ending_like_a_blank_key_changes_nothing() -> None:
    decoder = ReplyDecoder(list[_Blanks])
    body = b'[{"avgPrice":"1","note":"xPrice","id":"","stopPrice":""}]'
    (row,) = decoder.decode(body)  # "xPrice" is a value: the pass must not take it for a key
    assert row.stop_price is None

    class WithId(msgspec.Struct):
        id: str | None  # null would decode too: only the pass can tell "" from null here
        stop_price: Annotated[Decimal | None, BLANK_IS_NULL] = msgspec.field(
            default=None, name="stopPrice"
        )

    with_id = ReplyDecoder(list[WithId])
    (kept,) = with_id.decode(b'[{"note":"xPrice","id":"","stopPrice":"1"}]')
    assert kept.id == "" and kept.stop_price == 1
    (kept,) = with_id.decode(b'[{"note":"xPrice", "id": "", "stopPrice": ""}]')
    assert kept.id == "" and kept.stop_price is None
