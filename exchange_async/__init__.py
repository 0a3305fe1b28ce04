"""exchange_async: an asyncio SDK for crypto-exchange REST APIs that never exceeds a rate limit.

import exchange_async as ea

async with ea.BitgetClient(ea.BitgetCredentials(key, secret, passphrase)) as bitget:
    async for order in bitget.iter_current_tracking_orders("USDT-FUTURES"):
        print(order.symbol, order.open_price_avg)
"""

from ._core.limits import RedisLimiter
from ._core.pipeline.pipeline import PipelineStats
from ._core.pipeline.retry import RetryPolicy
from ._core.transport import Transport, TransportRequest, TransportResponse
from ._core.transport.memory import MemoryTransport
from ._errors import (
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    DecodeError,
    ExchangeError,
    ExchangeUnavailableError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    RateLimitWaitTimeout,
    ReplyTooLargeError,
    RequestTimeoutError,
    TimestampError,
    TransportError,
    UnknownExchangeError,
    ValidationError,
)
from .bitget import (
    BitgetClient,
    BitgetCredentials,
    HistoryTrackingOrder,
    HistoryTrackingOrdersPage,
    NotTraderError,
    PosSide,
    ProductType,
    TrackingOrder,
    TrackingOrdersPage,
)
from .coinw import CoinWClient, CoinWCredentials, OrderInfo, PositionType
from .fleet import Fleet, FleetEvents
from .poller import (
    AccountError,
    AccountEvent,
    AccountRateLimited,
    AccountRecovered,
    AccountState,
    AccountStatus,
    AccountStopped,
    AccountSynced,
    Event,
    OrderChanged,
    OrderClosed,
    OrderEvent,
    OrderOpened,
    Poller,
)

__version__ = "0.3.0"

SessionStats = PipelineStats
"""Deprecated name of `PipelineStats` (kept for compatibility)."""

__all__ = [
    "AccountError",
    "AccountEvent",
    "AccountRateLimited",
    "AccountRecovered",
    "AccountState",
    "AccountStatus",
    "AccountStopped",
    "AccountSynced",
    "AuthenticationError",
    "BadRequestError",
    "BitgetClient",
    "BitgetCredentials",
    "ClientClosedError",
    "CoinWClient",
    "CoinWCredentials",
    "DecodeError",
    "Event",
    "ExchangeError",
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
    "OrderInfo",
    "OrderOpened",
    "PaginationError",
    "PermissionDeniedError",
    "PipelineStats",
    "Poller",
    "PosSide",
    "PositionType",
    "ProductType",
    "RateLimitError",
    "RateLimitWaitTimeout",
    "RedisLimiter",
    "ReplyTooLargeError",
    "RequestTimeoutError",
    "RetryPolicy",
    "SessionStats",
    "TimestampError",
    "TrackingOrder",
    "TrackingOrdersPage",
    "Transport",
    "TransportError",
    "TransportRequest",
    "TransportResponse",
    "UnknownExchangeError",
    "ValidationError",
    "__version__",
]


def _present_as_public() -> None:
    # Tracebacks show `exchange_async.RateLimitError`, not the private module path. Only the
    # exceptions: a class with string annotations (the models, under `from __future__ import
    # annotations`) resolves them in the module named by `__module__`, so msgspec and
    # `typing.get_type_hints` need the defining module there.
    for name in __all__:
        obj = globals()[name]
        if (
            isinstance(obj, type)
            and issubclass(obj, BaseException)
            and obj.__module__.startswith("exchange_async.")
        ):
            obj.__module__ = "exchange_async"


_present_as_public()
del _present_as_public
