"""Review findings on the client options added by issues 7-12 (``rate_limits=``,
``allow_insecure_http``, ``max_reply_bytes``, ``max_connections``, ``transport``): a bad value
is a `ValidationError` when the client is built (never echoing a password), and a client that
was built ends every call in a typed `ExchangeError` within ``max_rate_wait``."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import exchange_async as ea
from exchange_async._core.pipeline.options import ClientOptions
from exchange_async._core.transport import TransportRequest, TransportResponse
from exchange_async._core.transport.memory import MemoryTransport

PASSWORD = "REDIS-PASSWORD-zq9"

BAD_REDIS_URLS = [
    f"redis://:{PASSWORD}@127.0.0.1:notaport/0",
    f"redis://:{PASSWORD}@[::1/0",
    f"redis://:{PASSWORD}@127.0.0.1:99999/0",
    f"redis://:{PASSWORD}@127.0.0.1:1/0?socket_timeout=abc",
    f"unix:///nowhere/redis.sock?db=abc&password={PASSWORD}",
]


def _credentials() -> ea.BitgetCredentials:
    return ea.BitgetCredentials("bg-key-review", "bg-secret-review", "bg-pass-review")


def _page(request: TransportRequest) -> TransportResponse:
    if request.url.endswith("/api/v2/public/time"):
        body = b'{"code":"00000","msg":"success","data":{"serverTime":"%d"}}'
        return TransportResponse(200, {}, body % int(time.time() * 1000))
    body = b'{"code":"00000","msg":"success","data":{"trackingList":[],"endId":null}}'
    return TransportResponse(200, {}, body)


@pytest.mark.parametrize("url", BAD_REDIS_URLS)
def test_an_unusable_redis_url_is_refused_when_the_client_is_built(url: str) -> None:
    # Found: these passed the constructor and the first request raised a bare ValueError from
    # inside redis-py (with the URL, password included, in the frames of its traceback).
    with pytest.raises(ea.ValidationError) as caught:
        ea.BitgetClient(_credentials(), base_url="http://127.0.0.1:1", rate_limits=url)
    assert PASSWORD not in str(caught.value)
    with pytest.raises(ea.ValidationError) as caught:
        ea.Poller(rate_limits=url)
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize("url", BAD_REDIS_URLS)
def test_redis_limiter_refuses_an_unusable_url(url: str) -> None:
    with pytest.raises(ea.ValidationError) as caught:
        ea.RedisLimiter(url)
    assert PASSWORD not in str(caught.value)


REDIS_URLS = st.builds(
    lambda scheme, auth, host, port, db, query: f"{scheme}://{auth}{host}{port}{db}{query}",
    st.sampled_from(["redis", "rediss", "unix", "http", "REDIS"]),
    st.sampled_from(["", f":{PASSWORD}@", f"user:{PASSWORD}@"]),
    st.sampled_from(["127.0.0.1", "[::1]", "[::1", "localhost", "", "/tmp/x.sock"]),
    st.sampled_from(["", ":1", ":0", ":99999", ":-1", ":x", ":"]),
    st.sampled_from(["", "/0", "/15", "/x", "/-1"]),
    st.sampled_from(["", "?socket_timeout=0.1", "?socket_timeout=x", "?db=x", "?ssl_cert_reqs=x"]),
)


@settings(
    max_examples=40,
    deadline=10_000,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(url=REDIS_URLS | st.text(max_size=30) | st.integers() | st.just(object()))
def test_any_rate_limits_value_is_refused_or_ends_calls_in_typed_errors(url: Any) -> None:
    """Whatever ``rate_limits=`` holds: a `ValidationError` at once, or a client whose call
    against a Redis that is down ends in an `ExchangeError` within ``max_rate_wait``."""
    try:
        client = ea.BitgetClient(
            _credentials(),
            base_url="http://127.0.0.1:1",
            rate_limits=url,
            max_rate_wait=0.3,
            transport=MemoryTransport(_page),
        )
    except ea.ValidationError as error:
        message = str(error)
        assert PASSWORD not in message
        return

    async def call() -> None:
        async with client:
            started = time.monotonic()
            try:
                await asyncio.wait_for(client.get_current_tracking_orders("USDT-FUTURES"), 10)
            except ea.ExchangeError as error:
                message = str(error)
                assert PASSWORD not in message
            # The clock measurement and the call each wait at most max_rate_wait.
            assert time.monotonic() - started < 5

    asyncio.run(call())


@settings(max_examples=60, deadline=2000)
@given(
    insecure=st.booleans() | st.none() | st.sampled_from(["false", 0, 1]),
    host=st.sampled_from(["127.0.0.1", "localhost", "10.0.0.1", "example.com", "[::1]"]),
    scheme=st.sampled_from(["http", "https"]),
    reply_bytes=st.integers(-2, 2**70) | st.booleans() | st.floats() | st.none(),
    connections=st.integers(-2, 2**70) | st.booleans() | st.floats() | st.none(),
)
def test_transport_options_give_a_validation_error_or_a_client(
    insecure: Any, host: str, scheme: str, reply_bytes: Any, connections: Any
) -> None:
    try:
        client = ea.CoinWClient(
            ea.CoinWCredentials("cw-key-review", "cw-secret-review"),
            base_url=f"{scheme}://u:{PASSWORD}@{host}:8443",
            allow_insecure_http=insecure,
            max_reply_bytes=reply_bytes,
            max_connections=connections,
        )
    except ea.ValidationError as error:
        message = str(error)
        if scheme == "http" and insecure is False and host in ("10.0.0.1", "example.com"):
            assert "allow_insecure_http" in message
    else:
        assert insecure is True or scheme == "https" or host not in ("10.0.0.1", "example.com")
        assert isinstance(reply_bytes, int) and not isinstance(reply_bytes, bool)
        assert reply_bytes >= 1
        message = repr(client) + client.base_url
    assert PASSWORD not in message
    assert "cw-secret-review" not in message


@settings(max_examples=30, deadline=2000)
@given(
    transport=st.none()
    | st.just(object())
    | st.just(MemoryTransport(_page))
    | st.sampled_from(["transport", 1]),
    http_session=st.none() | st.just(object()) | st.sampled_from(["session", 0]),
)
def test_transport_and_http_session_give_a_validation_error_or_a_client(
    transport: Any, http_session: Any
) -> None:
    try:
        ea.BitgetClient(
            _credentials(),
            base_url="http://127.0.0.1:1",
            transport=transport,
            http_session=http_session,
        )
    except ea.ValidationError:
        assert transport is not None or http_session is not None
    else:
        assert http_session is None
        assert transport is None or isinstance(transport, MemoryTransport)


@settings(max_examples=60, deadline=2000)
@given(
    url=REDIS_URLS | st.text(max_size=30),
    cluster=st.booleans() | st.none() | st.integers() | st.text(max_size=3),
    client=st.none() | st.integers() | st.text(max_size=3) | st.just(object()),
)
def test_redis_limiter_options_are_refused_or_taken_never_a_bare_exception(
    url: str, cluster: Any, client: Any
) -> None:
    """``RedisLimiter(url, cluster=..., client=...)``: a limiter, or a `ValidationError` that
    never shows the URL's password (a bad ``client`` used to raise a bare AttributeError)."""
    try:
        limiter = ea.RedisLimiter(url, cluster=cluster, client=client)
    except ea.ValidationError as error:
        message = str(error)
        assert PASSWORD not in message
        return
    assert isinstance(cluster, bool) and client is None
    asyncio.run(limiter.aclose())


