"""Client, retry and poller options of any value and type: a `ValidationError` or a working
object."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.bitget_memory import FAST, KEY, PASSPHRASE, SECRET
from support.clients import bitget_client as _bitget
from support.clients import coinw_client as _coinw
from support.hostile import GIANT, HUGE, maybe

import exchange_async as ea
from exchange_async._core.pipeline.options import ClientOptions
from exchange_async._core.transport import TransportRequest, TransportResponse
from exchange_async._core.transport.memory import MemoryTransport

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


@pytest.mark.virtual_time
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


@pytest.mark.virtual_time
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


@pytest.mark.virtual_time
async def test_a_password_in_base_url_is_not_shown() -> None:
    creds = ea.BitgetCredentials(KEY, SECRET, PASSPHRASE)
    url = "http://proxyuser:hunter2@127.0.0.1:9"
    async with ea.BitgetClient(creds, base_url=url, retry=FAST) as bitget:
        assert "hunter2" not in repr(bitget)
        assert "hunter2" not in repr(bitget._pipeline)
        with pytest.raises(ea.TransportError) as info:
            await bitget.get_current_tracking_orders("USDT-FUTURES")
    assert "hunter2" not in str(info.value) and "hunter2" not in repr(info.value)


@pytest.mark.virtual_time
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


@pytest.mark.virtual_time
@pytest.mark.parametrize(
    "options",
    [{"interval": "1"}, {"interval": -1}, {"max_pending": 0}, {"backoff": "x"}, {"backoff": 0}],
)
def test_bad_poller_options_are_validation_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ea.ValidationError):
        ea.Poller(**options)


@pytest.mark.parametrize("url", ["redis://localhost:6379/3", "unix:///tmp/redis.sock"])
def test_a_url_a_redis_cluster_cannot_use_is_a_validation_error(url: str) -> None:
    # redis-py refuses a database other than 0 and a unix socket in cluster mode with its own
    # RedisClusterException; the SDK raises only its own errors.
    with pytest.raises(ea.ValidationError, match="Redis Cluster"):
        ea.RedisLimiter(url, cluster=True)
