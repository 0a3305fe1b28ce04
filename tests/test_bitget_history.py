"""Bitget ``order-history-track``: the closed tracking orders, against the simulator (paging to
the end, limits, its own rate budget, errors) and against hostile replies from a real local
server (both spellings of the average prices, blank ``stopType``, bad money)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from decimal import Decimal
from typing import Any

import pytest
from conftest import BITGET_KEY, BITGET_PASS, BITGET_SECRET, FAST_RETRY, TRACK
from hypothesis import given
from hypothesis import strategies as st
from support.hostile import DECODE, JSON, NON_FINITE_TEXT, ODD_NUMBERS
from support.rows import with_value
from support.servers import base_url, hostile_server, replying
from support.sim_transport import simulator_transport

import exchange_async as ea
from exchange_async.bitget.models import decode_page
from exchange_async_sim import Simulator
from exchange_async_sim.testing import bitget_page

HISTORY = "/api/v2/copy/mix-trader/order-history-track"

# The row of Bitget's response example (api-notes), in the example's spelling.
ROW = (
    b'{"trackingNo":"1076520016396840961","symbol":"BTCUSDT","productType":"usdt-futures",'
    b'"openOrderId":"1076520016354897920","closeOrderId":"1076520218553905152",'
    b'"posSide":"long","openLeverage":"20","openPriceAvg":"26248.9",'
    b'"openTime":"1695801595658","closeTime":"1695801643852","closePriceAvg":"26301.1",'
    b'"stopType":"","achievedPL":"5.22","openFee":"-1.574934","closeFee":"-1.578066",'
    b'"openSize":"0.1","closeSize":"0.1","cTime":"1695801595658"}'
)
MONEY = {
    "open_leverage": b'"openLeverage":"20"',
    "open_price_avg": b'"openPriceAvg":"26248.9"',
    "close_price_avg": b'"closePriceAvg":"26301.1"',
    "achieved_pl": b'"achievedPL":"5.22"',
    "open_fee": b'"openFee":"-1.574934"',
    "close_fee": b'"closeFee":"-1.578066"',
    "open_size": b'"openSize":"0.1"',
    "close_size": b'"closeSize":"0.1"',
}
CREDS = ea.BitgetCredentials("bg-key-history", "bg-secret-history", "bg-pass-history")


def truth(sim: Simulator, product: str = "usdt-futures") -> list[Any]:
    rows = list(sim.bitget.accounts[BITGET_KEY].history.values())
    rows = [r for r in rows if r.product_type == product]
    return sorted(rows, key=lambda r: r.sort_key, reverse=True)


# -- decoding -----------------------------------------------------------------------------


def test_the_docs_example_row_decodes_exactly() -> None:
    (order,) = decode_page(ea.HistoryTrackingOrdersPage, bitget_page(ROW)).tracking_list
    assert order == ea.HistoryTrackingOrder(
        tracking_no="1076520016396840961",
        symbol="BTCUSDT",
        product_type="usdt-futures",
        open_order_id="1076520016354897920",
        close_order_id="1076520218553905152",
        pos_side="long",
        open_leverage=Decimal("20"),
        open_price_avg=Decimal("26248.9"),
        open_time=1695801595658,
        close_time=1695801643852,
        close_price_avg=Decimal("26301.1"),
        stop_type=None,
        achieved_pl=Decimal("5.22"),
        open_fee=Decimal("-1.574934"),
        close_fee=Decimal("-1.578066"),
        open_size=Decimal("0.1"),
        close_size=Decimal("0.1"),
        c_time=1695801595658,
    )
    assert type(order.open_time) is int and type(order.c_time) is int


def test_the_tables_spelling_decodes_to_the_same_row() -> None:
    table = ROW.replace(b'"openPriceAvg"', b'"openAvgPrice"').replace(
        b'"closePriceAvg"', b'"closeAvgPrice"'
    )
    pretty = table.replace(b'":"', b'": "').replace(b'","', b'", "')
    expected = decode_page(ea.HistoryTrackingOrdersPage, bitget_page(ROW)).tracking_list
    assert decode_page(ea.HistoryTrackingOrdersPage, bitget_page(table)).tracking_list == expected
    assert (
        decode_page(ea.HistoryTrackingOrdersPage, bitget_page(pretty, ROW)).tracking_list
        == expected * 2
    )


@pytest.mark.parametrize(
    ("wire", "value"),
    [(b'""', None), (b'"  "', None), (b"null", None), (b'"profit"', "profit"), (b'"loss"', "loss")],
)
def test_stop_type_blank_is_none(wire: bytes, value: str | None) -> None:
    row = with_value(ROW, b'"stopType":""', wire)
    (order,) = decode_page(ea.HistoryTrackingOrdersPage, bitget_page(row, row)).tracking_list[:1]
    assert order.stop_type == value


@pytest.mark.parametrize("field", list(MONEY))
@pytest.mark.parametrize("value", [b'"NaN"', b'"-Infinity"', b'"sNaN"', b'"N/A"', b'""'])
def test_bad_money_is_a_decode_error_naming_the_field(field: str, value: bytes) -> None:
    with pytest.raises(ea.DecodeError) as caught:
        decode_page(ea.HistoryTrackingOrdersPage, bitget_page(with_value(ROW, MONEY[field], value)))
    camel = MONEY[field].split(b'"')[1].decode()
    assert field in str(caught.value) or camel in str(caught.value)


@pytest.mark.parametrize("value", [b'"-1"', b'"1.5"', b'"soon"', b'"99999999999999999999"'])
def test_bad_times_are_decode_errors(value: bytes) -> None:
    with pytest.raises(ea.DecodeError, match="closeTime"):
        decode_page(
            ea.HistoryTrackingOrdersPage,
            bitget_page(with_value(ROW, b'"closeTime":"1695801643852"', value)),
        )


def test_empty_and_odd_pages() -> None:
    assert (
        decode_page(ea.HistoryTrackingOrdersPage, bitget_page(end_id=b"null"))
        == ea.HistoryTrackingOrdersPage()
    )
    empty = b'{"code":"00000","data":{"trackingList":null,"endId":""}}'
    assert decode_page(ea.HistoryTrackingOrdersPage, empty) == ea.HistoryTrackingOrdersPage(
        tracking_list=[], end_id=None
    )
    assert decode_page(ea.HistoryTrackingOrdersPage, bitget_page(ROW, end_id=b"42")).end_id == "42"
    with pytest.raises(ea.DecodeError, match="closeOrderId"):
        decode_page(
            ea.HistoryTrackingOrdersPage,
            bitget_page(ROW.replace(b'"closeOrderId":"1076520218553905152",', b"")),
        )


# -- against the simulator -----------------------------------------------------------------

pytestmark = pytest.mark.virtual_time


async def test_one_page_matches_the_server(bitget: ea.BitgetClient, sim: Simulator) -> None:
    got = await bitget.get_history_tracking_orders("USDT-FUTURES", limit=100)
    assert isinstance(got, ea.HistoryTrackingOrdersPage) and got.end_id is not None
    want = truth(sim)[:100]
    assert len(got.tracking_list) == 100
    for row, server in zip(got.tracking_list, want, strict=True):
        assert row.tracking_no == server.tracking_no
        assert row.open_price_avg == server.open_avg_price
        assert row.close_price_avg == server.close_avg_price
        assert row.achieved_pl == server.achieved_pl
        assert row.close_time == server.close_time and row.c_time == server.c_time
        assert row.stop_type == server.stop_type
    default = await bitget.get_history_tracking_orders("usdt-futures")
    assert len(default.tracking_list) == 20
    assert "limit" not in sim.arrivals[-1].query


async def test_both_spellings_from_the_server_give_the_same_rows(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    example = await bitget.get_history_tracking_orders("USDT-FUTURES", limit=30)
    sim.bitget.accounts[BITGET_KEY].history_spelling = "table"
    table = await bitget.get_history_tracking_orders("USDT-FUTURES", limit=30)
    assert table.tracking_list == example.tracking_list


async def test_iterating_pages_to_the_end_newest_first(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    got = [o async for o in bitget.iter_history_tracking_orders("USDT-FUTURES")]
    want = [r.tracking_no for r in truth(sim)]
    assert len(want) > 100
    assert [o.tracking_no for o in got] == want
    # Full pages of 100, the short last one, then the empty page that ends the iteration.
    assert sim.count(HISTORY) == -(-len(want) // 100) + 1
    assert sim.count(TRACK) == 0


async def test_manual_paging_and_oldest_first(bitget: ea.BitgetClient, sim: Simulator) -> None:
    want = [r.tracking_no for r in truth(sim)]
    first = await bitget.get_history_tracking_orders("USDT-FUTURES", limit=10)
    second = await bitget.get_history_tracking_orders(
        "USDT-FUTURES", limit=10, id_less_than=first.end_id
    )
    assert f"idLessThan={first.end_id}" in sim.arrivals[-1].query
    assert [o.tracking_no for o in first.tracking_list + second.tracking_list] == want[:20]
    oldest = bitget.get_history_tracking_orders("usdt-futures", limit=40, order="ASC")
    got = [o.tracking_no async for o in oldest]
    assert got == want[::-1]
    assert "order=asc" in sim.arrivals[-1].query and "idGreaterThan=" in sim.arrivals[-1].query


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"order": "up"}, "order"),
        ({"order": 1}, "order"),
        ({"id_less_than": "1", "id_greater_than": "2"}, "not both"),
        ({"id_greater_than": "1&x=2"}, "id_greater_than"),
        ({"start_time": 2000, "end_time": 1000}, "after"),
    ],
)
async def test_bad_arguments_raise_before_any_request(
    bitget: ea.BitgetClient, sim: Simulator, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ea.ValidationError, match=match):
        await bitget.get_history_tracking_orders("USDT-FUTURES", **kwargs)
    with pytest.raises(ea.ValidationError, match="page_size"):
        bitget.iter_history_tracking_orders("USDT-FUTURES", page_size=101)
    assert sim.arrivals == []


async def test_its_own_budget_beside_current_track(bitget: ea.BitgetClient, sim: Simulator) -> None:
    loop = asyncio.get_running_loop()
    await bitget.get_server_time()  # the clock sync, out of the way
    started = loop.time()
    calls: list[Awaitable[object]] = []
    for _ in range(15):  # callers queue in this order: history, current, history, ...
        calls.append(bitget.get_history_tracking_orders("USDT-FUTURES", limit=1))
        calls.append(bitget.get_current_tracking_orders("USDT-FUTURES", limit=1))
    await asyncio.gather(*calls)
    # Two budgets of 5/s side by side: 15 calls on each take 14 spacings of 0.21 s (plus the
    # per-IP cap's few ms between the two of a pair), not the 29 spacings of a shared budget.
    assert 14 * 0.21 <= loop.time() - started < 15 * 0.21
    assert sim.max_in_window(HISTORY) == 5 and sim.max_in_window(TRACK) == 5
    assert sim.limit_violations("bitget") == 0
    assert sim.count(HISTORY, status=429) == 0


async def test_the_referee_counts_history_per_uid(sim: Simulator) -> None:
    # Two keys of one UID, the SDK not told the UID: each key gets its own 5/s, the server
    # counts 10/s on the UID's history budget and the referee reports it.
    uid = sim.bitget.accounts[BITGET_KEY].uid
    sim.add_bitget_account(api_key="bg-key-0002", secret_key="s2", passphrase="p2", uid=uid)
    second = ea.BitgetCredentials("bg-key-0002", "s2", "p2")
    first = ea.BitgetCredentials(BITGET_KEY, BITGET_SECRET, BITGET_PASS)
    once = ea.RetryPolicy(max_attempts=1)
    async with (
        ea.BitgetClient(first, transport=simulator_transport(sim), retry=once) as a,
        ea.BitgetClient(second, transport=simulator_transport(sim), retry=once) as b,
    ):
        results = await asyncio.gather(
            *(c.get_history_tracking_orders("USDT-FUTURES", limit=1) for c in [a, b] * 6),
            return_exceptions=True,
        )
    assert sim.limit_violations("bitget") > 0
    assert any(isinstance(r, ea.RateLimitError) for r in results)


async def test_errors_are_typed(bitget: ea.BitgetClient, sim: Simulator) -> None:
    sim.inject(HISTORY, "code", code="40017", http_status=400, msg="Parameter verification")
    with pytest.raises(ea.BadRequestError):
        await bitget.get_history_tracking_orders("USDT-FUTURES")
    sim.inject(HISTORY, "repeat_cursor", count=5)
    with pytest.raises(ea.PaginationError):
        async for _ in bitget.iter_history_tracking_orders("USDT-FUTURES", page_size=10):
            pass
    sim.bitget.accounts[BITGET_KEY].trader = False
    with pytest.raises(ea.NotTraderError):
        await bitget.get_history_tracking_orders("USDT-FUTURES")


async def test_a_wrong_passphrase_is_an_authentication_error(sim: Simulator) -> None:
    creds = ea.BitgetCredentials(BITGET_KEY, BITGET_SECRET, "not-the-passphrase")
    async with ea.BitgetClient(creds, transport=simulator_transport(sim), retry=FAST_RETRY) as c:
        with pytest.raises(ea.AuthenticationError):
            await c.get_history_tracking_orders("USDT-FUTURES")
    assert sim.count(HISTORY) == 1


# -- hostile replies over a real socket ---------------------------------------------------


@pytest.mark.parametrize("value", [b'"NaN"', b'"Infinity"', b'"N/A"'])
async def test_the_client_refuses_bad_money_from_the_wire(value: bytes) -> None:
    body = bitget_page(ROW, with_value(ROW, MONEY["achieved_pl"], value))
    async with (
        hostile_server({HISTORY: replying(body)}) as server,
        ea.BitgetClient(
            CREDS, base_url=base_url(server), retry=ea.RetryPolicy(max_attempts=1)
        ) as c,
    ):
        with pytest.raises(ea.DecodeError, match="achieved"):
            await c.get_history_tracking_orders("USDT-FUTURES")


async def test_an_order_closed_on_the_server_shows_in_the_history(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    account = sim.bitget.accounts[BITGET_KEY]
    before = set(account.orders)
    closed = [m for m in sim.mutate(40, account=BITGET_KEY) if m.kind == "closed"]
    assert closed and not {m.key for m in closed} & set(account.orders)
    history = {
        o.tracking_no: o
        for product in ("USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES")
        async for o in bitget.iter_history_tracking_orders(product)
    }
    for mutation in closed:
        assert mutation.key in before
        row = history[mutation.key]
        assert row.close_time >= row.open_time and row.open_price_avg > 0


# -- any value in any field (hypothesis) -------------------------------------------------------

HISTORY_ROW = json.dumps(
    {
        "trackingNo": "1076520016396840961",
        "symbol": "BTCUSDT",
        "productType": "usdt-futures",
        "openOrderId": "1",
        "closeOrderId": "2",
        "posSide": "long",
        "openLeverage": "20",
        "openPriceAvg": "26248.9",
        "openTime": "1695801595658",
        "closeTime": "1695801643852",
        "closePriceAvg": "26301.1",
        "stopType": "",
        "achievedPL": "5.22",
        "openFee": "-1.574934",
        "closeFee": "-1.578066",
        "openSize": "0.1",
        "closeSize": "0.1",
        "cTime": "1695801595658",
    }
)


HISTORY_MONEY = [
    "openLeverage",
    "openPriceAvg",
    "closePriceAvg",
    "achievedPL",
    "openFee",
    "closeFee",
    "openSize",
    "closeSize",
    "openAvgPrice",
    "closeAvgPrice",
]


@DECODE
@given(st.sampled_from(list(json.loads(HISTORY_ROW))), JSON | ODD_NUMBERS | NON_FINITE_TEXT)
def test_history_any_value_in_any_field(field: str, value: Any) -> None:
    row = json.loads(HISTORY_ROW)
    row[field] = value
    body = bitget_page(row)
    try:
        page = decode_page(ea.HistoryTrackingOrdersPage, body)
    except ea.DecodeError:
        return
    (order,) = page.tracking_list
    for name in (
        "open_leverage",
        "open_price_avg",
        "close_price_avg",
        "achieved_pl",
        "open_fee",
        "close_fee",
        "open_size",
        "close_size",
    ):
        assert type(getattr(order, name)) is Decimal and getattr(order, name).is_finite()
    assert order.stop_type is None or (order.stop_type.strip() and type(order.stop_type) is str)
    assert type(order.close_time) is int and 0 <= order.close_time < 2**63


@DECODE
@given(st.sampled_from(HISTORY_MONEY), NON_FINITE_TEXT)
def test_history_non_finite_money_is_always_refused(field: str, text: str) -> None:
    row = json.loads(HISTORY_ROW)
    if field.endswith("AvgPrice"):  # the table's spelling instead of the example's
        row[field] = row.pop(field.replace("AvgPrice", "PriceAvg"))
    row[field] = text
    body = bitget_page(row)
    with pytest.raises(ea.DecodeError):
        decode_page(ea.HistoryTrackingOrdersPage, body)
