"""Signing is a pure function: fixed inputs, exact expected signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

import exchange_async as ea
from exchange_async.bitget import auth as bitget_auth
from exchange_async.coinw import auth as coinw_auth

BITGET_PATH = (
    "/api/v2/copy/mix-trader/order-current-track?limit=20&productType=USDT-FUTURES&symbol=BTCUSDT"
)
COINW_PATH = (
    "/v1/perpum/order?positionType=plan&instrument=BTC"
    "&sourceIds=33308741701971947,33308753605637070"
)


def test_bitget_vector_from_api_notes() -> None:
    sig = bitget_auth.sign("bitget-test-secret", 1695801601016, "GET", BITGET_PATH)
    assert sig == "uWoy1CGOIu7/9uSUPOiP0499q8EPwzN4IT+Ja1S/Tqc="


def test_coinw_vector_from_api_notes() -> None:
    sig = coinw_auth.sign("TEST_SECRET_KEY", 1740053261000, "GET", COINW_PATH)
    assert sig == "BZCzrlyMdN38LHkt6EhlHaMIUa+R6/FUWUvDQOWkvaY="


def _reference(secret: str, message: str) -> str:
    return base64.b64encode(
        hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    ).decode()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v2/public/time", ""),
        ("get", "/api/v2/copy/mix-trader/order-current-track?productType=USDT-FUTURES", ""),
        ("POST", "/api/v2/mix/order/place-order", '{"symbol":"BTCUSDT","size":"1"}'),
    ],
)
def test_bitget_prehash_is_timestamp_method_path_body(method: str, path: str, body: str) -> None:
    expected = _reference("s3cr3t", f"1700000000000{method.upper()}{path}{body}")
    assert bitget_auth.sign("s3cr3t", 1700000000000, method, path, body) == expected


def test_bitget_headers() -> None:
    creds = ea.BitgetCredentials("key-123456789", "bitget-test-secret", "pass")
    headers = bitget_auth.auth_headers(creds, 1695801601016, "GET", BITGET_PATH)
    assert headers == {
        "ACCESS-KEY": "key-123456789",
        "ACCESS-SIGN": "uWoy1CGOIu7/9uSUPOiP0499q8EPwzN4IT+Ja1S/Tqc=",
        "ACCESS-TIMESTAMP": "1695801601016",
        "ACCESS-PASSPHRASE": "pass",
    }


def test_coinw_headers() -> None:
    creds = ea.CoinWCredentials("ck-123456789", "TEST_SECRET_KEY")
    headers = coinw_auth.auth_headers(creds, 1740053261000, "GET", COINW_PATH)
    assert headers == {
        "api_key": "ck-123456789",
        "timestamp": "1740053261000",
        "sign": "BZCzrlyMdN38LHkt6EhlHaMIUa+R6/FUWUvDQOWkvaY=",
    }
