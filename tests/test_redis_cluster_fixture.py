"""The `redis_cluster` fixture is a real Redis Cluster, and what redis-py 8.1.0 does on it.

Found on redis-server 7.0 (Debian) with ``redis.asyncio.RedisCluster`` from redis-py 8.1.0:

- Keys of one hash tag (``{a}1``, ``{a}2``) share a slot; three tags spread over the nodes.
- A script call whose KEYS span two slots raises one of TWO types, depending on whether the
  client has run a command yet (``initialize()``):
  - initialized (any earlier command): the cluster client checks the slots of EVAL/EVALSHA
    keys itself and raises ``redis.exceptions.RedisClusterException`` ("EVALSHA - all keys
    must map to the same key slot") without sending anything. That is NOT a ``RedisError``
    (it derives from ``Exception``), so ``except RedisError`` misses it, and its ``repr`` is
    only ``server:RedisClusterException`` (read ``str(error)``).
  - the very first command of a fresh client: redis-py 8.1 has no default node yet, so it
    skips that check and sends EVALSHA; the server answers CROSSSLOT and the client raises
    ``redis.exceptions.ClusterCrossSlotError`` (a ``ResponseError``): "Keys in request
    don't hash to the same slot".
  Code that must recognise a cross-slot call catches both.
- A script that touches a key it did not declare in KEYS fails on the server with
  ``redis.exceptions.ResponseError`` ("Script attempted to access a non local key in a
  cluster node") when another node owns that key's slot. On redis-server 7.0.15 an
  undeclared key of another slot that the same node owns was allowed (not asserted here:
  it depends on the slot layout and on the server version). Declare every key in KEYS.
- ``register_script`` on a ``RedisCluster`` returns an ``AsyncScript`` that sends EVALSHA
  to the node of its keys; on NOSCRIPT it runs ``SCRIPT LOAD``, which the cluster client
  sends to every primary, and retries: a cluster whose script caches were flushed works.
  A script with no keys goes to a random node.
- ``TIME`` goes to one (random) node and returns ``(seconds, microseconds)``; a script's
  ``redis.call('TIME')`` reads the clock of the node that owns its keys' slot, so scripts
  of different hash tags may read different machines' clocks in a real deployment.
- ``RedisCluster.from_url`` accepts ``/0`` and rejects any other database
  (``RedisClusterException``: "Argument 'db' must be 0 or None in cluster mode").
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import (
    ClusterCrossSlotError,
    RedisClusterException,
    RedisError,
    ResponseError,
)
from support.redis_cluster import (
    RedisClusterNodes,
    command_reply,
    redis_cluster,
    redis_cluster_nodes,
)

__all__ = ["redis_cluster", "redis_cluster_nodes"]

TAGS = "abcdefghijklmnop"
SET_TWO = "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[1]); return 2"


@pytest.fixture
async def client(redis_cluster: RedisClusterNodes) -> AsyncIterator[aioredis.RedisCluster]:
    """A cluster client seeded with the first node's address."""
    cluster_client = aioredis.RedisCluster.from_url(redis_cluster.url)
    try:
        yield cluster_client
    finally:
        await cluster_client.aclose()


def key_counts(nodes: RedisClusterNodes) -> list[int]:
    """How many keys each node holds (``DBSIZE`` on each port)."""
    counts = []
    for port in nodes.ports:
        reply = command_reply(port, "DBSIZE")
        assert reply.startswith(b":"), reply
        counts.append(int(reply[1:].strip()))
    return counts


async def test_hash_tags_spread_keys_over_the_nodes(
    client: aioredis.RedisCluster, redis_cluster: RedisClusterNodes
) -> None:
    assert key_counts(redis_cluster) == [0, 0, 0]  # FLUSHALL before every test
    slots = {tag: await client.cluster_keyslot(f"{{{tag}}}k") for tag in TAGS}
    assert slots["a"] == await client.cluster_keyslot("{a}other")
    assert len(set(slots.values())) > 1
    for tag in TAGS:
        await client.set(f"{{{tag}}}k", tag)
    counts = key_counts(redis_cluster)
    assert sum(counts) == len(TAGS)
    assert sum(1 for count in counts if count > 0) >= 2
    for tag in TAGS:
        assert await client.get(f"{{{tag}}}k") == tag.encode()


