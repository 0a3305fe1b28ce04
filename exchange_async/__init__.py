"""exchange_async: an asyncio SDK for crypto-exchange REST APIs that never exceeds a rate limit.

import exchange_async as ea

async with ea.BitgetClient(ea.BitgetCredentials(key, secret, passphrase)) as bitget:
    async for order in bitget.iter_current_tracking_orders("USDT-FUTURES"):
        print(order.symbol, order.open_price_avg)
"""

from ._core.retry import RetryPolicy
from ._core.session import SessionStats
from ._errors import (
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    DecodeError,
    ExchangeError,
    ExchangeUnavailableError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RateLimitWaitTimeout,
    RequestTimeoutError,
    TimestampError,
    TransportError,
    UnknownExchangeError,
    ValidationError,
)
from .bitget import (
    BitgetClient,
    BitgetCredentials,
    NotTraderError,
    PaginationError,
    PosSide,
    ProductType,
    TrackingOrder,
    TrackingOrdersPage,
)
from .coinw import CoinWClient, CoinWCredentials, OrderInfo, PositionType
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

__version__ = "0.1.0"

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
    "NotFoundError",
    "NotTraderError",
    "OrderChanged",
    "OrderClosed",
    "OrderEvent",
    "OrderInfo",
    "OrderOpened",
    "PaginationError",
    "PermissionDeniedError",
    "Poller",
    "PosSide",
    "PositionType",
    "ProductType",
    "RateLimitError",
    "RateLimitWaitTimeout",
    "RequestTimeoutError",
    "RetryPolicy",
    "SessionStats",
    "TimestampError",
    "TrackingOrder",
    "TrackingOrdersPage",
    "TransportError",
    "UnknownExchangeError",
    "ValidationError",
    "__version__",
]
