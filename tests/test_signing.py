"""Signing is a pure function: fixed inputs, exact expected signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import pickle

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


# -- the per-client signer: same headers as the pure functions, prepared once -----------------


@pytest.mark.parametrize(
    ("path", "body", "timestamp"),
    [(BITGET_PATH, "", 1695801601016), ("/api/v2/public/time", '{"a":1}', 0), (COINW_PATH, "", 1)],
)
def test_request_signers_give_exactly_the_auth_headers(
    path: str, body: str, timestamp: int
) -> None:
    static = {"Content-Type": "application/json", "locale": "en-US"}
    bitget = ea.BitgetCredentials("bg-key-sign", "bg-secret-sign", "bg-pass-sign")
    signer = bitget_auth.request_signer(bitget, static)
    expected = {**static, **bitget_auth.auth_headers(bitget, timestamp, "GET", path, body)}
    assert signer(timestamp, "GET", path, body) == expected
    coinw = ea.CoinWCredentials("cw-key-sign", "cw-secret-sign")
    coinw_signer = coinw_auth.request_signer(coinw, static)
    expected = {**static, **coinw_auth.auth_headers(coinw, timestamp, "get", path, body)}
    assert coinw_signer(timestamp, "get", path, body) == expected


def test_a_request_signer_returns_a_fresh_dict_and_never_shows_the_secret() -> None:
    credentials = ea.BitgetCredentials("bg-key-sign", "bg-secret-sign", "bg-pass-sign")
    static = {"locale": "en-US"}
    signer = bitget_auth.request_signer(credentials, static)
    first = signer(1, "GET", "/a", "")
    first["ACCESS-SIGN"] = "changed"
    assert signer(1, "GET", "/a", "")["ACCESS-SIGN"] != "changed"
    assert static == {"locale": "en-US"}
    assert "bg-secret-sign" not in repr(signer) and "bg-pass-sign" not in repr(signer)
    with pytest.raises(TypeError):
        pickle.dumps(signer)
