"""The demo summary's wording, as a new user reads it: shares of the limits that cannot pass
100 % within them, counts in the singular, initial orders apart from opened ones."""

from __future__ import annotations

import dataclasses

import pytest
from test_demo_verdict import report

from exchange_async.cli.demo.frame import LIMIT_WINDOW, counted


def test_one_account_at_its_limit_is_not_over_100_percent() -> None:
    # One Bitget account, 5/s: a burst of 5 at the start, then 5 per second. 21 requests in
    # 4 s is 5.25/s, which "of 5/s allowed" showed as 105 %; the limits allow 5 * (4 + 1).
    frame = dataclasses.replace(report(0, None).frame, rate=21 / 4.0, allowed=5.0, rate_seconds=4.0)
    assert frame.rate_share == pytest.approx(21 / 25)
    assert "(84% of what 5/s limits allow)" in frame.rate_text()
    # The most a sliding window of 5 per second lets through in any T seconds: 5 * ceil(T).
    for seconds in (0.5, 1.0, 3.2, 20.0, 61.7):
        most = 5 * -(-seconds // LIMIT_WINDOW)
        full = dataclasses.replace(frame, rate=most / seconds, rate_seconds=seconds)
        assert full.rate_share is not None and full.rate_share <= 1.0, seconds


def test_no_share_without_a_span() -> None:
    frame = dataclasses.replace(report(0, None).frame, rate_seconds=0.0)
    assert frame.rate_share is None
    assert "measuring" in frame.rate_text()


def test_counts_of_one_are_singular() -> None:
    assert counted(1, "account") == "1 account"
    assert counted(0, "account") == "0 accounts"
    assert counted(2, "order") == "2 orders"
    one = report(0, None)
    lines = "\n".join(one._lines())
    assert "event check       1 account: 0 orders lost, 0 invented" in lines
    settling = dataclasses.replace(one.frame, phase="settling", waiting=1)
    assert "1 account catching up" in settling.clock()


def test_the_events_line_counts_initial_orders_apart() -> None:
    base = report(0, None)
    frame = dataclasses.replace(base.frame, orders={"initial": 112, "opened": 2})
    summary = dataclasses.replace(
        base, frame=frame, events={"OrderOpened": 114, "AccountSynced": 1, "OrderChanged": 3}
    )
    line = next(line for line in summary._lines() if line.startswith("  events"))
    assert line.endswith("AccountSynced 1, OrderChanged 3, OrderOpened 2 + 112 initial")
    assert summary.to_json()["events"]["OrderOpened"] == 114  # JSON keeps the class counts
