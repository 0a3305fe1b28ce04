"""Client, retry and poller options of any value and type: a `ValidationError` or a working
object."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from support.hostile import maybe

import exchange_async as ea

OPTION_VALUES = maybe(st.floats(min_value=0.001, max_value=1000) | st.integers(1, 100))


@settings(max_examples=200, deadline=2000)
@given(
    timeout=OPTION_VALUES,
    margin=maybe(st.floats(min_value=0, max_value=1)),
    max_rate_wait=st.none() | OPTION_VALUES,
    uid=st.none() | maybe(st.integers(1, 10**12)),
    url=maybe(st.sampled_from(["https://api.bitget.com", "http://127.0.0.1:1"]))
    | st.text(max_size=30),
    demo=maybe(st.booleans()),
)
def test_client_options_give_a_validation_error_or_a_client(
    timeout: Any, margin: Any, max_rate_wait: Any, uid: Any, url: Any, demo: Any
) -> None:
    credentials = ea.BitgetCredentials("bg-key-options", "bg-secret-options", "bg-pass")
    try:
        client = ea.BitgetClient(
            credentials,
            base_url=url,
            timeout=timeout,
            rate_limit_margin=margin,
            max_rate_wait=max_rate_wait,
            uid=uid,
            demo_trading=demo,
        )
    except ea.ValidationError as error:
        message = str(error)
    else:
        message = repr(client)
    assert "bg-secret-options" not in message


@settings(max_examples=200, deadline=2000)
@given(
    max_attempts=maybe(st.integers(1, 10)),
    base_delay=maybe(st.floats(0, 10)),
    interval=st.none() | maybe(st.floats(0, 10)),
    backoff=maybe(st.floats(0.01, 5)),
    max_pending=maybe(st.integers(1, 10_000)),
)
def test_retry_and_poller_options(
    max_attempts: Any, base_delay: Any, interval: Any, backoff: Any, max_pending: Any
) -> None:
    try:
        retry = ea.RetryPolicy(max_attempts=max_attempts, base_delay=base_delay)
        ea.Poller(interval=interval, backoff=backoff, max_pending=max_pending, retry=retry)
    except ea.ValidationError:
        pass
