"""A verdict that holds under load: arrivals dated when they reached the host (not when a
lagging loop read them), counted the same in any order, and paired with a client's sends."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exchange_async_sim import EndpointLimit, Referee, Simulator, SimulatorConfig
from exchange_async_sim.limits import LATE_ARRIVAL, SlidingWindow, ViolationCounter, over_limit
from exchange_async_sim.server import SimulatorServer
from exchange_async_sim.stamping import stamping_listener

TRACK = "/api/v2/copy/mix-trader/order-current-track"
FIVE = EndpointLimit(5)
SCOPE = ("bitget", "1", TRACK)


def brute_force(times: list[float], limit: EndpointLimit) -> int:
    """Arrivals with more than ``limit.requests`` arrivals, it and those before it, in
    ``(t - window, t]`` (of equal times, one counts those before it)."""
    ordered = sorted(times)
    return sum(
        sum(1 for u in ordered[: i + 1] if t - limit.window < u) > limit.requests
        for i, t in enumerate(ordered)
    )


def kernel_stamps() -> bool:
    listener = stamping_listener("127.0.0.1", 0)
    if listener is not None:
        listener.close()
    return listener is not None


@given(st.lists(st.floats(0.0, 5.0, allow_nan=False), max_size=60), st.integers(1, 6))
def test_over_limit_is_the_rule(times: list[float], most: int) -> None:
    limit = EndpointLimit(most)
    assert over_limit(sorted(times), limit) == brute_force(times, limit)


@settings(max_examples=200)
@given(
    st.lists(st.floats(0.0, 8.0, allow_nan=False), max_size=60),
    st.integers(1, 6),
    st.randoms(use_true_random=False),
)
def test_late_arrivals_count_as_if_they_came_in_order(
    times: list[float], most: int, shuffle: random.Random
) -> None:
    # Reported in any order (all within LATE_ARRIVAL of each other): the same count.
    assert max(times, default=0.0) - min(times, default=0.0) < LATE_ARRIVAL
    limit = EndpointLimit(most)
    counter = ViolationCounter()
    reported = list(times)
    shuffle.shuffle(reported)
    for t in reported:
        counter.arrive(*SCOPE, t, limit)
    assert counter.count() == brute_force(times, limit)


def test_a_late_arrival_puts_a_counted_one_over() -> None:
    counter = ViolationCounter()
    for t in (0.1, 0.2, 0.3, 0.4, 0.5):
        counter.arrive(*SCOPE, t, FIVE)
    assert counter.count() == 0
    counter.arrive(*SCOPE, 0.05, FIVE)  # stamped earlier, read last: 0.5 now has 6 in its window
    assert counter.count() == 1


class Wall:
    """A wall clock the test sets."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_pairing_blames_the_client_when_its_sends_are_over() -> None:
    wall = Wall()
    referee = Referee(wall)
    referee.keep = True
    sends = [1000.0 + i * 0.1 for i in range(6)]  # 6 in 0.5 s: one over 5/s
    for sent in sends:
        wall.now = sent + 0.001
        referee.arrive(SCOPE, wall.now, FIVE)
    pairing = referee.pair({SCOPE: sends})
    assert (pairing.over_at_send, pairing.over_at_arrival, pairing.bunched) == (1, 1, "client")
    assert (pairing.arrivals, pairing.paired, pairing.unpaired_sends) == (6, 6, 0)
    assert pairing.transit_max == pytest.approx(0.001)


def test_pairing_clears_the_client_when_only_the_server_loop_bunched() -> None:
    wall = Wall()
    referee = Referee(wall)
    referee.keep = True
    sends = [1000.0 + i * 0.25 for i in range(6)]  # 4 per second: within 5/s
    wall.now = 1002.0  # the server's loop read them all at once, late
    for sent in sends:
        referee.arrive(SCOPE, sent, FIVE, lag=wall.now - sent)
    pairing = referee.pair({SCOPE: sends})
    assert (pairing.over_at_send, pairing.over_at_arrival) == (0, 0)
    assert pairing.over_at_handler == 1  # read together: the sixth is over
    assert pairing.bunched == "server loop"
    assert pairing.lag_max == pytest.approx(2.0)


