"""The fleet's Redis connection, and the errors that mean "Redis did not answer"."""

from __future__ import annotations

from typing import Any

from .._errors import TransportError, ValidationError

__all__ = ["FleetRedisError", "connect", "redis_errors", "transient_errors", "unavailable"]


class FleetRedisError(TransportError):
    """The fleet's Redis failed a call: down, unreachable, slower than the timeout, or it
    refused the command (the message names the failure's type only, never the URL)."""


def unavailable(error: BaseException) -> FleetRedisError:
    """The SDK's error for a failed Redis call (raise it ``from None``: redis-py's own error
    may name the URL)."""
    return FleetRedisError(f"the fleet's Redis did not answer: {type(error).__name__}")


_POOL = 64
"""Connections to Redis per worker at most (commits of many accounts queue for one)."""


def connect(url: str, *, timeout: float) -> Any:
    """A ``redis.asyncio.Redis`` on ``url``: a bounded pool, every call at most ``timeout``
    seconds (a hung Redis must not hold a worker past its leases)."""
    try:
        import redis.asyncio as aioredis
    except ImportError:  # pragma: no cover - depends on the install
        raise ValidationError(
            'a fleet needs the redis package: pip install "redis>=5" '
            '(from a clone: pip install -e ".[redis]")'
        ) from None
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=_POOL, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    return aioredis.Redis(connection_pool=pool)


def redis_errors() -> tuple[type[BaseException], ...]:
    """What a Redis call raises when Redis is down, slow or unreachable."""
    from redis.exceptions import RedisError

    return (RedisError, OSError, TimeoutError)


def transient_errors() -> tuple[type[BaseException], ...]:
    """What a Redis call raises when Redis is down, restarting or unreachable (worth another
    try later), as opposed to a command it refused."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)
