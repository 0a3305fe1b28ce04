"""Decoding a reply into typed values: the SDK against pydantic v2, json.loads, orjson, msgspec.

Replies: the 50-row Bitget page (every field a string, unset prices ``""``), a Bitget page of
50 copies of the docs' example row as the docs print it (pretty-printed, one stop price set,
one blank), and a 20-order CoinW page in both of CoinW's renderings ("numbers": JSON numbers;
"strings": numeric strings). Contenders:

- ``exchange_async``: the SDK's own decode path (see ``benchmarks._sdk``), public models out;
- ``pydantic v2``: models with the contract's fields and types, ``model_validate_json``;
- ``json.loads``: to dicts (``parse_float=Decimal``, so numbers stay exact), no typing;
- ``orjson``: ``orjson.loads`` to dicts, no typing (JSON numbers become floats);
- ``msgspec Decimal floor``: msgspec into structs with the contract's types and no Python
  post-processing (Bitget's unset prices stay ``str``, as ``""`` is no Decimal);
- ``msgspec exact floor``: msgspec into structs with exactly the contract's types (unset
  prices ``None``, set ones ``Decimal``), from a copy of the body whose blanks were made
  ``null`` before timing: what msgspec alone costs for the SDK's exact output, the bound for
  any decoder that gives it (Bitget only; CoinW has no blanks, so its Decimal floor is exact);
- ``msgspec str floor``: msgspec into str-only structs (Bitget and CoinW "strings" only).

Values are checked before timing: each result, turned into plain values (Decimal, int, str,
None), must equal the SDK's; a mismatch of the SDK with the msgspec Decimal floor is a problem,
a peer's mismatch is reported in the table. Timings: timeit loops with GC off, interleaved
rounds in rotated order, ratios pair by pair per round, medians over rounds.
"""

from __future__ import annotations

import json
import sys
import timeit
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

import msgspec

import exchange_async as ea

from ._common import Outcome, Table, fmt, median, rotated, spread
from ._sdk import sdk_decoders
from ._sim import BITGET_ROWS, COINW_ROWS, bitget_body, coinw_body

NAME = "decode"

Decoder = Callable[[bytes], Any]


def camel(name: str) -> str:
    """``open_price_avg`` -> ``openPriceAvg``."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def contract_fields(model: type) -> dict[str, Any]:
    """The public model's fields and types (the contract's)."""
    return typing.get_type_hints(model)


def is_optional(kind: Any) -> bool:
    """``X | None``."""
    return type(None) in typing.get_args(kind)


def base_type(kind: Any) -> Any:
    """``X`` of ``X | None`` (or ``kind`` itself)."""
    args = [a for a in typing.get_args(kind) if a is not type(None)]
    return args[0] if is_optional(kind) and args else kind


def plain_type(kind: Any) -> Any:
    """A str-valued enum (``PosSide``) as ``str``; other types unchanged."""
    return str if isinstance(kind, type) and issubclass(kind, str) else kind


# -- msgspec floors ------------------------------------------------------------------------


DOCS_ROW = b"""{
"trackingNo": "1231231231",
"openOrderId": "123123123123",
"symbol": "BTCUSDT",
"posSide": "long",
"openLeverage": "20",
"openPriceAvg": "26248.9",
"openTime": "1695801595658",
"openSize": "0.1000000000000000",
"presetStopSurplusPrice": "27561.34",
"presetStopLossPrice": "",
"openFee": "-2.62489",
"followCount": "1"
}"""
"""The row of Bitget's own response example (its docs page), with the stop-loss price unset."""


def docs_example_body(rows: int = BITGET_ROWS) -> bytes:
    """A page of ``rows`` copies of `DOCS_ROW`, laid out as Bitget's docs print a reply."""
    head = b'{\n"code": "00000",\n"msg": "success",\n"requestTime": 1695801601016,\n"data": {\n'
    listed = b'"trackingList": [\n' + b",\n".join([DOCS_ROW] * rows) + b'\n],\n"endId": "1"\n}\n}'
    return head + listed


def msgspec_struct(name: str, model: type, *, strings: bool, unset_as_str: bool) -> Any:
    """A struct with ``model``'s fields: every type ``str`` (``strings``) or the contract's
    (optional prices that arrive as ``""`` kept as ``str`` when ``unset_as_str``)."""
    specs: list[tuple[str, Any, Any]] = []
    for field, kind in contract_fields(model).items():
        if strings:
            typ: Any = str | None if is_optional(kind) else str
        elif unset_as_str and is_optional(kind) and base_type(kind) is Decimal:
            typ = str | None
        else:
            typ = plain_type(base_type(kind))
            typ = typ | None if is_optional(kind) else typ
        specs.append((field, typ, None) if is_optional(kind) else (field, typ))  # type: ignore[arg-type]
    required = [s for s in specs if len(s) == 2]
    optional = [s for s in specs if len(s) == 3]
    return msgspec.defstruct(name, [*required, *optional], rename="camel")


