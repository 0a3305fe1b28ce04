"""The contract's names exist at the top level, and __all__ says exactly what is public."""

from __future__ import annotations

import typing

import msgspec

import exchange_async as ea

CONTRACT = {
    "BitgetCredentials",
    "CoinWCredentials",
    "BitgetClient",
    "CoinWClient",
    "TrackingOrdersPage",
    "TrackingOrder",
    "ProductType",
    "OrderInfo",
    "PositionType",
    "ExchangeError",
    "ValidationError",
    "AuthenticationError",
    "RateLimitError",
}


PUBLIC = {
    *CONTRACT,
    "AccountError",
    "AccountEvent",
    "AccountRateLimited",
    "AccountRecovered",
    "AccountState",
    "AccountStatus",
    "AccountStopped",
    "AccountSynced",
    "BadRequestError",
    "ClientClosedError",
    "DecodeError",
    "Event",
    "ExchangeUnavailableError",
    "Fleet",
    "FleetEvents",
    "HistoryTrackingOrder",
    "HistoryTrackingOrdersPage",
    "MemoryTransport",
    "NotFoundError",
    "NotTraderError",
    "OrderChanged",
    "OrderClosed",
    "OrderEvent",
    "OrderOpened",
    "PaginationError",
    "PermissionDeniedError",
    "PipelineStats",
    "Poller",
    "PosSide",
    "RateLimitWaitTimeout",
    "RedisLimiter",
    "ReplyTooLargeError",
    "RequestTimeoutError",
    "RetryPolicy",
    "SessionStats",
    "TimestampError",
    "Transport",
    "TransportError",
    "TransportRequest",
    "TransportResponse",
    "UnknownExchangeError",
    "__version__",
}


def test_all_is_exactly_the_public_api() -> None:
    assert set(ea.__all__) == PUBLIC


def test_public_classes_show_the_package_as_their_module() -> None:
    # Tracebacks then read `exchange_async.RateLimitError`, not a private module path.
    for name in ea.__all__:
        obj = getattr(ea, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert obj.__module__ == "exchange_async", name
    try:
        raise ea.RateLimitError("slow down")
    except ea.RateLimitError as error:
        import traceback

        line = traceback.format_exception_only(error)[-1]
        assert line.startswith("exchange_async.RateLimitError: ")


def test_deprecated_names_still_work() -> None:
    assert ea.SessionStats is ea.PipelineStats
    assert issubclass(ea.PaginationError, ea.DecodeError)


def test_contract_names_are_exported() -> None:
    assert set(ea.__all__) >= CONTRACT
    for name in ea.__all__:
        assert hasattr(ea, name), name


def test_all_is_sorted_and_unique() -> None:
    assert list(ea.__all__) == sorted(set(ea.__all__), key=lambda n: (n.startswith("_"), n))


def test_error_hierarchy() -> None:
    assert issubclass(ea.ValidationError, ea.ExchangeError)
    assert issubclass(ea.ValidationError, ValueError)
    for cls in (ea.AuthenticationError, ea.RateLimitError, ea.TransportError, ea.DecodeError):
        assert issubclass(cls, ea.ExchangeError)
    assert issubclass(ea.RequestTimeoutError, ea.TransportError)
    assert issubclass(ea.TimestampError, ea.AuthenticationError)
    assert issubclass(ea.NotTraderError, ea.AuthenticationError)


def test_error_carries_code_message_status() -> None:
    err = ea.RateLimitError("slow down", code="429", http_status=429, exchange="bitget")
    assert (err.code, err.message, err.http_status) == ("429", "slow down", 429)
    assert "slow down" in str(err) and "429" in str(err)


def test_public_classes_type_hints_resolve() -> None:
    # A user's own msgspec decoder of the public models (caching pages, a message queue) must
    # build: their string annotations resolve in the module that `__module__` names.
    for name in ea.__all__:
        obj = getattr(ea, name)
        if isinstance(obj, type):
            typing.get_type_hints(obj)
    page = msgspec.json.encode(ea.TrackingOrdersPage(tracking_list=[], end_id="7"))
    assert msgspec.json.decode(page, type=ea.TrackingOrdersPage).end_id == "7"
    assert msgspec.json.Decoder(list[ea.OrderInfo]).decode(b"[]") == []
