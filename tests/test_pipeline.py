"""The pipeline's layers over the in-memory transport: no sockets, no simulator.

Each test answers requests with a small function and checks what the client sent, what it
raised, and how many attempts it made.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import pytest

import exchange_async as ea
from exchange_async._core.declarations import Endpoint
from exchange_async.bitget import auth as bitget_auth
from exchange_async.bitget.endpoints import TRACKING_PAGES

pytestmark = pytest.mark.virtual_time  # no sockets: back-offs and limits in no real time

KEY, SECRET, PASSPHRASE = "bg-key-0001", "bg-secret-0001", "bg-pass-0001"
TRACK = "/api/v2/copy/mix-trader/order-current-track"
TIME = "/api/v2/public/time"
FAST = ea.RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002, rate_limit_delay=0.001)


def reply(data: Any, *, code: str = "00000", status: int = 200, **headers: str) -> Any:
    body = json.dumps({"code": code, "msg": "success", "data": data}).encode()
    return ea.TransportResponse(status, {"Content-Type": "application/json", **headers}, body)


def order(n: int) -> dict[str, str]:
    return {
        "trackingNo": str(n),
        "openOrderId": str(n),
        "symbol": "BTCUSDT",
        "posSide": "long",
        "openLeverage": "10",
        "openPriceAvg": "100.5",
        "openTime": "1700000000000",
        "openSize": "1",
        "openFee": "0.1",
        "followCount": "0",
        "presetStopSurplusPrice": "",
        "presetStopLossPrice": "",
    }


def bitget_server(
    track: Callable[[ea.TransportRequest], Any],
) -> Callable[[ea.TransportRequest], Any]:
    """A Bitget that answers the time endpoint itself and ``track`` for the orders."""

    def handle(request: ea.TransportRequest) -> Any:
        if request.url.endswith(TIME):
            return reply({"serverTime": str(int(time.time() * 1000))})
        return track(request)

    return handle


def client(transport: ea.Transport, **options: Any) -> ea.BitgetClient:
    creds = ea.BitgetCredentials(KEY, SECRET, PASSPHRASE)
    options.setdefault("retry", FAST)
    return ea.BitgetClient(creds, base_url="https://bitget.test", transport=transport, **options)


def track_requests(transport: ea.MemoryTransport) -> list[ea.TransportRequest]:
    return [r for r in transport.requests if TRACK in r.url]


async def test_one_request_signed_with_static_headers_apart() -> None:
    transport = ea.MemoryTransport(bitget_server(lambda r: reply({"trackingList": [order(1)]})))
    async with client(transport, demo_trading=True) as bitget:
        page = await bitget.get_current_tracking_orders("usdt-futures", limit=5)
    assert [o.tracking_no for o in page.tracking_list] == ["1"]
    sent = track_requests(transport)[0]
    assert sent.url == f"https://bitget.test{TRACK}?limit=5&productType=USDT-FUTURES"
    assert sent.headers["paptrading"] == "1"
    assert sent.headers["locale"] == "en-US"
    assert sent.headers["ACCESS-PASSPHRASE"] == PASSPHRASE
    assert PASSPHRASE not in repr(sent)
    assert SECRET not in repr(sent)


async def test_absent_data_is_what_the_endpoint_declares() -> None:
    transport = ea.MemoryTransport(lambda r: reply(None))  # the time endpoint too
    async with client(transport) as bitget:
        page = await bitget.get_current_tracking_orders("USDT-FUTURES")
        assert page.tracking_list == [] and page.end_id is None
        with pytest.raises(ea.DecodeError, match="no data"):
            await bitget.get_server_time()


async def test_server_errors_are_retried_then_raised() -> None:
    calls = 0

    def flaky(request: ea.TransportRequest) -> Any:
        nonlocal calls
        calls += 1
        return ea.TransportResponse(503, {}, b"<html>busy</html>") if calls < 3 else reply({})

    async with client(ea.MemoryTransport(bitget_server(flaky))) as bitget:
        await bitget.get_current_tracking_orders("USDT-FUTURES")
        assert bitget.stats.retries == 2
    calls = -100
    transport = ea.MemoryTransport(bitget_server(flaky))
    async with client(transport) as bitget:
        with pytest.raises(ea.ExchangeUnavailableError):
            await bitget.get_current_tracking_orders("USDT-FUTURES")
    assert len(track_requests(transport)) == FAST.max_attempts


async def test_authentication_errors_are_not_retried() -> None:
    transport = ea.MemoryTransport(bitget_server(lambda r: reply(None, code="40009", status=400)))
    async with client(transport) as bitget:
        with pytest.raises(ea.AuthenticationError):
            await bitget.get_current_tracking_orders("USDT-FUTURES")
    assert len(track_requests(transport)) == 1


@pytest.mark.parametrize("header", ["inf", "1e400", "nan", "-5", "Infinity", "soon"])
async def test_any_retry_after_is_bounded(header: str) -> None:
    transport = ea.MemoryTransport(
        bitget_server(lambda r: reply(None, code="429", status=429, **{"Retry-After": header}))
    )
    policy = ea.RetryPolicy(max_attempts=2, rate_limit_delay=0.01, max_retry_after=1.0)
    async with client(transport, retry=policy, max_rate_wait=0.5) as bitget:
        started = asyncio.get_running_loop().time()
        with pytest.raises(ea.RateLimitError) as info:
            await bitget.get_current_tracking_orders("USDT-FUTURES")
        assert asyncio.get_running_loop().time() - started < 2.0
        retry_after = info.value.retry_after
        assert retry_after is not None and math.isfinite(retry_after) and retry_after >= 0
        assert retry_after <= 3600 * 1.25
        # Not one of them is a valid Retry-After (RFC 9110: digits or an HTTP-date): the
        # pause is the SDK's own, and a later call reaches the server instead of an hour's wait.
        sent = len(track_requests(transport))
        with pytest.raises(ea.RateLimitError):
            await bitget.get_current_tracking_orders("USDT-FUTURES")
        assert len(track_requests(transport)) > sent


async def test_a_refusal_error_is_not_mutated_by_the_policy() -> None:
    error = ea.RateLimitError("slow down", code="429", http_status=429, retry_after=120.0)
    decision = ea.RetryPolicy(max_retry_after=30).decide(error, 1)
    assert not decision.retry
    assert decision.error is not error and error.retry_after == 120.0
    assert decision.error.retry_after is not None and decision.error.retry_after >= 120.0  # type: ignore[attr-defined]
    assert decision.pause_account >= 120.0


def test_non_idempotent_methods_are_not_retried_unless_asked() -> None:
    policy = ea.RetryPolicy()
    failure = ea.TransportError("reset")
    assert not policy.decide(failure, 1, method="POST").retry
    assert policy.decide(failure, 1, method="GET").retry
    assert ea.RetryPolicy(retry_non_idempotent=True).decide(failure, 1, method="POST").retry
    refusal = ea.RateLimitError("slow down")
    assert policy.decide(refusal, 1, method="POST").retry  # refused: nothing happened


def test_backoff_is_capped_and_jittered() -> None:
    policy = ea.RetryPolicy(base_delay=0.25, max_delay=8.0)
    for attempt in range(1, 60):
        ceiling = min(8.0, 0.25 * 2 ** (attempt - 1))
        delay = policy.backoff(attempt)
        assert ceiling / 2 <= delay <= ceiling


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


async def test_a_clock_the_server_rejects_is_measured_again_once() -> None:
    rejected = 0

    def track(request: ea.TransportRequest) -> Any:
        nonlocal rejected
        if rejected < 1:
            rejected += 1
            return reply(None, code="40008", status=400)
        return reply({"trackingList": []})

    transport = ea.MemoryTransport(bitget_server(track))
    async with client(transport) as bitget:
        await bitget.get_current_tracking_orders("USDT-FUTURES")
    kinds = ["time" if r.url.endswith(TIME) else "track" for r in transport.requests]
    assert kinds == ["time", "track", "time", "track"]


async def test_paging_follows_cursors_and_dedupes() -> None:
    pages = {None: ([1, 2], "2"), "2": ([2, 3], "3"), "3": ([], None)}

    def track(request: ea.TransportRequest) -> Any:
        cursor = (
            request.url.split("idLessThan=")[1].split("&")[0]
            if "idLessThan" in request.url
            else None
        )
        ids, end = pages[cursor]
        return reply({"trackingList": [order(i) for i in ids], "endId": end})

    transport = ea.MemoryTransport(bitget_server(track))
    async with client(transport) as bitget:
        first = await bitget.get_current_tracking_orders("USDT-FUTURES")
        assert first.end_id == "2"
        everything = [
            o.tracking_no async for o in bitget.get_current_tracking_orders("USDT-FUTURES")
        ]
        assert everything == ["1", "2", "3"]
        alias = [o.tracking_no async for o in bitget.iter_current_tracking_orders("USDT-FUTURES")]
        assert alias == everything
        sizes = [
            len(p.tracking_list)
            async for p in bitget.iter_current_tracking_order_pages("USDT-FUTURES")
        ]
        assert sizes == [2, 2, 0]


async def test_paging_that_brings_nothing_new_stops() -> None:
    # Same rows, a fresh cursor every time: would page forever.
    counter = 0

    def track(request: ea.TransportRequest) -> Any:
        nonlocal counter
        counter += 1
        return reply({"trackingList": [order(1), order(2)], "endId": f"c{counter}"})

    transport = ea.MemoryTransport(bitget_server(track))
    async with client(transport) as bitget:
        with pytest.raises(ea.PaginationError, match="nothing new"):
            async for _ in bitget.get_current_tracking_orders("USDT-FUTURES"):
                pass
    assert len(track_requests(transport)) == 2


async def test_close_fails_queued_callers_at_once_without_spending_budget() -> None:
    transport = ea.MemoryTransport(bitget_server(lambda r: reply({"trackingList": []})))
    first = client(transport)
    calls = [
        asyncio.create_task(first.get_current_tracking_orders("USDT-FUTURES")) for _ in range(50)
    ]
    while len(track_requests(transport)) < 2:
        await asyncio.sleep(0.01)
    started = asyncio.get_running_loop().time()
    await first.close()
    results = await asyncio.gather(*calls, return_exceptions=True)
    closed_at = asyncio.get_running_loop().time() - started
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) >= 45
    assert all(isinstance(e, ea.ClientClosedError) for e in errors), errors
    assert closed_at < 0.1
    sent_by_first = len(track_requests(transport))
    # A second client of the same account is not queued behind the closed one's callers.
    async with client(transport) as second:
        started = asyncio.get_running_loop().time()
        await second.get_current_tracking_orders("USDT-FUTURES")
        assert asyncio.get_running_loop().time() - started < 0.5
    assert len(track_requests(transport)) == sent_by_first + 1


async def test_session_keyword_is_a_deprecated_alias() -> None:
    creds = ea.BitgetCredentials(KEY, SECRET, PASSPHRASE)
    with pytest.warns(DeprecationWarning, match="http_session"):
        c = ea.BitgetClient(creds, session=None or _FakeSession())  # type: ignore[arg-type]
    await c.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        await ea.BitgetClient(creds).close()


class _FakeSession:
    """Stands for a caller's aiohttp session: the client must not touch it before use."""

    closed = False


