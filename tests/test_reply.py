"""The reply module: ``Retry-After`` as RFC 9110 (section 10.2.3) defines it, and nothing else.

A valid value is a count of whole seconds (``1*DIGIT``) or an HTTP-date (IMF-fixdate, or the
obsolete RFC 850 and asctime forms); a recipient ignores anything else. Waits are capped at
`MAX_SERVER_WAIT` (an hour).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange_async._core.pipeline.reply import MAX_SERVER_WAIT, retry_after_seconds

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC).timestamp()


def wait(value: str, now: float = NOW) -> float | None:
    return retry_after_seconds({"Retry-After": value}, now=now)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("0", 0.0), ("7", 7.0), (" 120 ", 120.0), ("0003", 3.0), ("3600", 3600.0), ("86400", 3600.0)],
)
def test_delay_seconds(value: str, seconds: float) -> None:
    assert wait(value) == seconds


@pytest.mark.parametrize(
    "value",
    [
        "inf", "Infinity", "-inf", "nan", "NaN", "1e400", "1e3", "-5", "+5", "1.5", "0.6",
        "0x10", "1_000", "５", "", " ", "soon", "5 s", "5,6", "\u0665",
        "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 31 Feb 2026 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT", "2026-03-01T12:00:05Z",
    ],
)  # fmt: skip
def test_anything_else_is_ignored(value: str) -> None:
    assert wait(value) is None


def test_a_huge_count_is_the_cap_not_a_crash() -> None:
    # 5,000 digits exceed Python's int-from-str limit: never a bare ValueError.
    assert wait("9" * 5000) == MAX_SERVER_WAIT
    assert wait("0" * 5000 + "5") == 5.0


def test_http_date_in_all_three_forms() -> None:
    later = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)
    assert wait(format_datetime(later, usegmt=True)) == 30.0  # Sun, 01 Mar 2026 12:00:30 GMT
    assert wait("Sunday, 01-Mar-26 12:00:30 GMT") == 30.0
    assert wait("Sun Mar  1 12:00:30 2026") == 30.0


def test_http_date_in_the_past_is_now_and_far_ahead_is_the_cap() -> None:
    assert wait("Sun, 06 Nov 1994 08:49:37 GMT") == 0.0
    assert wait("Fri, 01 Jan 2027 00:00:00 GMT") == MAX_SERVER_WAIT


def test_header_name_is_case_insensitive_and_absent_is_none() -> None:
    assert retry_after_seconds({"retry-after": "4"}) == 4.0
    assert retry_after_seconds({}) is None


@given(st.text(max_size=40))
def test_any_text_is_none_or_a_bounded_wait(value: str) -> None:
    seconds = wait(value)
    assert seconds is None or (math.isfinite(seconds) and 0 <= seconds <= MAX_SERVER_WAIT)
    if seconds is not None:  # only digits or a date made it through
        stripped = value.strip(" \t")
        assert stripped.isascii()
        assert stripped.isdigit() or stripped[:3] in (
            "Mon",
            "Tue",
            "Wed",
            "Thu",
            "Fri",
            "Sat",
            "Sun",
        )


@given(st.integers(min_value=0, max_value=10**30))
def test_any_count_of_seconds_is_honoured_up_to_the_cap(seconds: int) -> None:
    assert wait(str(seconds)) == min(float(seconds), MAX_SERVER_WAIT)


@given(st.integers(min_value=-(10**6), max_value=10**6))
def test_any_http_date_is_its_distance_from_now(offset: int) -> None:
    moment = datetime.fromtimestamp(NOW, UTC) + timedelta(seconds=offset)
    assert wait(format_datetime(moment, usegmt=True)) == min(max(offset, 0), MAX_SERVER_WAIT)
