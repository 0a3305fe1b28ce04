"""A throwaway ``redis-server`` for ``demo --processes N`` when no ``--redis`` is given: on a
free loopback port, nothing saved to disk, stopped when the demo ends."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import tempfile
import time
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

from .._sim import install_hint

__all__ = [
    "NO_REDIS",
    "NO_REDIS_CLIENT",
    "LocalRedis",
    "redis_problem",
    "redis_unreachable",
    "shown_url",
]

NO_REDIS = (
    "--processes needs Redis to share the rate limits: pass --redis redis://HOST:PORT/DB, "
    "or install redis-server (e.g. apt-get install redis-server) and the demo starts its own"
)
NO_REDIS_CLIENT = f"--processes needs the Redis client: {install_hint('redis')}"
PING_TIMEOUT = 3.0
"""Seconds the Redis given with ``--redis`` has to answer PING before the demo gives up."""


def redis_problem(redis_url: str | None) -> str | None:
    """Why ``demo --processes`` cannot run with ``redis_url`` (``None``: start one), or None."""
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        return NO_REDIS_CLIENT
    if redis_url is None and shutil.which("redis-server") is None:
        return NO_REDIS
    return None


def shown_url(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


async def redis_unreachable(url: str, seconds: float = PING_TIMEOUT) -> str | None:
    """Why the Redis at ``url`` cannot share the limits (one line), or None: it answers."""
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError

    where = shown_url(url)
    try:
        client = aioredis.from_url(url, socket_connect_timeout=seconds, socket_timeout=seconds)
    except ValueError as error:  # not a Redis URL
        return f"--redis {where}: {str(error).splitlines()[0]}"
    try:
        await asyncio.wait_for(client.ping(), seconds)
    except (OSError, TimeoutError, RedisError) as error:
        reason = (str(error).splitlines() or [""])[0].replace(url, where) or type(error).__name__
        return (
            f"cannot reach Redis at {where} ({reason}): start it, or leave --redis out and "
            "the demo starts its own redis-server"
        )
    finally:
        await client.aclose()
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class LocalRedis:
    """``with LocalRedis() as url:`` a running ``redis-server``, stopped on exit."""

    def __init__(self, start_timeout: float = 10.0) -> None:
        self.start_timeout = start_timeout
        """Seconds to wait for it to answer PING."""
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._directory: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        """Start it and wait until it answers; the URL. RuntimeError if it does not."""
        self._directory = tempfile.TemporaryDirectory(prefix="exchange-async-demo-redis-")
        self.port = _free_port()
        command = [
            *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", self._directory.name),
        ]
        self._process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C must not stop it before the workers are done
        )
        deadline = time.monotonic() + self.start_timeout
        while not _answers(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)
        return self.url

    def stop(self) -> None:
        """Stop it (idempotent) and remove its directory."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
            self._process = None
        if self._directory is not None:
            self._directory.cleanup()
            self._directory = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
