"""The public reply builders (``exchange_async_sim.testing``) give the bodies the simulator
itself sends: the same envelopes, rows as given (mappings encoded, bytes verbatim)."""

from __future__ import annotations

import json
import time
from typing import Any

import msgspec

from exchange_async_sim import Simulator, SimulatorConfig
from exchange_async_sim.signing import expected_signature
from exchange_async_sim.testing import (
    bitget_error,
    bitget_page,
    bitget_reply,
    bitget_tracking_row,
    coinw_error,
    coinw_order_row,
    coinw_reply,
    coinw_rows,
)

TRACK = "/api/v2/copy/mix-trader/order-current-track"
ORDER = "/v1/perpum/order"


def _without_request_time(body: bytes) -> dict[str, Any]:
    reply: dict[str, Any] = json.loads(body)
    reply.pop("requestTime", None)
    return reply


async def test_bitget_page_is_the_simulators_page() -> None:
    sim = Simulator(SimulatorConfig(seed=5))
    sim.add_bitget_account(api_key="bk", secret_key="bs", passphrase="bp", orders=12)
    ts = str(int(time.time() * 1000))
    target = f"{TRACK}?productType=USDT-FUTURES"
    headers = {
        "ACCESS-KEY": "bk",
        "ACCESS-SIGN": expected_signature("bs", ts, "GET", target, ""),
        "ACCESS-TIMESTAMP": ts,
        "ACCESS-PASSPHRASE": "bp",
    }
    status, _, body = await sim.handle("GET", target, headers, b"")
    assert status == 200
    sent = _without_request_time(body)
    data = sent["data"]
    assert data["trackingList"]  # some of the orders are USDT-FUTURES ones
    rebuilt = bitget_page(*data["trackingList"], end_id=data["endId"])
    assert _without_request_time(rebuilt) == sent


async def test_coinw_rows_are_the_simulators_rows() -> None:
    sim = Simulator(SimulatorConfig(seed=5))
    sim.add_coinw_account(api_key="ck", secret_key="cs", orders=2)
    ts = str(int(time.time() * 1000))
    target = f"{ORDER}?positionType=plan"
    headers = {
        "api_key": "ck",
        "timestamp": ts,
        "sign": expected_signature("cs", ts, "GET", target, ""),
    }
    status, _, body = await sim.handle("GET", target, headers, b"")
    assert status == 200
    rows = msgspec.json.decode(body)["data"]
    assert len(rows) == 2
    raw_rows = [msgspec.json.encode(row) for row in rows]
    assert json.loads(coinw_rows(*raw_rows)) == json.loads(body)
    assert json.loads(coinw_rows(*rows)) == json.loads(body)


def test_error_replies_have_the_simulators_shapes() -> None:
    sim = Simulator()
    refused = sim.bitget.error(400, "40014", "Incorrect permissions")
    assert _without_request_time(bitget_error("40014", "Incorrect permissions")) == (
        _without_request_time(refused.body)
    )
    assert json.loads(coinw_error(29001, "busy")) == json.loads(sim.coinw.error(29001, "busy").body)
    assert json.loads(bitget_reply({"a": 1})) == json.loads(sim.bitget.success({"a": 1}).body) | {
        "requestTime": json.loads(bitget_reply(None))["requestTime"]
    }


def test_rows_given_as_bytes_go_in_verbatim() -> None:
    exact = b'{"trackingNo":"1","openSize":"0.1000000000000000","id":12345678901234567890}'
    assert exact in bitget_page(exact, end_id=b"12")
    assert bitget_page(exact, end_id=b"12").endswith(b',"endId":12}}')
    assert exact in coinw_rows(exact)
    assert json.loads(bitget_page(end_id=None))["data"] == {"trackingList": [], "endId": None}
    assert json.loads(coinw_reply(None, code=6003, msg="no")) == {
        "code": 6003,
        "data": None,
        "msg": "no",
    }


def test_example_rows_take_replacements_by_wire_name() -> None:
    row = bitget_tracking_row(trackingNo="7", presetStopLossPrice="")
    assert row["trackingNo"] == "7" and row["presetStopLossPrice"] == ""
    assert row["openSize"] == "0.1000000000000000"  # the documented example otherwise
    assert all(type(value) is str for value in row.values())  # Bitget sends strings only
    order = coinw_order_row(id=7)
    assert order["id"] == 7 and order["instrument"] == "BTC"
    assert coinw_order_row()["id"] == 33308741701971947
