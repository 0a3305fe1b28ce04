"""CoinW's models: its documented example (numbers, and every number as a string), huge ids
exact, hostile values in every field (a model or a `DecodeError` naming the field), and through
the client over a real local server.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from support.hostile import (
    DECODE,
    JSON,
    NON_FINITE,
    NON_FINITE_TEXT,
    NON_NUMERIC,
    ODD_NUMBERS,
    check_coinw,
    fields,
    names_field,
)
from support.rows import COINW_MONEY, COINW_ROW, with_value
from support.servers import ORDER, base_url, hostile_server, replying

import exchange_async as ea
from exchange_async.coinw.endpoints import ORDER_INFO
from exchange_async.coinw.models import decode_order_info
from exchange_async_sim.testing import coinw_rows

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


NO_RETRY = ea.RetryPolicy(max_attempts=1)
COINW_CREDS = ea.CoinWCredentials("cw-key-hostile", "cw-secret-hostile")


@pytest.mark.parametrize("field", list(COINW_MONEY))
@pytest.mark.parametrize("value", NON_FINITE + NON_NUMERIC)
def test_coinw_bad_money_is_a_decode_error_naming_the_field(field: str, value: bytes) -> None:
    body = coinw_rows(with_value(COINW_ROW, COINW_MONEY[field], value))
    with pytest.raises(ea.DecodeError) as caught:
        decode_order_info(body)
    assert names_field(caught.value, field)


@pytest.mark.parametrize("style", ["numbers", "strings"])
def test_coinw_ids_stay_exact_above_2_53(style: str) -> None:
    big = 2**53 + 1  # 9007199254740993: a double would make it ...992
    value = str(big).encode()
    row = COINW_ROW.replace(b"33308741701971947", value if style == "numbers" else b'"%s"' % value)
    (order,) = decode_order_info(coinw_rows(row))
    assert order.id == big and type(order.id) is int


@pytest.mark.parametrize("value", [b"-1", b"1.5", b'"12a"', b"1e400", b"9" * 30, b"null"])
def test_coinw_bad_ids_are_decode_errors(value: bytes) -> None:
    row = COINW_ROW.replace(b"33308741701971947", value)
    with pytest.raises(ea.DecodeError, match="id"):
        decode_order_info(coinw_rows(row))


@pytest.mark.parametrize("value", [b'"NaN"', b'"N/A"', b'"sNaN"', b'"-Infinity"'])
async def test_coinw_client_raises_decode_error_for_bad_money(value: bytes) -> None:
    body = coinw_rows(with_value(COINW_ROW, COINW_MONEY["margin"], value))
    async with (
        hostile_server({ORDER: replying(body)}) as server,
        ea.CoinWClient(COINW_CREDS, base_url=base_url(server), retry=NO_RETRY) as client,
    ):
        with pytest.raises(ea.DecodeError) as caught:
            await client.get_order_info("plan")
    assert names_field(caught.value, "margin")


COINW_FIELDS = list(fields(COINW_ROW))


@DECODE
@given(st.sampled_from(COINW_FIELDS), JSON | ODD_NUMBERS | NON_FINITE_TEXT)
def test_coinw_any_value_in_any_field(field: str, value: Any) -> None:
    row = fields(COINW_ROW)
    row[field] = value
    check_coinw(coinw_rows(row))


@DECODE
@given(st.integers(min_value=0, max_value=2**63 - 1), st.booleans())
def test_coinw_ids_exact(order_id: int, as_string: bool) -> None:
    row = fields(COINW_ROW)
    row["id"] = str(order_id) if as_string else order_id
    (order,) = decode_order_info(coinw_rows(row))
    assert order.id == order_id
