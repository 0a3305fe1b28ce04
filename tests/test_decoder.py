"""The reply decoder (``_core/pipeline/decoder.py``): what a model declares drives it (blank-as-null
fields, other spellings, non-finite money refused in every Decimal field), and whatever the bytes
of a reply, the outcome is models or a typed `DecodeError`, never another exception or a hang.
"""

from __future__ import annotations

import asyncio
import json
import typing
from decimal import Decimal
from typing import Annotated, Any

import msgspec
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from support.bitget_memory import bitget_server, client
from support.hostile import (
    DECODE,
    JSON,
    MONEY_BITGET,
    MONEY_COINW,
    NON_FINITE_TEXT,
    check_bitget,
    check_coinw,
    fields,
)
from support.rows import BITGET_ROW, COINW_ROW, numbered
from support.servers import (
    CREDS,
    NO_RETRY,
    TRACK,
    base_url,
    hostile_server,
    replying,
)

import exchange_async as ea
from exchange_async._core.pipeline.decoder import BLANK_IS_NULL, ReplyDecoder, also_spelled
from exchange_async.bitget.models import decode_tracking_orders_page
from exchange_async.coinw.models import decode_order_info
from exchange_async_sim.testing import bitget_page, bitget_reply, coinw_reply, coinw_rows


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
        (ea.TrackingOrder, json.loads(BITGET_ROW)),
        (ea.OrderInfo, json.loads(COINW_ROW)),
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


@DECODE
@given(st.binary(max_size=300))
def test_random_bytes(body: bytes) -> None:
    check_bitget(body)
    check_coinw(body)


@DECODE
@given(JSON)
def test_random_json(value: Any) -> None:
    body = msgspec.json.encode(value)
    check_bitget(body)
    check_coinw(body)
    check_bitget(bitget_reply(value))
    check_coinw(coinw_reply(value))


@DECODE
@given(st.integers(min_value=1, max_value=5000), st.sampled_from("[{"), st.integers(0, 3))
def test_deep_nesting_anywhere(depth: int, bracket: str, where: int) -> None:
    if bracket == "[":
        nested = "[" * depth + "1" + "]" * depth
    else:
        nested = '{"k":' * depth + "1" + "}" * depth
    row = BITGET_ROW.decode()
    spots = [
        '{"deep":' + nested + ',"code":"00000","data":{"trackingList":[' + row + "]}}",
        '{"code":"00000","data":{"deep":' + nested + ',"trackingList":[' + row + "]}}",
        '{"code":"00000","data":{"trackingList":[' + row[:-1] + ',"deep":' + nested + "}]}}",
        '{"code":"00000","data":{"trackingList":[' + row + ']},"msg":' + nested + "}",
    ]
    check_bitget(spots[where].encode())


@DECODE
@given(st.sampled_from(MONEY_BITGET), st.sampled_from(MONEY_COINW), NON_FINITE_TEXT)
def test_non_finite_money_is_always_refused(bitget: str, coinw: str, text: str) -> None:
    row = fields(BITGET_ROW)
    row[bitget] = text
    with pytest.raises(ea.DecodeError):
        decode_tracking_orders_page(bitget_page(row))
    row = fields(COINW_ROW)
    row[coinw] = text
    with pytest.raises(ea.DecodeError):
        decode_order_info(coinw_rows(row))


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize(
    "body",
    [
        b'{"x":' + _nested(1000) + b',"code":"00000","data":{"trackingList":[]}}',
        b'{"code":"00000","data":{"trackingList":[],"endId":"1","y":' + _nested(1000) + b"}}",
        bitget_page(BITGET_ROW[:-1] + b',"deep":' + _nested(100_000) + b"}"),
    ],
)
async def test_deeply_nested_reply_is_a_decode_error(body: bytes) -> None:
    async with (
        hostile_server({TRACK: replying(body)}) as server,
        ea.BitgetClient(CREDS, base_url=base_url(server), retry=NO_RETRY) as client,
    ):
        with pytest.raises(ea.DecodeError):
            await client.get_current_tracking_orders("USDT-FUTURES")


async def test_poller_keeps_an_account_going_through_nested_replies() -> None:
    replies = iter([b'{"x":' + _nested(1000) + b"}"] * 3)

    async def handler(request: web.Request) -> web.Response:
        if "idLessThan" in request.query:
            return web.Response(body=bitget_page(end_id=b"null"), content_type="application/json")
        body = next(replies, bitget_page(numbered(1)))
        return web.Response(body=body, content_type="application/json")

    kinds: list[str] = []
    poller = ea.Poller(interval=0, backoff=0.01, max_backoff=0.02, retry=NO_RETRY)
    async with hostile_server({TRACK: handler}) as server, poller:
        poller.add_bitget("deep", CREDS, base_url=base_url(server))
        async with asyncio.timeout(10):
            async for event in poller:
                kinds.append(type(event).__name__)
                if isinstance(event, ea.OrderOpened):
                    break
    assert kinds[:3] == ["AccountError"] * 3
    assert "AccountStopped" not in kinds and kinds[-1] == "OrderOpened"


@pytest.mark.virtual_time
@pytest.mark.parametrize(
    "body",
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"code":"00000","msg":"","data":{"trackingList":' + b"[" * 3000 + b"]" * 3000 + b"}}",
        b'{"code":"00000","data":{"trackingList":[{"x":' + b'{"a":' * 2000 + b"1" + b"}" * 2002,
        b"\xff\xfe garbage",
        b"",
    ],
    ids=["nested", "nested-in-data", "nested-objects", "binary", "empty"],
)
async def test_hostile_bodies_are_decode_errors(body: bytes) -> None:
    transport = ea.MemoryTransport(bitget_server(lambda r: ea.TransportResponse(200, {}, body)))
    async with client(transport) as bitget:
        with pytest.raises(ea.DecodeError):
            await bitget.get_current_tracking_orders("USDT-FUTURES")
