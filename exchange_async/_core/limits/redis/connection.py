"""The Redis client of a `RedisLimiter`: the URL checked, the client made, the scripts run.

The optional ``redis`` package is imported only when a client is made (a lazy import of an
optional dependency: the SDK imports without it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any, cast

from ...._errors import ValidationError
from .scripts import CARRY, PENALIZE, REDATE, ROLLBACK, SLOT

__all__ = ["POOL", "RedisDown", "Scripts", "check_redis_url", "make_client"]

POOL = 512
"""Connections to Redis per limiter, at most (hundreds of accounts wait on it at once)."""


class RedisDown(Exception):
    """Redis did not answer in time (internal: the caller switches to the fallback)."""


def check_redis_url(url: object, name: str = "rate_limits") -> str:
    """``url`` if redis-py can parse it (port, db, options), else `ValidationError`.

    Checked when a client is built, not at its first request: redis-py's own ``ValueError``
    would otherwise escape a call, with the URL (and its password) in its traceback's frames.
    The message never echoes the URL.
    """
    from redis.asyncio.connection import parse_url

    try:
        parse_url(url)  # type: ignore[arg-type]  # anything but a good URL string raises
    except Exception:
        raise ValidationError(
            f"{name} is not a usable Redis URL (redis://[:password@]host[:port][/db])"
        ) from None
    return cast("str", url)


def make_client(url: str | None, client: Any, cluster: object) -> tuple[Any, bool, bool]:
    """``(client, is_cluster, owned)``: the given client checked, or one made from ``url``."""
    try:
        import redis.asyncio as aioredis
    except ImportError:  # pragma: no cover - depends on the install
        raise ValidationError(
            'shared rate limits need the redis package: pip install "redis>=5" '
            '(from a clone: pip install -e ".[redis]")'
        ) from None
    if client is None and url is None:
        raise ValidationError("RedisLimiter needs a redis:// URL or a client")
    if not isinstance(cluster, bool):
        raise ValidationError("cluster must be True or False")
    if client is not None and not isinstance(client, (aioredis.Redis, aioredis.RedisCluster)):
        raise ValidationError("client must be a redis.asyncio.Redis or RedisCluster")
    owned = client is None
    if client is None and cluster:  # any node's URL; the client finds the others
        url = check_redis_url(url, "RedisLimiter's url")
        try:
            client = aioredis.RedisCluster.from_url(url, max_connections=POOL)
        except Exception:  # redis-py's own message may quote the URL (and its password)
            raise ValidationError(
                "RedisLimiter's url cannot reach a Redis Cluster: use redis://host:port "
                "(database 0, no unix socket)"
            ) from None
    elif client is None:  # a bounded pool: a burst of callers queues for a connection
        url = check_redis_url(url, "RedisLimiter's url")
        pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=POOL)
        client = aioredis.Redis(connection_pool=pool)
    return client, isinstance(client, aioredis.RedisCluster), owned


class Scripts:
    """Runs the limiter's scripts with a deadline; a failure calls ``went_down`` and raises
    `RedisDown`. ``fire`` runs one in the background (a re-date, a give-back)."""

    def __init__(
        self, client: Any, call_timeout: float, went_down: Callable[[BaseException], None]
    ) -> None:
        self.client = client
        self.call_timeout = call_timeout
        self._went_down = went_down
        scripts = (SLOT, REDATE, ROLLBACK, PENALIZE, CARRY)
        self._scripts = {s: client.register_script(s) for s in scripts}
        self.down = False
        self.reached = False
        """Whether a script ever got an answer (else no share of any limit is known)."""
        self.loop: asyncio.AbstractEventLoop | None = None
        self.background: set[asyncio.Task[Any]] = set()

    async def call(self, script: str, keys: list[str], args: Sequence[str | int]) -> Any:
        """Run ``script``; raises `RedisDown` when Redis fails or is slower than the timeout."""
        task = asyncio.current_task()
        assert task is not None
        cancels = task.cancelling()
        failure: Exception | None = None
        run = self._scripts[script]
        try:
            async with asyncio.timeout(self.call_timeout):
                reply = await run(keys=keys, args=args)
        except Exception as error:  # any failure of Redis or its client: fall back
            failure = error
        if task.cancelling() > cancels:
            # redis-py writes through ``asyncio.wait_for``, which on Python 3.11 drops a
            # cancellation that arrives as the write completes (the call then returns, or
            # fails some other way): re-raise it, or a cancelled caller would go on (and
            # `Poller.aclose` would wait for it forever).
            raise asyncio.CancelledError
        if failure is not None:
            self._went_down(failure)
            raise RedisDown from None
        self.reached = True
        return reply

    def fire(self, script: str, keys: list[str], args: Sequence[str | int]) -> None:
        """Run ``script`` in the background: nobody waits for it (nothing if Redis is down)."""
        if self.down or self.loop is None or self.loop.is_closed():
            return
        task = self.loop.create_task(self._fire(script, keys, args))
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _fire(self, script: str, keys: list[str], args: Sequence[str | int]) -> None:
        with contextlib.suppress(RedisDown):
            await self.call(script, keys, args)