async def test_rate_limits_takes_a_redis_url_and_refuses_anything_else() -> None:
    creds = ea.CoinWCredentials("cw-key-0001", "cw-secret-0001")
    for bad in ("memcached://user:hunter2@localhost/0", "hunter2", 42):
        with pytest.raises(ea.ValidationError, match="rate_limits") as info:
            ea.CoinWClient(creds, rate_limits=bad)  # type: ignore[arg-type]
        assert "hunter2" not in str(info.value)
        with pytest.raises(ea.ValidationError):
            ea.Poller(rate_limits=bad)  # type: ignore[arg-type]
    # A URL is taken as is (nothing connects before the first request) and given back on close.
    client = ea.CoinWClient(creds, rate_limits="redis://127.0.0.1:1/0")
    await client.close()
    async with ea.Poller(rate_limits="redis://127.0.0.1:1/0"):
        pass


async def test_a_password_in_base_url_is_not_shown() -> None:
    creds = ea.BitgetCredentials(KEY, SECRET, PASSPHRASE)
    url = "http://proxyuser:hunter2@127.0.0.1:9"
    async with ea.BitgetClient(creds, base_url=url, retry=FAST) as bitget:
        assert "hunter2" not in repr(bitget)
        assert "hunter2" not in repr(bitget._pipeline)
        with pytest.raises(ea.TransportError) as info:
            await bitget.get_current_tracking_orders("USDT-FUTURES")
    assert "hunter2" not in str(info.value) and "hunter2" not in repr(info.value)


