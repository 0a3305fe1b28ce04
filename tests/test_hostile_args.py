"""Careless arguments: every public argument given a value of the wrong type or range raises
`ea.ValidationError` before anything is sent, never a bare ``TypeError``, ``ValueError``,
``AttributeError``, ``OverflowError`` or whatever a user's iterator raised (issue 8).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import BITGET_KEY, BITGET_PASS, BITGET_SECRET, COINW_KEY, COINW_SECRET
from hypothesis import given, settings
from hypothesis import strategies as st

import exchange_async as ea
from exchange_async_sim import Simulator

NAIVE = datetime(2024, 1, 1)
HUGE = 2**70


def _boom() -> Iterator[int]:
    yield 1
    raise KeyError("the caller's own bug")


BITGET_BAD: list[tuple[str, dict[str, Any]]] = [
    ("product_type", {"product_type": None}),
    ("product_type", {"product_type": 1}),
    ("product_type", {"product_type": b"USDT-FUTURES"}),
    ("product_type", {"product_type": "SPOT"}),
    ("symbol", {"symbol": 1.5}),
    ("symbol", {"symbol": "BTC/USDT"}),
    ("symbol", {"symbol": ""}),
    ("symbol", {"symbol": "BTC\nUSDT"}),
    ("symbol", {"symbol": "B" * 41}),
    ("symbol", {"symbol": -5}),
    ("start_time", {"start_time": NAIVE}),
    ("start_time", {"start_time": 1.7e12}),
    ("start_time", {"start_time": True}),
    ("start_time", {"start_time": HUGE}),
    ("start_time", {"start_time": -1}),
    ("start_time", {"start_time": "1700000000000"}),
    ("start_time", {"start_time": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))}),
    ("end_time", {"end_time": float("nan")}),
    ("end_time", {"end_time": 10**20}),
    ("start_time", {"start_time": 2_000, "end_time": 1_000}),
    ("limit", {"limit": 0}),
    ("limit", {"limit": 51}),
    ("limit", {"limit": 1.5}),
    ("limit", {"limit": True}),
    ("limit", {"limit": "10"}),
    ("limit", {"limit": HUGE}),
    ("id_less_than", {"id_less_than": "1 OR 1"}),
    ("id_less_than", {"id_less_than": 1.5}),
    ("id_less_than", {"id_less_than": True}),
    ("id_less_than", {"id_less_than": -1}),
    ("id_greater_than", {"id_greater_than": ["1"]}),
    ("id_less_than", {"id_less_than": "1", "id_greater_than": "2"}),
]


@pytest.mark.parametrize(("name", "kwargs"), BITGET_BAD)
async def test_bitget_bad_arguments(
    bitget: ea.BitgetClient, sim: Simulator, name: str, kwargs: dict[str, Any]
) -> None:
    args = {"product_type": "USDT-FUTURES", **kwargs}
    product_type = args.pop("product_type")
    with pytest.raises(ea.ValidationError, match=name):
        await bitget.get_current_tracking_orders(product_type, **args)
    assert sim.arrivals == []


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("page_size", {"page_size": 0}),
        ("page_size", {"page_size": "50"}),
        ("page_size", {"page_size": 50.0}),
        ("start_time", {"start_time": NAIVE}),
        ("symbol", {"symbol": object()}),
    ],
)
async def test_bitget_bad_paging_arguments(
    bitget: ea.BitgetClient, sim: Simulator, name: str, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(ea.ValidationError, match=name):
        async for _ in bitget.iter_current_tracking_orders("USDT-FUTURES", **kwargs):
            pass
    assert sim.arrivals == []


COINW_BAD: list[tuple[str, dict[str, Any]]] = [
    ("position_type", {"position_type": 3}),
    ("position_type", {"position_type": ["plan"]}),
    ("instrument", {"instrument": 1.5}),
    ("instrument", {"instrument": "BTC USDT"}),
    ("instrument", {"instrument": "X" * 31}),
    ("source_ids", {"source_ids": True}),
    ("source_ids", {"source_ids": 5}),
    ("source_ids", {"source_ids": 5.0}),
    ("source_ids", {"source_ids": "1,2"}),
    ("source_ids", {"source_ids": b"12"}),
    ("source_ids", {"source_ids": {1: 2}}),
    ("source_ids", {"source_ids": [[1, 2]]}),
    ("source_ids", {"source_ids": [1.0]}),
    ("source_ids", {"source_ids": [math.nan]}),
    ("source_ids", {"source_ids": [True]}),
    ("source_ids", {"source_ids": [None]}),
    ("source_ids", {"source_ids": [HUGE]}),
    ("source_ids", {"source_ids": ["9" * 400]}),
    ("source_ids", {"source_ids": [0]}),
    ("source_ids", {"source_ids": ["１２"]}),  # full-width digits: not ASCII
    ("source_ids", {"source_ids": [b"12"]}),
    ("source_ids", {"source_ids": _boom()}),
]


@pytest.mark.parametrize(("name", "kwargs"), COINW_BAD)
async def test_coinw_bad_arguments(
    coinw: ea.CoinWClient, sim: Simulator, name: str, kwargs: dict[str, Any]
) -> None:
    args = {"position_type": "plan", **kwargs}
    with pytest.raises(ea.ValidationError, match=name):
        await coinw.get_order_info(**args)
    assert sim.arrivals == []


def _bitget(**kwargs: Any) -> ea.BitgetClient:
    credentials = kwargs.pop("credentials", None) or ea.BitgetCredentials(
        BITGET_KEY, BITGET_SECRET, BITGET_PASS
    )
    return ea.BitgetClient(credentials, **kwargs)


def _coinw(**kwargs: Any) -> ea.CoinWClient:
    return ea.CoinWClient(ea.CoinWCredentials(COINW_KEY, COINW_SECRET), **kwargs)


OPTIONS_BAD: list[tuple[str, dict[str, Any]]] = [
    ("timeout", {"timeout": 0}),
    ("timeout", {"timeout": -1}),
    ("timeout", {"timeout": math.nan}),
    ("timeout", {"timeout": math.inf}),
    ("timeout", {"timeout": "10"}),
    ("timeout", {"timeout": None}),
    ("timeout", {"timeout": True}),
    ("timeout", {"timeout": HUGE}),
    ("max_rate_wait", {"max_rate_wait": 0}),
    ("max_rate_wait", {"max_rate_wait": "1"}),
    ("max_rate_wait", {"max_rate_wait": math.nan}),
    ("max_rate_wait", {"max_rate_wait": True}),
    ("rate_limit_margin", {"rate_limit_margin": -0.1}),
    ("rate_limit_margin", {"rate_limit_margin": 1.5}),
    ("rate_limit_margin", {"rate_limit_margin": "0.1"}),
    ("rate_limit_margin", {"rate_limit_margin": True}),
    ("retry", {"retry": "3"}),
    ("retry", {"retry": 3}),
    ("retry", {"retry": {"max_attempts": 3}}),
    ("http_session", {"http_session": "http"}),
    ("http_session", {"http_session": object()}),
    ("uid", {"uid": True}),
    ("uid", {"uid": 1.5}),
    ("uid", {"uid": ""}),
    ("uid", {"uid": "a b"}),
    ("uid", {"uid": -1}),
    ("uid", {"uid": []}),
    ("uid", {"uid": HUGE}),
    ("base_url", {"base_url": None}),
    ("base_url", {"base_url": b"https://api.bitget.com"}),
    ("base_url", {"base_url": "api.bitget.com"}),
    ("base_url", {"base_url": "ftp://api.bitget.com"}),
    ("base_url", {"base_url": "https://"}),
    ("base_url", {"base_url": "https://api.bitget.com/\r\nX-Evil: 1"}),
    ("base_url", {"base_url": "https://api.bitget.com/\x00"}),
    ("base_url", {"base_url": "https://api.bitget.com?x=1"}),
    ("base_url", {"base_url": "http://api.bitget.com"}),
    ("base_url", {"base_url": "http://exchange.invalid:8080"}),
    ("allow_insecure_http", {"allow_insecure_http": "yes"}),
]


@pytest.mark.parametrize("make", [_bitget, _coinw])
@pytest.mark.parametrize(("name", "kwargs"), OPTIONS_BAD)
def test_client_options(make: Any, name: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ea.ValidationError, match=name):
        make(**kwargs)


@pytest.mark.parametrize("value", ["false", 1, None])
def test_demo_trading_must_be_a_bool(value: object) -> None:
    with pytest.raises(ea.ValidationError, match="demo_trading"):
        _bitget(demo_trading=value)


@pytest.mark.parametrize("value", [None, "key", ea.CoinWCredentials("k" * 9, "s" * 9)])
def test_credentials_of_the_wrong_type(value: object) -> None:
    with pytest.raises(ea.ValidationError, match="credentials"):
        ea.BitgetClient(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "url",
    [
        "https://api.bitget.com",
        "https://proxy.internal:8443/bitget/",
        "http://127.0.0.1:8080",
        "http://127.9.9.9",
        "http://localhost:9000",
        "http://[::1]:9000",
    ],
)
def test_https_anywhere_and_plain_http_to_loopback(url: str) -> None:
    assert _bitget(base_url=url).base_url == url.rstrip("/")


def test_plain_http_elsewhere_only_when_explicitly_allowed() -> None:
    client = _coinw(base_url="http://exchange.invalid:8080", allow_insecure_http=True)
    assert client.base_url == "http://exchange.invalid:8080"


@pytest.mark.parametrize(
    "url", ["http://user:hunter2-secret@127.0.0.1:9", "https://:hunter2-secret@proxy.example"]
)
def test_a_password_in_base_url_is_kept_but_never_shown(url: str) -> None:
    client = _bitget(base_url=url)
    for text in (repr(client), str(client), client.base_url):
        assert "hunter2" not in text
    with pytest.raises(ea.ValidationError) as caught:  # and an error about it never echoes it
        _bitget(base_url=url + "?x=1")
    error = caught.value
    for text in (str(error), repr(error), repr(error.args), error.message):
        assert "hunter2" not in text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_attempts", 0),
        ("max_attempts", 1.5),
        ("max_attempts", "3"),
        ("max_attempts", None),
        ("max_attempts", True),
        ("max_attempts", HUGE),
        ("base_delay", -1),
        ("base_delay", math.nan),
        ("base_delay", None),
        ("max_delay", math.inf),
        ("max_delay", "8"),
        ("rate_limit_delay", math.nan),
        ("rate_limit_delay", [1]),
        ("max_retry_after", math.inf),
        ("max_retry_after", None),
        ("max_retry_after", HUGE),
    ],
)
def test_retry_policy_fields(name: str, value: object) -> None:
    with pytest.raises(ea.ValidationError, match=name):
        ea.RetryPolicy(**{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("interval", {"interval": -1}),
        ("interval", {"interval": math.nan}),
        ("interval", {"interval": math.inf}),
        ("interval", {"interval": "1"}),
        ("max_pending", {"max_pending": 0}),
        ("max_pending", {"max_pending": None}),
        ("max_pending", {"max_pending": 1.5}),
        ("backoff", {"backoff": 0}),
        ("backoff", {"backoff": None}),
        ("backoff", {"backoff": math.nan}),
        ("max_backoff", {"max_backoff": None}),
        ("max_backoff", {"max_backoff": math.inf}),
        ("backoff", {"backoff": 5, "max_backoff": 1}),
        ("retry", {"retry": "x"}),
        ("timeout", {"timeout": None}),
        ("timeout", {"timeout": -1}),
        ("max_connections", {"max_connections": None}),
        ("max_connections", {"max_connections": -1}),
        ("max_connections", {"max_connections": "10"}),
    ],
)
def test_poller_options(name: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ea.ValidationError, match=name):
        ea.Poller(**kwargs)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("product_types", {"product_types": None}),
        ("product_types", {"product_types": 5}),
        ("product_types", {"product_types": []}),
        ("product_types", {"product_types": ["SPOT"]}),
        ("product_types", {"product_types": _boom()}),
        ("interval", {"interval": "1"}),
        ("interval", {"interval": math.nan}),
        ("base_url", {"base_url": "http://example.com"}),
        ("uid", {"uid": 1.5}),
        ("symbol", {"symbol": 1.5}),
    ],
)
def test_poller_account_arguments(name: str, kwargs: dict[str, Any]) -> None:
    poller = ea.Poller()
    credentials = ea.BitgetCredentials(BITGET_KEY, BITGET_SECRET, BITGET_PASS)
    with pytest.raises(ea.ValidationError, match=name):
        poller.add_bitget("desk", credentials, **kwargs)
    assert poller.accounts == {}


@pytest.mark.parametrize("field", [0, 1, 2])
@pytest.mark.parametrize(
    "value", [None, 5, b"bytes", "", "  ", "line\n", "tab\there", "é", "k" * 513, ["key"]]
)
def test_credentials_values(field: int, value: object) -> None:
    args: list[object] = ["api-key-1", "secret-1", "pass-1"]
    args[field] = value
    with pytest.raises(ea.ValidationError):
        ea.BitgetCredentials(*args)  # type: ignore[arg-type]


def test_times_are_exact_milliseconds() -> None:
    from exchange_async._core.params import to_ms

    moment = datetime(2024, 3, 1, 12, 0, 0, 123_000, tzinfo=UTC)
    assert to_ms("t", moment) == 1_709_294_400_123
    late = datetime(2286, 11, 20, 17, 46, 39, 999_000, tzinfo=UTC)  # float would round this
    assert to_ms("t", late) == 9_999_999_999_999


# -- oversized integers: an int of 5,000 digits is past Python's int-to-str limit --------------

GIANT = 10**5000
# Above every argument's range (a cursor or instrument may be up to 64 digits long).
GIANT_INTS = st.sampled_from([GIANT, -GIANT, GIANT + 7]) | st.integers(min_value=10**80)

BITGET_INT_ARGUMENTS = ["id_less_than", "id_greater_than", "start_time", "end_time", "limit"]


@pytest.mark.parametrize("name", BITGET_INT_ARGUMENTS)
@settings(max_examples=10, deadline=None)
@given(value=GIANT_INTS)
def test_a_huge_int_is_a_validation_error_for_every_bitget_argument(name: str, value: Any) -> None:
    def refuse(request: ea.TransportRequest) -> ea.TransportResponse:
        raise AssertionError("nothing may be sent")

    async def call() -> None:
        async with _bitget(transport=ea.MemoryTransport(refuse)) as client:
            with pytest.raises(ea.ValidationError, match=name):
                await client.get_current_tracking_orders("USDT-FUTURES", **{name: value})
            with pytest.raises(ea.ValidationError, match="page_size"):
                client.iter_current_tracking_orders("USDT-FUTURES", page_size=value)

    asyncio.run(call())


@pytest.mark.parametrize("name", ["instrument", "source_ids"])
@settings(max_examples=10, deadline=None)
@given(value=GIANT_INTS)
def test_a_huge_int_is_a_validation_error_for_every_coinw_argument(name: str, value: int) -> None:
    def refuse(request: ea.TransportRequest) -> ea.TransportResponse:
        raise AssertionError("nothing may be sent")

    argument: Any = [1, value] if name == "source_ids" else value

    async def call() -> None:
        async with _coinw(transport=ea.MemoryTransport(refuse)) as client:
            with pytest.raises(ea.ValidationError, match=name):
                await client.get_order_info("plan", **{name: argument})

    asyncio.run(call())


@pytest.mark.parametrize(
    "name",
    ["uid", "timeout", "max_rate_wait", "rate_limit_margin", "max_connections", "max_reply_bytes"],
)
@pytest.mark.parametrize("make", [_bitget, _coinw])
def test_a_huge_int_is_a_validation_error_for_every_client_option(make: Any, name: str) -> None:
    for value in (GIANT, -GIANT):
        with pytest.raises(ea.ValidationError, match=name):
            make(**{name: value})


@pytest.mark.parametrize("name", ["max_attempts", "base_delay", "max_delay", "max_retry_after"])
def test_a_huge_int_is_a_validation_error_for_every_retry_field(name: str) -> None:
    for value in (GIANT, -GIANT):
        with pytest.raises(ea.ValidationError, match=name):
            ea.RetryPolicy(**{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["interval", "backoff", "max_backoff", "timeout"])
def test_a_huge_int_is_a_validation_error_for_the_poller(name: str) -> None:
    for value in (GIANT, -GIANT):
        with pytest.raises(ea.ValidationError, match=name):
            ea.Poller(**{name: value})  # type: ignore[arg-type]