def msgspec_decoders(strings: bool) -> tuple[Decoder, Decoder]:
    """``(bitget, coinw)`` msgspec decoders into floor structs, no post-processing."""
    row = msgspec_struct("BRow", ea.TrackingOrder, strings=strings, unset_as_str=True)
    data = msgspec.defstruct(
        "BData",
        [("tracking_list", list[row]), ("end_id", str | None)],  # type: ignore[valid-type]
        rename="camel",
    )
    page = msgspec.defstruct("BPage", [("code", str), ("msg", str), ("data", data | None)])
    order = msgspec_struct("COrder", ea.OrderInfo, strings=strings, unset_as_str=False)
    reply = msgspec.defstruct("CReply", [("code", int), ("data", list[order] | None)])  # type: ignore[valid-type]
    bitget = msgspec.json.Decoder(page, strict=strings)
    coinw = msgspec.json.Decoder(reply, strict=strings)
    return bitget.decode, coinw.decode


def msgspec_exact_floor() -> Decoder:
    """Bitget pages into structs of exactly the contract's types, from a body whose blanks were
    made ``null`` beforehand (untimed: each body is prepared once, then looked up)."""
    row = msgspec_struct("XRow", ea.TrackingOrder, strings=False, unset_as_str=False)
    data = msgspec.defstruct(
        "XData",
        [("tracking_list", list[row]), ("end_id", str | None)],  # type: ignore[valid-type]
        rename="camel",
    )
    page = msgspec.defstruct("XPage", [("code", str), ("msg", str), ("data", data | None)])
    decode = msgspec.json.Decoder(page, strict=False).decode
    prepared: dict[bytes, bytes] = {}

    def nulled(body: bytes) -> bytes:
        for blank in (b'Price":""', b'Price": ""'):
            body = body.replace(blank, blank[:-2] + b"null")
        return body

    def exact(body: bytes) -> Any:
        ready = prepared.get(body)
        if ready is None:
            ready = prepared[body] = nulled(body)
        return decode(ready)

    return exact


# -- pydantic ------------------------------------------------------------------------------


def pydantic_decoders() -> tuple[Decoder, Decoder]:
    """``(bitget, coinw)`` with pydantic v2 models of the contract's fields and types."""
    from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

    def unset_to_none(value: Any) -> Any:
        return None if value == "" else value

    def model(name: str, public: type) -> Any:
        fields: dict[str, Any] = {}
        for field, kind in contract_fields(public).items():
            typ = plain_type(base_type(kind))
            if is_optional(kind):
                annotated: Any = Annotated[typ | None, BeforeValidator(unset_to_none)]
                fields[field] = (annotated, Field(None, alias=camel(field)))
            else:
                fields[field] = (typ, Field(alias=camel(field)))
        return create_model(name, __config__=ConfigDict(frozen=True), **fields)

    row = model("PydTrackingOrder", ea.TrackingOrder)

    class Data(BaseModel):
        tracking_list: list[row] = Field(alias="trackingList")  # type: ignore[valid-type]
        end_id: str | None = Field(None, alias="endId")

    class Page(BaseModel):
        code: str
        data: Data | None = None

    order = model("PydOrderInfo", ea.OrderInfo)

    class Reply(BaseModel):
        code: int
        data: list[order] | None = None  # type: ignore[valid-type]

    return Page.model_validate_json, Reply.model_validate_json


# -- plain values, for the equality check -------------------------------------------------


def rows_of(result: Any) -> list[Any]:
    """The rows of a decoded reply, whatever shape the contender returns."""
    if isinstance(result, list):
        return result
    if isinstance(result, dict):
        data = result["data"]
        return list(data["trackingList"] if isinstance(data, dict) else data)
    if hasattr(result, "tracking_list"):
        return list(result.tracking_list)
    data = result.data
    return list(data.tracking_list) if hasattr(data, "tracking_list") else list(data)


def plain_rows(result: Any, model: type) -> list[dict[str, Any]]:
    """Each row as ``{field: Decimal | int | str | None}`` (untimed conversion)."""
    out = []
    for row in rows_of(result):
        values: dict[str, Any] = {}
        for field, kind in contract_fields(model).items():
            raw = row.get(camel(field)) if isinstance(row, dict) else getattr(row, field)
            target = base_type(kind)
            if raw is None or raw == "":
                values[field] = None
            elif target is Decimal:
                values[field] = Decimal(str(raw))
            elif target is int:
                values[field] = int(raw)
            else:
                values[field] = str(raw.value if hasattr(raw, "value") else raw)
        out.append(values)
    return out


def _no_coinw(body: bytes) -> Any:
    raise NotImplementedError("CoinW has no blanks: its Decimal floor is exact")