async def test_a_script_runs_on_keys_of_one_hash_tag(client: aioredis.RedisCluster) -> None:
    set_two = client.register_script(SET_TWO)
    assert await set_two(keys=["{a}1", "{a}2"], args=["v"]) == 2
    assert await client.mget("{a}1", "{a}2") == [b"v", b"v"]


async def test_a_script_on_two_hash_tags_is_refused_by_the_client(
    client: aioredis.RedisCluster, redis_cluster: RedisClusterNodes
) -> None:
    await client.initialize()  # what any earlier command does
    set_two = client.register_script(SET_TWO)
    with pytest.raises(RedisClusterException, match="same key slot") as raised:
        await set_two(keys=["{a}1", "{b}2"], args=["v"])
    assert type(raised.value) is RedisClusterException
    assert not isinstance(raised.value, RedisError)
    assert key_counts(redis_cluster) == [0, 0, 0]  # nothing ran


async def test_a_fresh_client_sends_a_two_tag_script_and_the_server_refuses_it(
    client: aioredis.RedisCluster, redis_cluster: RedisClusterNodes
) -> None:
    set_two = client.register_script(SET_TWO)  # first command of a client not initialized
    with pytest.raises(ClusterCrossSlotError, match="same slot") as raised:
        await set_two(keys=["{a}1", "{b}2"], args=["v"])
    assert type(raised.value) is ClusterCrossSlotError
    assert isinstance(raised.value, ResponseError)
    assert key_counts(redis_cluster) == [0, 0, 0]
    with pytest.raises(RedisClusterException, match="same key slot"):  # initialized now
        await set_two(keys=["{a}1", "{b}2"], args=["v"])


async def test_a_script_touching_an_undeclared_key_on_another_node_fails_on_the_server(
    client: aioredis.RedisCluster,
) -> None:
    set_other = client.register_script(
        "redis.call('SET', KEYS[1], 1); return redis.call('SET', ARGV[1], 1)"
    )
    assert await set_other(keys=["{a}1"], args=["{a}2"]) == b"OK"  # same slot: allowed
    home = client.get_node_from_key("{a}1")
    elsewhere = [t for t in TAGS if client.get_node_from_key(f"{{{t}}}2") != home]
    assert elsewhere
    for tag in elsewhere:
        with pytest.raises(ResponseError, match="non local key"):
            await set_other(keys=["{a}1"], args=[f"{{{tag}}}2"])


async def test_a_script_is_loaded_again_after_the_nodes_forget_it(
    client: aioredis.RedisCluster, redis_cluster: RedisClusterNodes
) -> None:
    set_two = client.register_script(SET_TWO)
    assert await set_two(keys=["{c}1", "{c}2"], args=["one"]) == 2
    for port in redis_cluster.ports:
        assert command_reply(port, "SCRIPT", "FLUSH").startswith(b"+OK")
    assert await client.script_exists(set_two.sha) == [False]
    assert await set_two(keys=["{c}1", "{c}2"], args=["two"]) == 2  # NOSCRIPT, load, retry
    assert await client.script_exists(set_two.sha) == [True]  # loaded on every primary
    assert await client.get("{c}2") == b"two"


async def test_time_works_through_the_cluster_client(client: aioredis.RedisCluster) -> None:
    seconds, microseconds = await client.time()
    assert seconds > 1_700_000_000
    assert 0 <= microseconds < 1_000_000
    in_script = client.register_script("return redis.call('TIME')")
    script_seconds, _ = await in_script(keys=["{a}t"])
    assert abs(int(script_seconds) - seconds) <= 5


async def test_only_database_zero_exists(redis_cluster: RedisClusterNodes) -> None:
    zero = aioredis.RedisCluster.from_url(redis_cluster.url + "/0")
    try:
        assert await zero.set("k", "v")
    finally:
        await zero.aclose()
    with pytest.raises(RedisClusterException, match="db"):
        aioredis.RedisCluster.from_url(redis_cluster.url + "/1")
