"""CoinW futures: order information."""

from .auth import CoinWCredentials
from .client import CoinWClient
from .models import OrderInfo, PositionType

__all__ = ["CoinWClient", "CoinWCredentials", "OrderInfo", "PositionType"]
