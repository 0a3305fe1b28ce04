"""Bitget's models: its documented example and the variants it is known to send, hostile values
in every field (a model or a `DecodeError` naming the field; issue 8: a non-numeric preset price
raised a bare ``decimal.InvalidOperation``, ``NaN`` reached ``Decimal`` fields), and through the
client and the poller over a real local server.
"""

from __future__ import annotations

import asyncio
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
    check_bitget,
    fields,
    names_field,
)
from support.rows import BITGET_MONEY, BITGET_ROW, with_value
from support.servers import TRACK, base_url, hostile_server, replying

import exchange_async as ea
from exchange_async.bitget.endpoints import CURRENT_TRACK
from exchange_async.bitget.models import decode_tracking_orders_page
from exchange_async_sim.testing import bitget_page

BITGET_SEED = b"""{
"code": "00000", "msg": "success", "requestTime": 1695801601016,
"data": {"trackingList": [{
  "trackingNo": "1231231231", "openOrderId": "123123123123", "symbol": "BTCUSDT",
  "posSide": "long", "openLeverage": "20", "openPriceAvg": "26248.9",
  "openTime": "1695801595658", "openSize": "0.1000000000000000",
  "presetStopSurplusPrice": "27561.34", "presetStopLossPrice": "25855.16",
  "openFee": "-2.62489", "followCount": "1"}],
 "endId": "1"}}"""


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


BITGET_CREDS = ea.BitgetCredentials("bg-key-hostile", "bg-secret-hostile", "bg-pass-hostile")


NO_RETRY = ea.RetryPolicy(max_attempts=1)


@pytest.mark.parametrize("field", list(BITGET_MONEY))
@pytest.mark.parametrize("value", NON_FINITE + NON_NUMERIC)
def test_bitget_bad_money_is_a_decode_error_naming_the_field(field: str, value: bytes) -> None:
    body = bitget_page(with_value(BITGET_ROW, BITGET_MONEY[field], value))
    with pytest.raises(ea.DecodeError) as caught:
        decode_tracking_orders_page(body)
    assert names_field(caught.value, field)


@pytest.mark.parametrize("field", [f for f in BITGET_MONEY if not f.startswith("preset")])
def test_bitget_blank_required_money_is_a_decode_error(field: str) -> None:
    body = bitget_page(with_value(BITGET_ROW, BITGET_MONEY[field], b'""'))
    with pytest.raises(ea.DecodeError) as caught:
        decode_tracking_orders_page(body)
    assert names_field(caught.value, field)


@pytest.mark.parametrize("blank", [b'""', b'"  "', b"null", b'"" ', b' ""'])
def test_bitget_unset_preset_prices_stay_none(blank: bytes) -> None:
    row = with_value(BITGET_ROW, BITGET_MONEY["preset_stop_surplus_price"], blank)
    row = with_value(row, BITGET_MONEY["preset_stop_loss_price"], b'""')
    (order,) = decode_tracking_orders_page(bitget_page(row, row)).tracking_list[:1]
    assert order.preset_stop_surplus_price is None
    assert order.preset_stop_loss_price is None
    assert order.open_price_avg == Decimal("26248.9")


def test_bitget_rows_decode_straight_into_the_public_page() -> None:
    envelope = CURRENT_TRACK.decoder.decode(bitget_page(BITGET_ROW, BITGET_ROW))
    page = envelope.data
    assert type(page) is ea.TrackingOrdersPage  # the page itself: nothing converts it
    assert all(type(r) is ea.TrackingOrder for r in page.tracking_list)


@pytest.mark.parametrize("value", [b'"NaN"', b'"N/A"', b'"sNaN"', b'"Infinity"'])
async def test_bitget_client_raises_decode_error_for_bad_money(value: bytes) -> None:
    body = bitget_page(with_value(BITGET_ROW, BITGET_MONEY["preset_stop_loss_price"], value))
    async with (
        hostile_server({TRACK: replying(body)}) as server,
        ea.BitgetClient(BITGET_CREDS, base_url=base_url(server), retry=NO_RETRY) as client,
    ):
        with pytest.raises(ea.DecodeError) as caught:
            await client.get_current_tracking_orders("USDT-FUTURES")
    assert names_field(caught.value, "preset_stop_loss_price")