async def test_poller_takes_any_source() -> None:
    transport = ea.MemoryTransport(bitget_server(lambda r: reply({"trackingList": [order(1)]})))

    class Source:
        exchange = "bitget"

        def __init__(self) -> None:
            self.client = client(transport)

        async def snapshot(self) -> dict[str, ea.TrackingOrder]:
            page = await self.client.get_current_tracking_orders("USDT-FUTURES")
            return {o.tracking_no: o for o in page.tracking_list}

    async with ea.Poller(interval=0.01) as poller:
        poller.add("mine", Source())
        async for event in poller:
            if isinstance(event, ea.AccountSynced):
                assert event.orders == 1
                break


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": "10"},
        {"timeout": float("nan")},
        {"retry": "fast"},
        {"max_rate_wait": -1},
        {"rate_limit_margin": float("inf")},
        {"uid": 1.5},
        {"transport": object()},
        {"max_connections": "many"},
        {"max_reply_bytes": 0},
        {"base_url": None},
        {"base_url": "ftp://x"},
    ],
)
def test_bad_client_options_are_validation_errors(options: dict[str, Any]) -> None:
    creds = ea.CoinWCredentials("cw-key-0001", "cw-secret-0001")
    with pytest.raises(ea.ValidationError):
        ea.CoinWClient(creds, **options)