# -- the options, spelled once -------------------------------------------------------------------


def test_the_options_are_checked_once_into_one_frozen_object() -> None:
    transport = MemoryTransport(_page)
    client = ea.BitgetClient(_credentials(), transport=transport, timeout=3, max_rate_wait=2)
    options = client._pipeline.options
    assert isinstance(options, ClientOptions)
    assert (options.timeout, options.max_rate_wait, options.transport) == (3.0, 2.0, transport)
    assert client._pipeline.transport is transport
    assert client._owns_transport is False  # a given transport is never closed by the client
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.timeout = 5  # type: ignore[misc]
    own = ea.CoinWClient(ea.CoinWCredentials("cw-k", "cw-s"), max_connections=3)
    assert own._owns_transport is True
    assert own._pipeline.options.transport is None  # each client builds its own from these
    assert own._pipeline.options.max_connections == 3


def test_an_unknown_keyword_is_a_type_error_as_python_says() -> None:
    with pytest.raises(TypeError, match="timout"):
        ea.BitgetClient(_credentials(), timout=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="max_connection"):
        ea.CoinWClient(ea.CoinWCredentials("cw-k", "cw-s"), max_connection=3)  # type: ignore[call-arg]


def test_prebuilt_options_or_keywords_not_both() -> None:
    options = ClientOptions.from_keywords(transport=MemoryTransport(_page), timeout=4)
    client = ea.CoinWClient(ea.CoinWCredentials("cw-k", "cw-s"), options=options)
    assert client._pipeline.options is options
    with pytest.raises(ea.ValidationError, match="not both"):
        ea.CoinWClient(ea.CoinWCredentials("cw-k", "cw-s"), options=options, timeout=4)
    with pytest.raises(ea.ValidationError, match="options"):
        ea.CoinWClient(ea.CoinWCredentials("cw-k", "cw-s"), options={"timeout": 4})  # type: ignore[arg-type]


async def test_a_poller_hands_one_options_object_to_every_client() -> None:
    transport = MemoryTransport(_page)
    async with ea.Poller(transport=transport, timeout=7) as poller:
        one = poller.add_bitget("one", _credentials())
        two = poller.add_coinw("two", ea.CoinWCredentials("cw-k", "cw-s"))
        assert one.client is not None and two.client is not None
        first, second = one.client._pipeline.options, two.client._pipeline.options
        assert first is second
        assert (first.timeout, first.transport) == (7.0, transport)
        assert one.client._pipeline.transport is two.client._pipeline.transport is transport
        assert not one.client._owns_transport and not two.client._owns_transport


def test_the_options_repr_never_shows_a_redis_password() -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:6379/0"
    options = ClientOptions.from_keywords(rate_limits=url, transport=MemoryTransport(_page))
    assert options.rate_limits == url
    assert PASSWORD not in repr(options) and PASSWORD not in str(options)
