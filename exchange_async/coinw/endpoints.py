"""CoinW futures endpoints as data."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .._core.declarations import Endpoint
from .._core.limits import RateLimit, Scope
from .models import OrderInfo

__all__ = ["ORDER_INFO", "PRIVATE_FUTURES_LIMIT", "private_futures_endpoint"]

T = TypeVar("T")

PRIVATE_FUTURES_LIMIT = RateLimit("coinw.futures.private", 100, 1.0, Scope.ACCOUNT)
"""CoinW's global limit: 100 requests/s per UID across all private futures endpoints."""


def private_futures_endpoint(
    method: str,
    path: str,
    data_type: type[T],
    per_user: int,
    absent: Callable[[], T] | None = None,
) -> Endpoint[T]:
    """A signed futures endpoint: ``per_user`` req/s per user and IP, plus the global limit."""
    own = RateLimit(f"{method} {path}", per_user, 1.0, Scope.ENDPOINT)
    return Endpoint(method, path, (own, PRIVATE_FUTURES_LIMIT), data_type, absent=absent)


ORDER_INFO = private_futures_endpoint(
    "GET", "/v1/perpum/order", list[OrderInfo], per_user=10, absent=list
)
"""Get Order Information: 10 req/s per user and IP."""
