"""A real three-node Redis Cluster on free loopback ports, for the shared-limiter tests.

Three ``redis-server`` processes in cluster mode (no persistence, no replicas) joined with
``redis-cli --cluster create``; the 16384 hash slots are split between them, so keys with
different hash tags land on different nodes. Cluster mode only has database 0, so `url` has
no database part. A new cluster takes 2-3 s to report ``cluster_state:ok`` (``redis-cli``
waits 1 s for the join, and a fresh primary stays failed for its first 2 s), so one cluster
serves a whole test module and `redis_cluster` empties it (``FLUSHALL``) before each test.

Use it like `redis_server.py`'s fixture, importing both fixtures (pytest looks up the
module-scoped `redis_cluster_nodes`, which `redis_cluster` needs, in the test module)::

    from support.redis_cluster import RedisClusterNodes, redis_cluster, redis_cluster_nodes

    __all__ = ["redis_cluster", "redis_cluster_nodes"]  # re-exported: ruff keeps the import

    async def test_x(redis_cluster: RedisClusterNodes) -> None:
        client = redis.asyncio.RedisCluster.from_url(redis_cluster.url)

Each node's cluster bus gets its own free port (``--cluster-port``, Redis 7+) instead of the
default port + 10000, which can be taken or past 65535. Without ``redis-server`` or
``redis-cli`` on the PATH the tests that need it are skipped, except under CI (``CI`` set),
where they fail: `.ci/run` installs both.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

__all__ = ["RedisClusterNodes", "redis_cluster", "redis_cluster_nodes"]

NODE_COUNT = 3
STARTUP_TIMEOUT = 15.0  # seconds, for the processes to answer and for the cluster to be ok


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports that were free a moment ago (all bound at once)."""
    with ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def command_reply(port: int, *words: str) -> bytes:
    """Send one command over a fresh connection and return the first read of the reply."""
    request = f"*{len(words)}\r\n".encode() + b"".join(
        f"${len(word)}\r\n{word}\r\n".encode() for word in words
    )
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(request)
        return sock.recv(65536)


class RedisClusterNodes:
    """Three cluster-mode ``redis-server`` processes joined into one cluster (no replicas)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        ports = free_ports(2 * NODE_COUNT)
        self.ports = ports[:NODE_COUNT]  # clients connect here
        self.bus_ports = ports[NODE_COUNT:]  # the nodes talk to each other here
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<first port>``: any node works as the cluster client's seed."""
        return f"redis://127.0.0.1:{self.ports[0]}"

    def start(self) -> None:
        """Start the nodes, create the cluster and wait until every node reports it ok."""
        try:
            for port, bus_port in zip(self.ports, self.bus_ports, strict=True):
                self.processes.append(self._spawn(port, bus_port))
            for port in self.ports:
                self._wait_for_pong(port)
            self._create_cluster()
            self._wait_for_cluster_ok()
        except BaseException:
            self.stop()
            raise

    def _spawn(self, port: int, bus_port: int) -> subprocess.Popen[bytes]:
        command = [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--cluster-enabled", "yes", "--cluster-port", str(bus_port)),
            *("--cluster-config-file", str(self.directory / f"nodes-{port}.conf")),
            *("--cluster-node-timeout", "2000"),
            *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
        ]
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _wait_for_pong(self, port: int) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if command_reply(port, "PING").startswith(b"+PONG"):
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"redis-server (cluster mode) did not start on port {port}")

    def _create_cluster(self) -> None:
        addresses = [f"127.0.0.1:{port}" for port in self.ports]
        command = ["redis-cli", "--cluster", "create", *addresses]
        command += ["--cluster-replicas", "0", "--cluster-yes"]
        result = subprocess.run(command, capture_output=True, timeout=STARTUP_TIMEOUT, check=False)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")
            raise RuntimeError(f"redis-cli --cluster create failed:\n{output}")

    def _wait_for_cluster_ok(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        pending = list(self.ports)
        while pending and time.monotonic() < deadline:
            try:
                if b"cluster_state:ok" in command_reply(pending[0], "CLUSTER", "INFO"):
                    pending.pop(0)
                    continue
            except OSError:
                pass
            time.sleep(0.02)
        if pending:
            raise RuntimeError(
                f"Redis Cluster on ports {self.ports} not ok after {STARTUP_TIMEOUT:.0f} s:"
                f" node {pending[0]} still reports cluster_state other than ok"
            )

    def flush_all(self) -> None:
        """Empty every node (``FLUSHALL``); scripts stay cached."""
        for port in self.ports:
            reply = command_reply(port, "FLUSHALL")
            if not reply.startswith(b"+OK"):
                raise RuntimeError(f"FLUSHALL on port {port} answered {reply!r}")

    def stop(self) -> None:
        """Kill every node and wait for it to exit (idempotent)."""
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait(10)
        self.processes = []


def require_redis_tools() -> None:
    """Skip (fail under CI) when ``redis-server`` or ``redis-cli`` is not on the PATH."""
    for tool in ("redis-server", "redis-cli"):
        if shutil.which(tool) is None:
            message = f"{tool} is not installed (apt-get install redis-server redis-tools)"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)


@pytest.fixture(scope="module")
def redis_cluster_nodes() -> Iterator[RedisClusterNodes]:
    """One three-node cluster for a whole test module: it takes about 2-3 s to become ok."""
    require_redis_tools()
    with tempfile.TemporaryDirectory() as directory:
        cluster = RedisClusterNodes(Path(directory))
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop()


@pytest.fixture
def redis_cluster(redis_cluster_nodes: RedisClusterNodes) -> RedisClusterNodes:
    """The module's cluster, emptied (``FLUSHALL`` on every node) before this test.

    A node that a previous test killed is not brought back: such a test should start its
    own `RedisClusterNodes` instead.
    """
    redis_cluster_nodes.flush_all()
    return redis_cluster_nodes
