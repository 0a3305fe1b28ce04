"""Hostile reply values: every one is a model or a typed `DecodeError` naming the field.

Issue 8: a non-numeric preset price raised a bare ``decimal.InvalidOperation``; ``NaN``,
``sNaN`` and ``Infinity`` were accepted into ``Decimal`` fields (phantom ``OrderChanged`` on
every snapshot with ``NaN``). Issue 9: rows are decoded straight into the public models.
Each test here failed on the code before the fix.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from support.rows import BITGET_MONEY, BITGET_ROW, COINW_MONEY, COINW_ROW, with_value
from support.servers import ORDER, TRACK, base_url, hostile_server, replying

import exchange_async as ea
from exchange_async.bitget.endpoints import CURRENT_TRACK
from exchange_async_sim.testing import bitget_page, coinw_rows

NON_FINITE = [b'"NaN"', b'"nan"', b'"sNaN"', b'"-sNaN"', b'"Infinity"', b'"-inf"', b'"+Inf"']
NON_NUMERIC = [b'"N/A"', b'"abc"', b'"1,5"', b'"0x10"', b"true", b"{}", b"[]"]
BITGET_CREDS = ea.BitgetCredentials("bg-key-hostile", "bg-secret-hostile", "bg-pass-hostile")
COINW_CREDS = ea.CoinWCredentials("cw-key-hostile", "cw-secret-hostile")
NO_RETRY = ea.RetryPolicy(max_attempts=1)


def decode_tracking_orders_page(body: bytes) -> ea.TrackingOrdersPage:
    # Imported here so that the client-level tests of this module run on older code too.
    from exchange_async.bitget.models import decode_tracking_orders_page

    return decode_tracking_orders_page(body)


def decode_order_info(body: bytes) -> list[ea.OrderInfo]:
    from exchange_async.coinw.models import decode_order_info

    return decode_order_info(body)


def _names_field(error: Exception, snake: str) -> bool:
    camel = snake.split("_")[0] + "".join(p.title() for p in snake.split("_")[1:])
    text = str(error)
    return snake in text or camel in text


@pytest.mark.parametrize("field", list(BITGET_MONEY))
@pytest.mark.parametrize("value", NON_FINITE + NON_NUMERIC)
def test_bitget_bad_money_is_a_decode_error_naming_the_field(field: str, value: bytes) -> None:
    body = bitget_page(with_value(BITGET_ROW, BITGET_MONEY[field], value))
    with pytest.raises(ea.DecodeError) as caught:
        decode_tracking_orders_page(body)
    assert _names_field(caught.value, field)


@pytest.mark.parametrize("field", [f for f in BITGET_MONEY if not f.startswith("preset")])
def test_bitget_blank_required_money_is_a_decode_error(field: str) -> None:
    body = bitget_page(with_value(BITGET_ROW, BITGET_MONEY[field], b'""'))
    with pytest.raises(ea.DecodeError) as caught:
        decode_tracking_orders_page(body)
    assert _names_field(caught.value, field)


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


@pytest.mark.parametrize("field", list(COINW_MONEY))
@pytest.mark.parametrize("value", NON_FINITE + NON_NUMERIC)
def test_coinw_bad_money_is_a_decode_error_naming_the_field(field: str, value: bytes) -> None:
    body = coinw_rows(with_value(COINW_ROW, COINW_MONEY[field], value))
    with pytest.raises(ea.DecodeError) as caught:
        decode_order_info(body)
    assert _names_field(caught.value, field)


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


@pytest.mark.parametrize("value", [b'"NaN"', b'"N/A"', b'"sNaN"', b'"Infinity"'])
async def test_bitget_client_raises_decode_error_for_bad_money(value: bytes) -> None:
    body = bitget_page(with_value(BITGET_ROW, BITGET_MONEY["preset_stop_loss_price"], value))
    async with (
        hostile_server({TRACK: replying(body)}) as server,
        ea.BitgetClient(BITGET_CREDS, base_url=base_url(server), retry=NO_RETRY) as client,
    ):
        with pytest.raises(ea.DecodeError) as caught:
            await client.get_current_tracking_orders("USDT-FUTURES")
    assert _names_field(caught.value, "preset_stop_loss_price")


@pytest.mark.parametrize("value", [b'"NaN"', b'"N/A"', b'"sNaN"', b'"-Infinity"'])
async def test_coinw_client_raises_decode_error_for_bad_money(value: bytes) -> None:
    body = coinw_rows(with_value(COINW_ROW, COINW_MONEY["margin"], value))
    async with (
        hostile_server({ORDER: replying(body)}) as server,
        ea.CoinWClient(COINW_CREDS, base_url=base_url(server), retry=NO_RETRY) as client,
    ):
        with pytest.raises(ea.DecodeError) as caught:
            await client.get_order_info("plan")
    assert _names_field(caught.value, "margin")


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
