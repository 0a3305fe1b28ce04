"""The simulator as an independent referee: its own signature check (documented vectors,
refusing a signature over another query string than the one sent), per-endpoint limits
declared as table rows, and the socket-free ``Simulator.handle`` entry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from exchange_async_sim import EndpointLimit, SimulatedDisconnect, Simulator, SimulatorConfig
from exchange_async_sim.coinw import Endpoint as CoinWEndpoint
from exchange_async_sim.signing import expected_signature, signature_matches

TRACK = "/api/v2/copy/mix-trader/order-current-track"
ORDER = "/v1/perpum/order"


def test_bitget_documented_vector() -> None:
    target = (
        "/api/v2/copy/mix-trader/order-current-track"
        "?limit=20&productType=USDT-FUTURES&symbol=BTCUSDT"
    )
    signature = expected_signature("bitget-test-secret", "1695801601016", "GET", target, "")
    assert signature == "uWoy1CGOIu7/9uSUPOiP0499q8EPwzN4IT+Ja1S/Tqc="


def test_coinw_documented_vector() -> None:
    target = (
        "/v1/perpum/order?positionType=plan&instrument=BTC"
        "&sourceIds=33308741701971947,33308753605637070"
    )
    signature = expected_signature("TEST_SECRET_KEY", "1740053261000", "get", target, "")
    assert signature == "BZCzrlyMdN38LHkt6EhlHaMIUa+R6/FUWUvDQOWkvaY="


def test_body_is_part_of_the_prehash() -> None:
    with_body = expected_signature("s", "1", "POST", "/p", '{"a":1}')
    assert with_body != expected_signature("s", "1", "POST", "/p", "")
    assert signature_matches(with_body, "s", "1", "POST", "/p", '{"a":1}')
    assert not signature_matches(with_body, "s", "1", "POST", "/p", '{"a": 1}')


def _sign(secret: str, prehash: str) -> str:
    """A player's signature, computed here by hand from the documented formula."""
    digest = hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _sim() -> Simulator:
    sim = Simulator(SimulatorConfig(seed=3))
    sim.add_bitget_account(api_key="bk", secret_key="bs", passphrase="bp", orders=30)
    sim.add_coinw_account(api_key="ck", secret_key="cs", orders=30)
    return sim


async def _bitget(
    sim: Simulator, sent: str, signed: str | None = None
) -> tuple[int, dict[str, Any]]:
    ts = str(int(time.time() * 1000))
    headers = {
        "access-key": "bk",  # header names are case-insensitive
        "ACCESS-SIGN": _sign("bs", f"{ts}GET{TRACK}?{signed if signed is not None else sent}"),
        "ACCESS-TIMESTAMP": ts,
        "ACCESS-PASSPHRASE": "bp",
    }
    status, _, body = await sim.handle("GET", f"{TRACK}?{sent}", headers, b"")
    return status, json.loads(body)


async def _coinw(sim: Simulator, sent: str, signed: str | None = None) -> dict[str, Any]:
    ts = str(int(time.time() * 1000))
    prehash = f"{ts}GET{ORDER}?{signed if signed is not None else sent}"
    headers = {"api_key": "ck", "timestamp": ts, "sign": _sign("cs", prehash)}
    status, _, body = await sim.handle("GET", f"{ORDER}?{sent}", headers)
    assert status == 200
    reply: dict[str, Any] = json.loads(body)
    return reply


async def test_bitget_signature_must_cover_the_query_sent() -> None:
    sim = _sim()
    sent = "productType=USDT-FUTURES&limit=5"
    status, reply = await _bitget(sim, sent)
    assert (status, reply["code"]) == (200, "00000")
    assert len(reply["data"]["trackingList"]) == 5
    # Signed over the sorted query, sent unsorted: refused.
    status, reply = await _bitget(sim, sent, signed="limit=5&productType=USDT-FUTURES")
    assert (status, reply["code"]) == (400, "40009")
    # Signed over the raw value, sent percent-encoded: refused.
    status, reply = await _bitget(
        sim,
        "productType=USDT-FUTURES&symbol=BTC%55SDT",
        signed="productType=USDT-FUTURES&symbol=BTCUSDT",
    )
    assert (status, reply["code"]) == (400, "40009")


async def test_coinw_signature_must_cover_the_query_sent() -> None:
    sim = _sim()
    ids = ",".join(str(order_id) for order_id in list(sim.coinw.accounts["ck"].orders)[:3])
    sent = f"positionType=execute&sourceIds={ids}"
    assert (await _coinw(sim, sent))["code"] == 0
    encoded = f"positionType=execute&sourceIds={ids.replace(',', '%2C')}"
    assert (await _coinw(sim, encoded, signed=sent))["code"] == 6001
    unsorted = f"sourceIds={ids}&positionType=execute"
    assert (await _coinw(sim, unsorted, signed=sent))["code"] == 6001
    assert (await _coinw(sim, unsorted))["code"] == 0  # unsorted is fine when signed as sent


async def test_each_endpoint_has_its_own_limit_from_its_table_row() -> None:
    sim = _sim()
    quantity = "/v1/perpum/orders/openQuantity"

    def open_quantity(account: object, query: object) -> dict[str, int]:
        return {"openQuantity": 1}

    sim.coinw.endpoints[quantity] = CoinWEndpoint(open_quantity, EndpointLimit(5))
    codes = [(await _coinw_path(sim, quantity))["code"] for _ in range(7)]
    assert codes == [0] * 5 + [29001] * 2
    # The sibling's refusals do not eat the order endpoint's own 10 per second.
    codes = [(await _coinw(sim, "positionType=plan"))["code"] for _ in range(10)]
    assert codes == [0] * 10
    assert sim.limit_violations("coinw") == 2


async def _coinw_path(sim: Simulator, path: str) -> dict[str, Any]:
    ts = str(int(time.time() * 1000))
    headers = {"api_key": "ck", "timestamp": ts, "sign": _sign("cs", f"{ts}GET{path}")}
    _, _, body = await sim.handle("GET", path, headers)
    reply: dict[str, Any] = json.loads(body)
    return reply


async def test_handle_answers_without_sockets_and_logs_arrivals() -> None:
    sim = _sim()
    status, headers, body = await sim.handle("GET", "/api/v2/public/time", {})
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["data"]["serverTime"].isdigit()
    sim.inject(ORDER, "disconnect")
    with pytest.raises(SimulatedDisconnect):
        await sim.handle("GET", f"{ORDER}?positionType=plan", {"api_key": "ck"})
    sim.inject(TRACK, "rate_limited", retry_after=2)
    status, headers, _ = await sim.handle("GET", TRACK, {})
    assert (status, headers["Retry-After"]) == (429, "2")
    assert [a.path for a in sim.arrivals] == ["/api/v2/public/time", ORDER, TRACK]