@pytest.mark.parametrize(
    "options",
    [{"interval": "1"}, {"interval": -1}, {"max_pending": 0}, {"backoff": "x"}, {"backoff": 0}],
)
def test_bad_poller_options_are_validation_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ea.ValidationError):
        ea.Poller(**options)


async def test_non_iterable_ids_are_a_validation_error() -> None:
    creds = ea.CoinWCredentials("cw-key-0001", "cw-secret-0001")
    async with ea.CoinWClient(creds, transport=ea.MemoryTransport(lambda r: reply([]))) as coinw:
        with pytest.raises(ea.ValidationError):
            await coinw.get_order_info("plan", source_ids=5)  # type: ignore[arg-type]


# -- what is worked out once per client, not per request ---------------------------------------


async def test_unsigned_requests_share_one_header_mapping_and_signed_ones_get_their_own() -> None:
    transport = ea.MemoryTransport(bitget_server(lambda r: reply({"trackingList": [order(1)]})))
    async with client(transport, demo_trading=True) as bitget:
        await bitget.get_server_time()
        await bitget.get_server_time()
        await bitget.get_current_tracking_orders("USDT-FUTURES")
        await bitget.get_current_tracking_orders("USDT-FUTURES")
    public = [r for r in transport.requests if r.url.endswith(TIME)]
    signed = track_requests(transport)
    assert len(public) == 3 and len(signed) == 2  # the clock measured once, then two calls
    assert public[0].headers is public[1].headers is public[2].headers
    assert "ACCESS-SIGN" not in public[0].headers
    first, second = signed
    assert first.headers is not second.headers
    for sent in signed:  # each signed request: the static headers plus its own signature
        assert sent.headers["paptrading"] == "1" and sent.headers["locale"] == "en-US"
        assert set(sent.headers) >= {"ACCESS-KEY", "ACCESS-SIGN", "ACCESS-TIMESTAMP"}
        path = sent.url.removeprefix("https://bitget.test")
        expected = bitget_auth.sign(SECRET, int(sent.headers["ACCESS-TIMESTAMP"]), "GET", path)
        assert sent.headers["ACCESS-SIGN"] == expected


async def test_the_page_conversion_is_the_endpoints_and_its_failure_a_decode_error() -> None:
    # The cursor is converted by the endpoint's declared conversion, inside the pipeline: an
    # endId the page model cannot hold ends as DecodeError, never a bare exception.
    pages = iter([{"trackingList": [order(1)], "endId": 17}, {"trackingList": [], "endId": ""}])
    transport = ea.MemoryTransport(bitget_server(lambda r: reply(next(pages))))
    async with client(transport) as bitget:
        page = await bitget.get_current_tracking_orders("USDT-FUTURES")
        assert page.end_id == "17"  # a number on the wire, the declared str in the page
        follow = await bitget.get_current_tracking_orders("USDT-FUTURES", id_less_than="17")
        assert follow.end_id is None and follow.tracking_list == []
    assert track_requests(transport)[1].url.endswith("idLessThan=17&productType=USDT-FUTURES")


async def test_only_an_endpoint_that_declares_a_cursor_can_be_paged() -> None:
    endpoint: Endpoint[dict[str, int]] = Endpoint("GET", "/flat", (), dict, signed=False)
    async with client(ea.MemoryTransport(lambda r: reply({}))) as bitget:
        with pytest.raises(TypeError, match="cursor_param"):
            bitget._pipeline.paginate(endpoint, {}, TRACKING_PAGES)


async def test_concurrent_first_calls_and_clients_share_one_clock_measurement() -> None:
    # The clock step measures once per server and event loop: eight first calls of two clients
    # of one server make one time request, and every signed request carries a timestamp.
    transport = ea.MemoryTransport(bitget_server(lambda r: reply({"trackingList": []})))
    async with client(transport) as one, client(transport) as two:
        calls = [c.get_current_tracking_orders("USDT-FUTURES") for c in (one, two) * 4]
        await asyncio.gather(*calls)
    kinds = ["time" if r.url.endswith(TIME) else "track" for r in transport.requests]
    assert kinds == ["time"] + ["track"] * 8
    assert all("ACCESS-TIMESTAMP" in r.headers for r in track_requests(transport))


async def test_a_failed_clock_measurement_is_not_repeated_on_every_call() -> None:
    # The server's time unavailable: the local clock is used, and the next calls do not ask
    # again (only a rejected timestamp does).
    def handle(request: ea.TransportRequest) -> Any:
        if request.url.endswith(TIME):
            return ea.TransportResponse(404, {}, b"not here")
        return reply({"trackingList": []})

    transport = ea.MemoryTransport(handle)
    async with client(transport) as bitget:
        for _ in range(3):
            await bitget.get_current_tracking_orders("USDT-FUTURES")
    kinds = ["time" if r.url.endswith(TIME) else "track" for r in transport.requests]
    assert kinds == ["time", "track", "track", "track"]
