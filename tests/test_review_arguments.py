"""Review findings on arguments: an endless iterable is a `ValidationError`, not a hang."""

from __future__ import annotations

import asyncio
import itertools

import pytest

import exchange_async as ea
from exchange_async._core.transport import TransportRequest, TransportResponse
from exchange_async._core.transport.memory import MemoryTransport
from exchange_async.coinw.client import MAX_SOURCE_IDS


def _never_called(request: TransportRequest) -> TransportResponse:
    raise AssertionError("nothing may be sent")


@pytest.mark.parametrize(
    "ids",
    [
        itertools.count(1),  # endless: list() of it never returned (and ate all memory)
        range(1, MAX_SOURCE_IDS + 2),
    ],
    ids=["endless", "one-too-many"],
)
async def test_too_many_source_ids_is_a_validation_error(ids: object) -> None:
    transport = MemoryTransport(_never_called)
    async with ea.CoinWClient(
        ea.CoinWCredentials("cw-key-ids", "cw-secret-ids"),
        base_url="http://127.0.0.1:1",
        transport=transport,
    ) as client:
        with pytest.raises(ea.ValidationError, match="at most"):
            await asyncio.wait_for(client.get_order_info("plan", source_ids=ids), 10)  # type: ignore[arg-type]
    assert transport.requests == []


async def test_the_most_source_ids_are_sent() -> None:
    sent: list[int] = []

    def answer(request: TransportRequest) -> TransportResponse:
        query = request.url.split("sourceIds=", 1)[1].split("&", 1)[0]
        sent.extend(int(i) for i in query.split(","))
        return TransportResponse(200, {}, b'{"code":0,"data":[],"msg":""}')

    async with ea.CoinWClient(
        ea.CoinWCredentials("cw-key-ids2", "cw-secret-ids"),
        base_url="http://127.0.0.1:1",
        transport=MemoryTransport(answer),
        rate_limit_margin=0.0,
    ) as client:
        few = range(1, 42)
        assert await client.get_order_info("plan", source_ids=few) == []
    assert sorted(sent) == list(few)
    assert MAX_SOURCE_IDS >= 1000


async def test_endless_position_types_is_a_validation_error() -> None:
    async with ea.Poller() as poller:
        with pytest.raises(ea.ValidationError, match="at most"):
            poller.add_coinw(
                "desk",
                ea.CoinWCredentials("cw-key-kinds", "cw-secret-ids"),
                position_types=itertools.repeat("plan"),
            )
        with pytest.raises(ea.ValidationError, match="at most"):
            poller.add_bitget(
                "desk",
                ea.BitgetCredentials("bg-key-kinds", "bg-secret", "bg-pass"),
                product_types=itertools.cycle(["USDT-FUTURES"]),
            )