@pytest.mark.parametrize("value", [b'"NaN"', b'"sNaN"'])
async def test_poller_reports_non_finite_money_as_errors_not_changes(value: bytes) -> None:
    body = bitget_page(with_value(BITGET_ROW, BITGET_MONEY["open_fee"], value))
    events: list[ea.Event] = []
    poller = ea.Poller(interval=0, backoff=0.01, max_backoff=0.02, retry=NO_RETRY)
    async with hostile_server({TRACK: replying(body)}) as server, poller:
        status = poller.add_bitget("nan-desk", BITGET_CREDS, base_url=base_url(server))
        async with asyncio.timeout(10):
            async for event in poller:
                events.append(event)
                if len(events) == 4:
                    break
    kinds = {type(e).__name__ for e in events}
    assert kinds == {"AccountError"}, kinds  # never OrderOpened/OrderChanged, never stopped
    assert status.state is ea.AccountState.FAILING
    assert all("open_fee" in e.message for e in events if isinstance(e, ea.AccountError))


BITGET_FIELDS = list(fields(BITGET_ROW))


BITGET_MONEY_WIRE = {
    key: b'"%s":"%s"' % (key.encode(), str(value).encode())
    for key, value in fields(BITGET_ROW).items()
    if key in ("openLeverage", "openPriceAvg", "openSize", "openFee", "presetStopLossPrice")
}


@DECODE
@given(st.sampled_from(BITGET_FIELDS), JSON | ODD_NUMBERS | NON_FINITE_TEXT)
def test_bitget_any_value_in_any_field(field: str, value: Any) -> None:
    row = fields(BITGET_ROW)
    row[field] = value
    check_bitget(bitget_page(row))


def _escaped(text: str, flips: list[bool]) -> bytes:
    """``text`` as a JSON string, some characters written as ``\\uXXXX`` escapes."""
    flips = flips + [False] * len(text)
    chars = [f"\\u{ord(c):04x}" if f else c for c, f in zip(text, flips, strict=False)]
    return ('"' + "".join(chars) + '"').encode()


@DECODE
@given(
    st.sampled_from(list(BITGET_MONEY_WIRE)),
    NON_FINITE_TEXT,
    st.lists(st.booleans(), max_size=12),
)
def test_non_finite_money_is_refused_however_it_is_escaped(
    field: str, text: str, flips: list[bool]
) -> None:
    # The guarantee must not rest on spotting "nan" in the raw bytes: "\u004eaN" is NaN too.
    body = BITGET_ROW.replace(
        BITGET_MONEY_WIRE[field], b'"' + field.encode() + b'":' + _escaped(text, flips)
    )
    with pytest.raises(ea.DecodeError):
        decode_tracking_orders_page(b'{"code":"00000","data":{"trackingList":[' + body + b"]}}")


SPACE = st.text(alphabet=" \t\r\n", max_size=3)


@DECODE
@given(SPACE, SPACE, SPACE, SPACE, st.booleans())
def test_blank_prices_are_none_in_any_json_layout(
    before: str, after: str, inside: str, between: str, pretty_first: bool
) -> None:
    inside = " " * len(inside)  # a JSON string may hold spaces, never raw tabs or newlines
    blank = f'"presetStopLossPrice"{before}:{after}"{inside}"'.encode()
    row = BITGET_ROW.replace(b'"presetStopLossPrice":"25855.16"', blank)
    first = BITGET_ROW.replace(b'":"', b'": "') if pretty_first else BITGET_ROW
    body = b'{"code":"00000","data":{"trackingList":[' + first + b"," + between.encode() + row
    orders = decode_tracking_orders_page(body + b'],"endId":"1"}}').tracking_list
    assert orders[0].preset_stop_loss_price == Decimal("25855.16")
    assert orders[1].preset_stop_loss_price is None
    assert orders[1].preset_stop_surplus_price == Decimal("27561.34")


@DECODE
@given(st.text(max_size=40))
def test_unicode_strings_round_trip(text: str) -> None:
    row = fields(BITGET_ROW)
    row["symbol"] = text
    row["trackingNo"] = text
    (order,) = decode_tracking_orders_page(bitget_page(row)).tracking_list
    assert order.symbol == text and order.tracking_no == text


def test_decimal_values_are_exact() -> None:
    row = fields(BITGET_ROW)
    row["openPriceAvg"] = "0.1000000000000000055511151231257827"
    (order,) = decode_tracking_orders_page(bitget_page(row)).tracking_list
    assert order.open_price_avg == Decimal("0.1000000000000000055511151231257827")