def test_pairing_counts_what_never_arrived_and_who_keeps_no_log() -> None:
    wall = Wall()
    referee = Referee(wall)
    referee.keep = True
    for t in (1000.0, 1001.0, 1002.0):
        wall.now = t
        referee.arrive(SCOPE, t, FIVE)
    other = ("coinw", "7", "/v1/perpum/order")
    # 999.0 never arrived (older than the transit limit), 1001 was never logged.
    pairing = referee.pair({SCOPE: [997.0, 999.9995, 1002.0], other: [5.0]})
    assert (pairing.arrivals, pairing.paired, pairing.unpaired_arrivals) == (3, 2, 1)
    assert pairing.unpaired_sends == 2
    assert pairing.bunched == "nobody"


def test_without_keep_nothing_is_kept_but_the_count() -> None:
    referee = Referee()
    for i in range(6):
        referee.arrive(SCOPE, i * 0.01, FIVE, lag=0.3)
    pairing = referee.pair({})
    assert referee.count("bitget") == 1
    assert pairing.arrivals == 0
    assert pairing.lag_max == pytest.approx(0.3)


def _send_spaced(
    port: int, key: str, spacing: float, count: int, sent_all: threading.Event
) -> list[float]:
    """``count`` requests on their own connections, ``spacing`` s apart, then ``sent_all``
    set; their send times."""
    connections = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    sent = []
    for connection in connections:
        request = f"GET {TRACK}?productType=USDT-FUTURES HTTP/1.1\r\nHost: x\r\n"
        sent.append(time.time())
        connection.sendall(f"{request}ACCESS-KEY: {key}\r\n\r\n".encode())
        time.sleep(spacing)
    sent_all.set()
    for connection in connections:
        connection.settimeout(10)
        assert connection.recv(12).startswith(b"HTTP/1.1")
        connection.close()
    return sent


@pytest.mark.skipif(not kernel_stamps(), reason="no kernel receive stamps here")
async def test_a_stalled_server_loop_does_not_bunch_the_arrivals() -> None:
    sim = Simulator(SimulatorConfig(enforce_limits=False))
    account = sim.add_bitget_account(api_key="bk", secret_key="bs", passphrase="bp", orders=1)
    sim.referee.keep = True
    async with SimulatorServer(sim) as server:
        stalled, sent_all = threading.Event(), threading.Event()
        result: list[list[float]] = []

        def client() -> None:
            try:
                stalled.wait(30)
                result.append(_send_spaced(server.port, "bk", 0.22, 6, sent_all))  # 6 in 1.1 s
            finally:
                sent_all.set()

        thread = threading.Thread(target=client)
        thread.start()
        # The loop stalls until the client has sent everything: the requests wait in the
        # kernel, and the handlers all run at once afterwards.
        stalled.set()
        sent_all.wait(30)
        await asyncio.to_thread(thread.join, 30)
    pairing = sim.referee.pair({("bitget", account.uid, TRACK): result[0]})
    assert sim.count(TRACK) == 6
    assert sim.limit_violations() == 0  # dated at the socket: 5 at most in any second
    assert (pairing.paired, pairing.over_at_send, pairing.over_at_arrival) == (6, 0, 0)
    assert pairing.over_at_handler == 1  # dated when the handlers ran: all at once
    assert pairing.lag_max > 0.5
    assert pairing.bunched == "server loop"


def test_the_enforcing_window_counts_an_arrival_read_seconds_late() -> None:
    window = SlidingWindow(1.0)
    for t in (10.0, 10.2, 10.4, 10.6):
        window.hit(t)
    window.hit(13.5)  # handled first, though it arrived last
    # Arrived at 10.8, read 3 s later: its window (9.8, 10.8] holds five arrivals.
    assert window.hit(10.8) == 5
