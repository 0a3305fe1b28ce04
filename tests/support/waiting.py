"""Waiting for something to have happened, instead of sleeping a guessed while: a bounded poll
of a condition (`until`), and the state of Redis keys a background call writes (`RedisKeys`).

A fixed ``asyncio.sleep(0.05)`` "to let the background call land" passes on an idle machine
and fails on a loaded one; polling the condition it waited for passes on both, and takes
no longer than needed.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

__all__ = ["RedisKeys", "until"]


async def until(
    condition: Callable[[], bool | Awaitable[bool]],
    what: str,
    *,
    timeout: float = 5.0,
    every: float = 0.002,
) -> None:
    """Return once ``condition()`` (plain or async) is true, checking every ``every`` seconds;
    fail naming ``what`` after ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                met = condition()
                if inspect.isawaitable(met):
                    met = await met
                if met:
                    return
                await asyncio.sleep(every)
    except TimeoutError:
        raise AssertionError(f"not within {timeout:g} s: {what}") from None


class RedisKeys:
    """The serialized values (``DUMP``) of the keys matching ``pattern`` on ``url``: take a
    `snapshot`, start the background work, then await `changed` for its write to land."""

    def __init__(self, url: str, pattern: str) -> None:
        self._client = aioredis.Redis.from_url(url)
        self.pattern = pattern
        self._before: dict[str, object] = {}

    async def values(self) -> dict[str, object]:
        """Every matching key and its ``DUMP``, now."""
        found = await self._client.keys(self.pattern)
        keys = sorted(k.decode() if isinstance(k, bytes) else str(k) for k in found)
        return {key: await self._client.dump(key) for key in keys}

    async def snapshot(self) -> None:
        """Remember the keys' values now: `changed` waits for them to differ."""
        self._before = await self.values()

    async def changed(self, what: str, *, timeout: float = 5.0) -> None:
        """Return once the keys differ from the last `snapshot` (then take a new one)."""

        async def differs() -> bool:
            now = await self.values()
            if now == self._before:
                return False
            self._before = now
            return True

        await until(differs, what, timeout=timeout)

    async def aclose(self) -> None:
        await self._client.aclose()
