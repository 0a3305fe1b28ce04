"""The contract's names exist at the top level, and __all__ says exactly what is public."""

from __future__ import annotations

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