def contenders() -> tuple[dict[str, tuple[Decoder, Decoder] | str], list[str]]:
    """Contender -> ``(bitget, coinw)`` decoders, or why it is skipped."""
    found: dict[str, tuple[Decoder, Decoder] | str] = {"exchange_async": sdk_decoders()}
    try:
        found["pydantic v2"] = pydantic_decoders()
    except ImportError as error:
        found["pydantic v2"] = f"not installed ({error})"
    found["json.loads"] = (lambda b: json.loads(b, parse_float=Decimal),) * 2
    try:
        import orjson

        found["orjson"] = (orjson.loads, orjson.loads)
    except ImportError as error:
        found["orjson"] = f"not installed ({error})"
    found["msgspec Decimal floor"] = msgspec_decoders(strings=False)
    found["msgspec exact floor"] = (msgspec_exact_floor(), _no_coinw)
    found["msgspec str floor"] = msgspec_decoders(strings=True)
    return found, [name for name, item in found.items() if isinstance(item, str)]


# -- the run --------------------------------------------------------------------------------


def per_call_us(decode: Decoder, body: bytes, number: int) -> float:
    """Median-free single measurement: µs per decode over ``number`` calls (GC off)."""
    return timeit.Timer(lambda: decode(body)).timeit(number) / number * 1e6


def run(quick: bool = False) -> Outcome:
    """Every reply, every contender: values checked, then timed in interleaved rounds."""
    rounds, target = (3, 0.02) if quick else (9, 0.1)
    outcome = Outcome(NAME, "Decoding a reply into typed values (µs per reply)")
    found, skipped = contenders()
    for name in skipped:
        outcome.skipped[name] = str(found.pop(name))
    replies = [
        (f"Bitget page, {BITGET_ROWS} rows", bitget_body(), 0, ea.TrackingOrder),
        (
            f"Bitget page, {BITGET_ROWS} x the docs' example row",
            docs_example_body(),
            0,
            ea.TrackingOrder,
        ),
        (f"CoinW, {COINW_ROWS} orders, numbers", coinw_body("numbers"), 1, ea.OrderInfo),
        (f"CoinW, {COINW_ROWS} orders, strings", coinw_body("strings"), 1, ea.OrderInfo),
    ]
    outcome.data = {"rounds": rounds, "replies": {}}
    for title, body, which, model in replies:
        truth = plain_rows(json.loads(body, parse_float=Decimal), model)
        table = Table(
            f"{title} ({len(body):,} bytes)",
            ["decoder", "µs/reply (median)", "spread", "SDK / decoder", "typed", "values equal"],
        )
        usable: dict[str, Decoder] = {}
        exact: dict[str, str] = {}
        for name, pair in found.items():
            assert not isinstance(pair, str)
            decode = pair[which]
            try:
                same = plain_rows(decode(body), model) == truth
            except NotImplementedError:
                exact[name] = "n/a"
                continue
            except (msgspec.ValidationError, ValueError, TypeError) as error:
                exact[name] = f"cannot decode ({type(error).__name__})"
                continue
            exact[name] = "yes" if same else "NO"
            usable[name] = decode
            if not same and name in (
                "exchange_async",
                "msgspec Decimal floor",
                "msgspec exact floor",
            ):
                outcome.problems.append(f"{title}: {name} values differ from the wire's")
        times: dict[str, list[float]] = {name: [] for name in usable}
        numbers = {
            name: max(5, int(target / max(per_call_us(d, body, 5) * 1e-6, 1e-7)))
            for name, d in usable.items()
        }
        for r in range(rounds):
            for name in rotated(list(usable), r):
                times[name].append(per_call_us(usable[name], body, numbers[name]))
        summary: dict[str, Any] = {}
        sdk = times.get("exchange_async", [])
        for name in found:
            if name not in usable:
                table.rows.append([name, "-", "-", "-", "-", exact[name]])
                continue
            ratios = [s / t for s, t in zip(sdk, times[name], strict=True)]
            low, high = spread(times[name])
            typed = "no (dicts)" if name in ("json.loads", "orjson") else "yes"
            table.rows.append(
                [
                    name,
                    fmt(median(times[name])),
                    f"{fmt(low)}-{fmt(high)}",
                    f"{median(ratios):.2f}",
                    typed,
                    exact[name],
                ]
            )
            summary[name] = {
                "us_median": median(times[name]),
                "us_by_round": times[name],
                "sdk_over_decoder_median": median(ratios),
                "values_equal": exact[name],
            }
        outcome.tables.append(table)
        outcome.data["replies"][title] = {"bytes": len(body), "decoders": summary}
    outcome.notes.append(
        "SDK / decoder: the SDK's time over this decoder's, per round, median over rounds "
        "(below 1: the SDK is faster). 'values equal': every field equal to the wire's exact "
        "value (json.loads with parse_float=Decimal as the reference); orjson turns JSON "
        "numbers into floats. The msgspec floors do no post-processing: Bitget's unset prices "
        'stay "" (str), CoinW\'s numeric strings need strict=False.'
    )
    return outcome


if __name__ == "__main__":
    from .__main__ import standalone

    sys.exit(standalone(NAME))
