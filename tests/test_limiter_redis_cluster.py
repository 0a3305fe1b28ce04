"""The shared limiter on a real three-node Redis Cluster: a request's budgets live under several
hash tags (its account's key, its UID, its egress group's per-IP budget), which a Lua script
cannot reach in one call there; they are reserved one tag at a time and lined up.
"""

from __future__ import annotations

import asyncio
import itertools
import math

import pytest
import redis.asyncio as aioredis
from support.redis_cluster import RedisClusterNodes, redis_cluster, redis_cluster_nodes
from support.sim_transport import simulator_transport

import exchange_async as ea
from exchange_async._core.limits import Budget, RateLimit, Scope
from exchange_async._core.limits.redis import RedisLimiter, RedisPermit
from exchange_async_sim import Simulator

__all__ = ["redis_cluster", "redis_cluster_nodes"]

FAST = RateLimit("/fast", 10, 0.1, Scope.ENDPOINT)  # interval 10.5 ms, catch-up 2 ms
TEN = RateLimit("/ten", 10, 1.0, Scope.ENDPOINT)  # interval 105 ms, tolerance 25 ms
IP = RateLimit("ip", 6000, 60.0, Scope.IP)


def budget(limit: RateLimit, owner: str) -> Budget:
    return Budget("http://s", limit, owner, 0.05)


async def test_budgets_under_three_tags_keep_their_schedule_on_three_nodes(
    redis_cluster: RedisClusterNodes,
) -> None:
    # Two processes share the account and the egress group: every part's slot of a request
    # must lie within the tolerance (half the 50 ms margin of a 1 s window) of the others.
    limiters = [RedisLimiter(redis_cluster.url, cluster=True) for _ in range(2)]
    budgets = [budget(TEN, "key:a"), budget(TEN, "uid:1"), budget(IP, "ip")]
    try:
        groups = [limiter.wait_group() for limiter in limiters]
        permits = []
        for i in range(12):
            permit = await limiters[i % 2].acquire(budgets, max_wait=None, group=groups[i % 2])
            assert isinstance(permit, RedisPermit)
            permit.tolerance = math.inf  # the schedule is the subject here, not the lag
            assert permit.sent() is None
            permits.append(permit)
        plan = permits[0].plan  # phase 1: the two account tags; phase 2 adds the IP's
        assert plan.confirm is not None
        assert limiters[0].cluster and len(plan.parts) == 2 and len(plan.confirm.parts) == 3
        nodes = {limiters[0]._client.get_node_from_key(key).port for key in plan.confirm.keys}
        assert len(nodes) >= 2  # the tags really are on different servers
        for key in plan.keys[:2]:  # each account budget: one start per interval, no closer
            starts = sorted(p.starts[key] for p in permits)
            assert all(b - a >= 105_000 - 2_000 for a, b in itertools.pairwise(starts))
        assert max(p.due - p.earliest for p in permits[2:]) <= 0.025
    finally:
        for limiter in limiters:
            await limiter.aclose()


async def test_a_penalty_on_a_cluster_holds_every_tag(redis_cluster: RedisClusterNodes) -> None:
    one = RedisLimiter(redis_cluster.url, cluster=True)
    two = RedisLimiter(redis_cluster.url, cluster=True)
    budgets = [budget(FAST, "key:a"), budget(FAST, "uid:1"), budget(IP, "ip")]
    try:
        await one.penalize(budgets, 0.3)
        loop = asyncio.get_running_loop()
        began = loop.time()
        permit = await two.acquire([budgets[1]], max_wait=None, group=two.wait_group())
        assert permit.sent() is None
        assert loop.time() - began > 0.25  # the UID's budget, on its own node, was paused too
    finally:
        await one.aclose()
        await two.aclose()


@pytest.mark.slow  # 3 s of real polling
async def test_clients_of_one_account_in_two_processes_keep_the_limits_on_a_cluster(
    redis_cluster: RedisClusterNodes,
    sim: Simulator,
    bitget_credentials: ea.BitgetCredentials,
    coinw_credentials: ea.CoinWCredentials,
) -> None:
    limiters = [RedisLimiter(redis_cluster.url, cluster=True) for _ in range(2)]
    bitgets = [
        ea.BitgetClient(bitget_credentials, transport=simulator_transport(sim), rate_limits=lim)
        for lim in limiters
    ]
    coinws = [
        ea.CoinWClient(coinw_credentials, transport=simulator_transport(sim), rate_limits=lim)
        for lim in limiters
    ]

    async def bitget(client: ea.BitgetClient) -> None:
        while True:
            await client.get_current_tracking_orders("USDT-FUTURES", limit=10)

    async def coinw(client: ea.CoinWClient) -> None:
        while True:
            await client.get_order_info("execute")

    tasks = [asyncio.create_task(bitget(c)) for c in bitgets for _ in range(2)]
    tasks += [asyncio.create_task(coinw(c)) for c in coinws for _ in range(2)]
    await asyncio.sleep(3.0)
    for task in tasks:
        task.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for client in [*bitgets, *coinws]:
        await client.close()
    for limiter in limiters:
        await limiter.aclose()
    assert all(isinstance(r, asyncio.CancelledError) for r in results), results
    assert sim.limit_violations() == 0
    assert sum(c.stats.requests for c in bitgets) >= 0.8 * 5 * 3
    assert sum(c.stats.requests for c in coinws) >= 0.8 * 10 * 3
    assert isinstance(limiters[0]._client, aioredis.RedisCluster)
