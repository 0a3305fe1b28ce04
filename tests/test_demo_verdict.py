"""The demo's limit verdict: the simulator's count set against the clients' own send times.

Who bunched decides what the summary says: the SDK is blamed only when its own send times
are over a limit (or an arrival over one has no logged send to clear it); an unreachable
``--redis`` stops the demo in one line before any worker starts."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from array import array
from pathlib import Path

import pytest
from test_demo import run_demo_cli

import exchange_async as ea
from exchange_async.cli.demo.frame import Frame
from exchange_async.cli.demo.local_redis import shown_url
from exchange_async.cli.demo.report import EXIT_UNHEALTHY, DemoReport
from exchange_async.cli.demo.sends import SendLog, read_sends
from exchange_async.cli.demo.tracker import Check
from exchange_async.cli.demo.verdict import limit_lines, limit_warning, sdk_over_limit
from exchange_async_sim import FleetAccount, Pairing

TRACK = "/api/v2/copy/mix-trader/order-current-track"


def pairing(
    *, at_send: int = 0, at_arrival: int = 0, at_handler: int = 0, unpaired: int = 0
) -> Pairing:
    return Pairing(
        arrivals=100,
        paired=100 - unpaired,
        unpaired_sends=0,
        over_at_send=at_send,
        over_at_arrival=at_arrival,
        over_at_handler=at_handler,
        transit_median=0.0001,
        transit_max=0.05,
        lag_max=0.4,
    )


def report(violations: int, paired: Pairing | None) -> DemoReport:
    frame = Frame(
        phase="done", elapsed=10.0, duration=5.0, run_seconds=5.0, settle_seconds=5.0,
        settle_limit=15.0, waiting=0, rate=4.0, allowed=5.0, requests=40, run_requests=20,
        retries=0, events=0, orders={}, states={"ok": 1}, unsynced=0, violations=violations,
    )  # fmt: skip
    return DemoReport(
        frame=frame, bitget_accounts=1, coinw_accounts=0, bad_key=None, events={},
        refused_for_rate={}, mutations=0, random_faults={}, peak_rss_mib=1.0, stopped={},
        check=Check(checked=1), pairing=paired,
    )  # fmt: skip


def test_a_lagging_referee_is_not_blamed_on_the_sdk() -> None:
    # The case: the simulator's loop read requests late; dated at its socket and by
    # the clients' sends, nothing is over.
    lagged = pairing(at_handler=305)
    assert not sdk_over_limit(0, lagged)
    assert report(0, lagged).exit_code == 0
    lines = "\n".join(limit_lines(0, lagged))
    assert "0 at the server" in lines and "0 by the clients' own send times" in lines
    assert "who bunched       the simulator's own loop" in lines
    assert "305 would have been over" in lines
    assert limit_warning(0, lagged) is None


def test_sends_over_a_limit_are_the_sdks_doing() -> None:
    over = pairing(at_send=3, at_arrival=3)
    assert sdk_over_limit(3, over)
    assert report(3, over).exit_code == EXIT_UNHEALTHY
    assert "who bunched       the client: 3 requests" in "\n".join(limit_lines(3, over))
    warning = limit_warning(3, over)
    assert warning and "the SDK sent more than an exchange allows" in warning


def test_sent_within_the_limits_and_arrived_over_them_is_said_without_blame() -> None:
    after = pairing(at_arrival=2)
    assert not sdk_over_limit(2, after)
    assert report(2, after).exit_code == 0
    assert "after sending" in "\n".join(limit_lines(2, after))
    warning = limit_warning(2, after)
    assert warning and "left the client within the limits" in warning
    assert "the SDK sent more" not in warning


def test_arrivals_no_send_can_clear_keep_the_blame() -> None:
    # E.g. a transport re-sending a request on a new connection without the limiter: the
    # server counts two arrivals for one send in the log.
    unlogged = pairing(at_arrival=1, unpaired=1)
    assert sdk_over_limit(1, unlogged)
    assert report(1, unlogged).exit_code == EXIT_UNHEALTHY
    assert "1 arrival without a send in its log" in "\n".join(limit_lines(1, unlogged))
    assert report(1, unlogged).to_json()["limits"]["bunched"] == "unlogged sends"
    assert sdk_over_limit(2, pairing(at_arrival=2, unpaired=5))
    assert sdk_over_limit(2, None)  # nothing to pair with: the referee's count stands
    assert not sdk_over_limit(0, None)
    assert report(2, None).exit_code == EXIT_UNHEALTHY
    assert "who bunched" not in "\n".join(limit_lines(2, None))


def test_the_json_summary_carries_both_counts() -> None:
    limits = report(0, pairing(at_handler=7)).to_json()["limits"]
    assert limits["at_server"] == 0 and limits["at_send"] == 0 and limits["at_handler"] == 7
    assert limits["bunched"] == "server loop" and limits["sdk_over_limit"] is False
    assert limits["loop_lag_max_ms"] == 400.0


async def test_the_send_log_notes_each_request_once_the_limiter_lets_it_go() -> None:
    def answer(request: ea.TransportRequest) -> ea.TransportResponse:
        return ea.TransportResponse(200, {}, b"{}")

    log = SendLog(ea.MemoryTransport(answer))
    request = ea.TransportRequest("GET", f"http://sim{TRACK}?a=1", {"ACCESS-KEY": "k1"})
    before = time.time()
    await log.send(request, lambda: None)
    released = asyncio.Event()

    async def slot() -> None:  # the limiter asks for a later start slot
        await released.wait()

    sending = asyncio.create_task(log.send(request, slot))
    await asyncio.sleep(0)
    assert len(log.sent[("k1", TRACK)]) == 1  # not sent yet: still waiting for its slot
    after_wait = time.time()
    released.set()
    await sending
    first, second = log.sent[("k1", TRACK)]
    assert before <= first <= after_wait <= second
    coinw = ea.TransportRequest("GET", "http://sim/v1/perpum/order", {"api_key": "k2"})
    await log.send(coinw, lambda: None)
    fleet = [
        FleetAccount("bitget-001", "bitget", "k1", "s", "p", "11"),
        FleetAccount("coinw-001", "coinw", "k2", "s", None, "22"),
    ]
    scopes = log.by_scope(fleet)
    assert set(scopes) == {("bitget", "11", TRACK), ("coinw", "22", "/v1/perpum/order")}
    await log.aclose()


def test_send_logs_go_through_a_file(tmp_path: Path) -> None:
    log = SendLog(ea.MemoryTransport(lambda r: ea.TransportResponse(200)))
    log.sent[("k1", TRACK)] = array("d", [1.5, 2.5])
    log.sent[("unknown", TRACK)] = array("d", [3.0])
    path = f"{tmp_path}/sends.jsonl"
    log.write(path, [FleetAccount("b", "bitget", "k1", "s", "p", "11")])
    assert read_sends([path, f"{tmp_path}/missing.jsonl"]) == {("bitget", "11", TRACK): [1.5, 2.5]}


def test_a_redis_password_is_never_shown() -> None:
    assert shown_url("redis://:hunter2@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0"
    assert shown_url("redis://me:pw@localhost/1") == "redis://me:***@localhost/1"
    assert shown_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_an_unreachable_redis_is_one_line_before_any_worker_starts() -> None:
    url = f"redis://:hunter2@127.0.0.1:{_closed_port()}/0"
    started = time.monotonic()
    code, out, err = await run_demo_cli("--processes", "2", "--accounts", "4", "--redis", url)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err  # one line: no worker said anything
    assert err.startswith("exchange-async demo: error: cannot reach Redis at redis://:***@")
    assert "hunter2" not in err
    assert time.monotonic() - started < 20


@pytest.mark.slow  # seconds of real polling in a subprocess
async def test_the_summary_pairs_every_arrival_with_its_send() -> None:
    code, out, _ = await run_demo_cli("--accounts", "4", "--duration", "2", "--json")
    assert code == 0
    limits = json.loads(out)["limits"]
    assert limits["paired"] is True
    assert limits["arrivals"] > 20 and limits["paired_arrivals"] == limits["arrivals"]
    assert limits["at_server"] == limits["at_send"] == 0
