"""BitgetClient against the simulator: what a user calls, and what the server saw.

The clients reach the simulator in memory on a virtual-time loop (see conftest.py), so rate
limits and back-offs show as exact times on ``loop.time()`` and take no real time; the socket
path is tested in test_transport.py."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

import pytest
from conftest import BITGET_KEY, BITGET_PASS, BITGET_SECRET, FAST_RETRY, TIME, TRACK
from support.sim_transport import simulator_transport

import exchange_async as ea
from exchange_async_sim import Simulator

pytestmark = pytest.mark.virtual_time


def expected_orders(sim: Simulator, product_type: str = "USDT-FUTURES") -> list[Any]:
    account = sim.bitget.accounts[BITGET_KEY]
    rows = [o for o in account.orders.values() if o.product_type == product_type]
    return sorted(rows, key=lambda o: o.sort_key, reverse=True)


async def test_one_page_matches_the_server_data(bitget: ea.BitgetClient, sim: Simulator) -> None:
    page = await bitget.get_current_tracking_orders("usdt-futures", limit=7)
    assert isinstance(page, ea.TrackingOrdersPage)
    assert len(page.tracking_list) == 7
    assert page.end_id is not None
    truth = expected_orders(sim)[:7]
    for got, want in zip(page.tracking_list, truth, strict=True):
        assert got.tracking_no == want.tracking_no
        assert got.symbol == want.symbol
        assert got.open_time == want.open_time
        assert got.open_price_avg == want.open_price_avg
        assert got.open_fee == want.open_fee
        assert got.preset_stop_loss_price == want.preset_stop_loss_price
        assert isinstance(got.open_size, Decimal)
        assert got.pos_side in (ea.PosSide.LONG, ea.PosSide.SHORT)


async def test_default_limit_is_bitgets_twenty(bitget: ea.BitgetClient) -> None:
    page = await bitget.get_current_tracking_orders(ea.ProductType.USDT_FUTURES)
    assert len(page.tracking_list) == 20


async def test_manual_paging_passes_end_id_verbatim(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    first = await bitget.get_current_tracking_orders("USDT-FUTURES", limit=10)
    assert first.end_id not in {o.tracking_no for o in first.tracking_list}
    second = await bitget.get_current_tracking_orders(
        "USDT-FUTURES", limit=10, id_less_than=first.end_id
    )
    assert f"idLessThan={first.end_id}" in sim.arrivals[-1].query
    truth = [o.tracking_no for o in expected_orders(sim)[:20]]
    assert [o.tracking_no for o in first.tracking_list + second.tracking_list] == truth


async def test_iterating_visits_every_order_once_newest_first(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    orders = [o async for o in bitget.iter_current_tracking_orders("USDT-FUTURES", page_size=50)]
    truth = expected_orders(sim)
    assert len(truth) > 150
    assert [o.tracking_no for o in orders] == [o.tracking_no for o in truth]
    # Full pages, then the short last one, then one empty page that ends the iteration.
    assert sim.count(TRACK) == -(-len(truth) // 50) + 1


async def test_iterating_pages_and_other_product_types(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    for product in ("COIN-FUTURES", "USDC-FUTURES"):
        pages = [p async for p in bitget.iter_current_tracking_order_pages(product, page_size=5)]
        got = [o.tracking_no for p in pages for o in p.tracking_list]
        truth = [o.tracking_no for o in expected_orders(sim, product)]
        assert got == truth
        assert len(pages) == -(-len(truth) // 5) + 1
        assert pages[-1].tracking_list == []


async def test_symbol_and_time_filters(bitget: ea.BitgetClient, sim: Simulator) -> None:
    truth = expected_orders(sim)
    symbol = truth[0].symbol
    got = [
        o async for o in bitget.iter_current_tracking_orders("USDT-FUTURES", symbol=symbol.lower())
    ]
    assert {o.symbol for o in got} == {symbol}
    assert len(got) == sum(1 for o in truth if o.symbol == symbol)

    newest = truth[0].open_time
    start = datetime.fromtimestamp((newest - 86_400_000) / 1000, tz=UTC)
    got = [
        o
        async for o in bitget.iter_current_tracking_orders(
            "USDT-FUTURES", start_time=start, end_time=newest
        )
    ]
    assert got
    assert all(newest - 86_400_000 <= o.open_time <= newest for o in got)


async def test_repeated_cursor_stops_with_an_error_not_a_loop(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    sim.inject(TRACK, "repeat_cursor", count=5)
    seen: list[str] = []

    async def drain() -> None:
        async for order in bitget.iter_current_tracking_orders("USDT-FUTURES", page_size=10):
            seen.append(order.tracking_no)

    with pytest.raises(ea.PaginationError):
        await drain()
    assert len(seen) == len(set(seen))
    assert sim.count(TRACK) <= 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"product_type": "SPOT"}, "product_type"),
        ({"product_type": ""}, "product_type"),
        ({"product_type": "USDT-FUTURES", "limit": 0}, "limit"),
        ({"product_type": "USDT-FUTURES", "limit": 51}, "limit"),
        ({"product_type": "USDT-FUTURES", "limit": True}, "limit"),
        ({"product_type": "USDT-FUTURES", "limit": "20"}, "limit"),
        ({"product_type": "USDT-FUTURES", "start_time": datetime(2024, 1, 1)}, "timezone"),
        ({"product_type": "USDT-FUTURES", "start_time": 1.5}, "start_time"),
        ({"product_type": "USDT-FUTURES", "end_time": -1}, "end_time"),
        ({"product_type": "USDT-FUTURES", "start_time": 2000, "end_time": 1000}, "after"),
        ({"product_type": "USDT-FUTURES", "symbol": "BTC USDT"}, "symbol"),
        ({"product_type": "USDT-FUTURES", "symbol": "BTC&x=1"}, "symbol"),
        ({"product_type": "USDT-FUTURES", "id_less_than": "1", "id_greater_than": "2"}, "not both"),
        ({"product_type": "USDT-FUTURES", "id_less_than": "a b"}, "id_less_than"),
    ],
)
async def test_bad_arguments_raise_before_any_request(
    bitget: ea.BitgetClient, sim: Simulator, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ea.ValidationError, match=match):
        await bitget.get_current_tracking_orders(**kwargs)
    with pytest.raises(ea.ValidationError):
        bitget.iter_current_tracking_order_pages("FUTURES")
    assert sim.arrivals == []


async def test_bad_page_size_raises_before_any_request(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    with pytest.raises(ea.ValidationError, match="page_size"):
        async for _ in bitget.iter_current_tracking_orders("USDT-FUTURES", page_size=500):
            pass
    assert sim.arrivals == []


# -- rate limits as the server sees them -----------------------------------------------------


async def test_200_concurrent_callers_never_exceed_5_per_second(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    loop = asyncio.get_running_loop()
    done: list[float] = []
    thirty = asyncio.Event()

    async def caller() -> None:
        await bitget.get_current_tracking_orders("USDT-FUTURES", limit=1)
        done.append(loop.time())
        if len(done) >= 30:
            thirty.set()

    tasks = [asyncio.create_task(caller()) for _ in range(200)]
    await thirty.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert sim.max_in_window(TRACK) <= 5
    assert sim.count(TRACK, status=429) == 0
    # 5/s less the 5 % margin: one request every 0.21 s exactly, never a burst, never a gap.
    arrived = track_times(sim)
    assert len(arrived) == 30
    assert offsets(arrived) == pytest.approx(five_per_second(30), abs=1e-9)
    assert done == pytest.approx(arrived, abs=1e-9)  # in memory, a reply takes no time


def track_times(sim: Simulator, account: str | None = None) -> list[float]:
    return [a.time for a in sim.arrivals if a.path == TRACK and account in (None, a.account)]


def offsets(times: list[float]) -> list[float]:
    """Seconds from the first time to each later one."""
    return [t - times[0] for t in times[1:]]


def five_per_second(count: int) -> list[float]:
    """The limiter's schedule for 5/s with its 5 % margin: a start every 0.21 s, each one
    allowed 2 ms early (its catch-up) so a late wake-up does not push the rest back."""
    return [0.21 * k - 0.002 for k in range(1, count)]


async def test_two_clients_of_one_account_share_the_budget(
    sim: Simulator, bitget_credentials: ea.BitgetCredentials
) -> None:
    async with (
        ea.BitgetClient(bitget_credentials, transport=simulator_transport(sim)) as a,
        ea.BitgetClient(bitget_credentials, transport=simulator_transport(sim)) as b,
    ):
        calls = [c.get_current_tracking_orders("USDT-FUTURES", limit=1) for c in (a, b) * 8]
        await asyncio.gather(*calls)
    assert sim.count(TRACK) == 16
    assert sim.max_in_window(TRACK) <= 5
    # One budget, not two: one schedule for both clients.
    assert offsets(track_times(sim)) == pytest.approx(five_per_second(16), abs=1e-9)


async def test_keys_of_one_uid_share_the_budget_when_told(sim: Simulator) -> None:
    sim.add_bitget_account(api_key="k-a", secret_key="s-a", passphrase="p-a", uid="777")
    sim.add_bitget_account(api_key="k-b", secret_key="s-b", passphrase="p-b", uid="777")
    async with (
        ea.BitgetClient(
            ea.BitgetCredentials("k-a", "s-a", "p-a"), transport=simulator_transport(sim), uid=777
        ) as a,
        ea.BitgetClient(
            ea.BitgetCredentials("k-b", "s-b", "p-b"), transport=simulator_transport(sim), uid="777"
        ) as b,
    ):
        await asyncio.gather(*(c.get_current_tracking_orders("USDT-FUTURES") for c in (a, b) * 6))
    assert sim.max_in_window(TRACK, account="777") <= 5
    assert sim.count(TRACK, status=429) == 0
    assert offsets(track_times(sim, "777")) == pytest.approx(five_per_second(12), abs=1e-9)


async def test_same_key_with_and_without_uid_shares_one_budget(
    sim: Simulator, bitget_credentials: ea.BitgetCredentials
) -> None:
    async with (
        ea.BitgetClient(bitget_credentials, transport=simulator_transport(sim)) as plain,
        ea.BitgetClient(
            bitget_credentials, transport=simulator_transport(sim), uid="12345"
        ) as with_uid,
    ):
        await asyncio.gather(
            *(c.get_current_tracking_orders("USDT-FUTURES") for c in (plain, with_uid) * 7)
        )
    assert sim.max_in_window(TRACK) <= 5
    assert sim.count(TRACK, status=429) == 0
    assert offsets(track_times(sim)) == pytest.approx(five_per_second(14), abs=1e-9)


async def test_two_accounts_do_not_slow_each_other(sim: Simulator) -> None:
    sim.add_bitget_account(api_key="k-2", secret_key="s-2", passphrase="p-2")
    one = ea.BitgetCredentials(BITGET_KEY, BITGET_SECRET, BITGET_PASS)
    two = ea.BitgetCredentials("k-2", "s-2", "p-2")
    async with (
        ea.BitgetClient(one, transport=simulator_transport(sim)) as a,
        ea.BitgetClient(two, transport=simulator_transport(sim)) as b,
    ):
        await a.get_server_time()  # keep the clock sync out of the timing
        await b.get_server_time()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(c.get_current_tracking_orders("USDT-FUTURES") for c in (a, b) * 11))
        elapsed = loop.time() - started
    # 11 calls per account on its own 5/s schedule (2.098 s), the two side by side; the per-IP
    # budget (a request every 10.5 ms) shifts them by a few ms. One shared budget: 4.4 s.
    assert 2.098 <= elapsed < 2.2
    for account in {a.uid for a in sim.bitget.accounts.values()}:
        assert sim.max_in_window(TRACK, account=account) <= 5
        assert offsets(track_times(sim, account)) == pytest.approx(five_per_second(11), abs=1e-9)
    assert sim.count(TRACK, status=429) == 0


# -- errors and retries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "code"),
    [
        (("nobody", BITGET_SECRET, BITGET_PASS), "40006"),
        ((BITGET_KEY, "wrong-secret", BITGET_PASS), "40009"),
        ((BITGET_KEY, BITGET_SECRET, "wrong-pass"), "40012"),
    ],
)
async def test_authentication_errors_are_typed_and_not_retried(
    sim: Simulator, credentials: tuple[str, str, str], code: str
) -> None:
    async with ea.BitgetClient(
        ea.BitgetCredentials(*credentials), transport=simulator_transport(sim)
    ) as c:
        with pytest.raises(ea.AuthenticationError) as info:
            await c.get_current_tracking_orders("USDT-FUTURES")
    assert info.value.code == code
    assert info.value.http_status == 400
    assert sim.count(TRACK) == 1
    for secret in ("wrong-secret", "wrong-pass", BITGET_SECRET, BITGET_PASS):
        assert secret not in str(info.value)
        assert secret not in repr(info.value)


async def test_not_a_trader(sim: Simulator) -> None:
    sim.add_bitget_account(api_key="k-nt", secret_key="s", passphrase="p", trader=False)
    async with ea.BitgetClient(
        ea.BitgetCredentials("k-nt", "s", "p"), transport=simulator_transport(sim)
    ) as c:
        with pytest.raises(ea.NotTraderError):
            await c.get_current_tracking_orders("USDT-FUTURES")


@pytest.mark.parametrize(
    ("fault", "kwargs"),
    [
        ("http_500", {}),
        ("http_502", {}),
        ("http_503", {}),
        ("html", {}),
        ("disconnect", {}),
        ("code", {"code": "45001", "msg": "system upgrade"}),
        ("code", {"code": "40725", "msg": "service unavailable"}),
    ],
)
async def test_transient_failures_are_retried(
    bitget: ea.BitgetClient, sim: Simulator, fault: Any, kwargs: dict[str, Any]
) -> None:
    sim.inject(TRACK, fault, count=2, **kwargs)
    page = await bitget.get_current_tracking_orders("USDT-FUTURES", limit=3)
    assert len(page.tracking_list) == 3
    assert sim.count(TRACK) == 3
    assert bitget.stats.retries == 2


async def test_persistent_server_errors_end_in_a_typed_error(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    sim.inject(TRACK, "http_503", count=10)
    with pytest.raises(ea.ExchangeUnavailableError) as info:
        await bitget.get_current_tracking_orders("USDT-FUTURES")
    assert info.value.http_status == 503
    assert sim.count(TRACK) == FAST_RETRY.max_attempts


async def test_persistent_disconnects_end_in_transport_error(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    sim.inject(TRACK, "disconnect", count=10)
    with pytest.raises(ea.TransportError):
        await bitget.get_current_tracking_orders("USDT-FUTURES")


async def test_timeouts_become_request_timeout_error(
    sim: Simulator, bitget_credentials: ea.BitgetCredentials
) -> None:
    sim.inject(TRACK, "delay", seconds=1.0, count=5)
    async with ea.BitgetClient(
        bitget_credentials, transport=simulator_transport(sim), timeout=0.2, retry=FAST_RETRY
    ) as c:
        with pytest.raises(ea.RequestTimeoutError):
            await c.get_current_tracking_orders("USDT-FUTURES")
    assert sim.count(TRACK) == FAST_RETRY.max_attempts


async def test_malformed_body_is_a_decode_error(bitget: ea.BitgetClient, sim: Simulator) -> None:
    sim.inject(TRACK, "malformed")
    with pytest.raises(ea.DecodeError):
        await bitget.get_current_tracking_orders("USDT-FUTURES")


async def test_parameter_errors_from_the_server_are_bad_request(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    sim.inject(TRACK, "code", code="40017", msg="Parameter verification failed", http_status=400)
    with pytest.raises(ea.BadRequestError) as info:
        await bitget.get_current_tracking_orders("USDT-FUTURES")
    assert info.value.code == "40017"
    assert sim.count(TRACK) == 1


async def test_429_honours_retry_after_and_then_succeeds(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    await bitget.get_server_time()
    sim.inject(TRACK, "rate_limited", retry_after=2)  # RFC 9110: whole seconds only
    await bitget.get_current_tracking_orders("USDT-FUTURES")
    refused, retried = track_times(sim)
    assert 2 <= retried - refused <= 2 * 1.25  # Retry-After, plus at most 25 % jitter
    assert bitget.stats.rate_limited == 1


async def test_a_stream_of_429s_ends_in_rate_limit_error_after_spaced_attempts(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    await bitget.get_server_time()
    sim.inject(TRACK, "rate_limited", count=20)
    with pytest.raises(ea.RateLimitError) as info:
        await bitget.get_current_tracking_orders("USDT-FUTURES")
    assert info.value.code == "429"
    times = [a.time for a in sim.arrivals if a.path == TRACK]
    assert len(times) == FAST_RETRY.max_attempts
    gaps = [b - a for a, b in pairwise(times)]
    # rate_limit_delay 0.3 s, doubling, plus at most 25 % jitter: never a tight loop.
    assert 0.3 <= gaps[0] <= 0.3 * 1.25
    assert 0.6 <= gaps[1] <= 0.6 * 1.25


async def test_429_pauses_concurrent_callers_of_the_account_too(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    await bitget.get_server_time()
    sim.inject(TRACK, "rate_limited", retry_after=1.0)
    await asyncio.gather(*(bitget.get_current_tracking_orders("USDT-FUTURES") for _ in range(4)))
    times = sorted(a.time for a in sim.arrivals if a.path == TRACK)
    # After the refusal at times[0], nothing arrives for the Retry-After second (plus jitter);
    # then the other callers follow on the 5/s schedule.
    assert 1.0 <= times[1] - times[0] <= 1.25
    assert offsets(times[1:]) == pytest.approx(five_per_second(4), abs=1e-9)


async def test_local_clock_a_minute_off_still_works(sim: Simulator) -> None:
    sim.config.clock_offset_ms = 60_000  # the server is a minute ahead of this machine
    async with ea.BitgetClient(
        ea.BitgetCredentials(BITGET_KEY, BITGET_SECRET, BITGET_PASS),
        transport=simulator_transport(sim),
    ) as c:
        page = await c.get_current_tracking_orders("USDT-FUTURES")
    assert page.tracking_list
    assert sim.count(TRACK, status=400) == 0


async def test_clock_drift_mid_session_resyncs_and_retries_once(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    await bitget.get_current_tracking_orders("USDT-FUTURES")
    sim.config.clock_offset_ms = -90_000
    page = await bitget.get_current_tracking_orders("USDT-FUTURES")
    assert page.tracking_list
    assert sim.count(TIME) == 2
    assert [a.code for a in sim.arrivals if a.path == TRACK] == ["00000", "40008", "00000"]


async def test_timestamp_error_that_persists_is_raised(
    bitget: ea.BitgetClient, sim: Simulator
) -> None:
    sim.inject(
        TRACK, "code", code="40008", msg="Request timestamp expired", http_status=400, count=5
    )
    with pytest.raises(ea.TimestampError):
        await bitget.get_current_tracking_orders("USDT-FUTURES")
    assert sim.count(TRACK) == 2


# -- lifecycle and hygiene ------------------------------------------------------------------


async def test_close_is_idempotent_and_use_after_close_raises(
    sim: Simulator, bitget_credentials: ea.BitgetCredentials
) -> None:
    client = ea.BitgetClient(bitget_credentials, transport=simulator_transport(sim))
    await client.get_current_tracking_orders("USDT-FUTURES")  # opens lazily
    await client.close()
    await client.close()
    assert client.closed
    with pytest.raises(ea.ClientClosedError):
        await client.get_current_tracking_orders("USDT-FUTURES")


async def test_debug_logs_of_real_requests_hold_no_secrets(
    bitget: ea.BitgetClient, sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sim.inject(TRACK, "http_500")
    await bitget.get_current_tracking_orders("USDT-FUTURES")
    assert TRACK in caplog.text
    for secret in (BITGET_SECRET, BITGET_PASS):
        assert secret not in caplog.text


async def test_timeout_and_margin_are_validated() -> None:
    creds = ea.BitgetCredentials("k", "s", "p")
    with pytest.raises(ea.ValidationError):
        ea.BitgetClient(creds, timeout=0)
    with pytest.raises(ea.ValidationError):
        ea.BitgetClient(creds, rate_limit_margin=-0.1)
    with pytest.raises(ea.ValidationError):
        ea.BitgetClient(creds, base_url="ftp://example.com")
