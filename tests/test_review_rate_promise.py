"""Review findings on the rate-limit promise: two clients of one account keep the strictest
spacing either of them asked for."""

from __future__ import annotations

import asyncio
import itertools

import exchange_async as ea
from exchange_async._core.memory_transport import MemoryTransport
from exchange_async._core.transport import TransportRequest, TransportResponse

ORDERS = b'{"code":0,"data":[],"msg":""}'


async def test_clients_of_one_key_with_different_margins_keep_the_wider_spacing() -> None:
    # Found: the in-process limiter kept the interval of whichever client reached a budget
    # first, so a client asking for a 50 % margin (CoinW's 10/s -> 150 ms apart) was spaced at
    # the other client's 100 ms whenever that one had made the first request.
    loop = asyncio.get_running_loop()
    starts: dict[str, list[float]] = {"tight": [], "wide": []}

    def recorder(name: str) -> MemoryTransport:
        def answer(request: TransportRequest) -> TransportResponse:
            starts[name].append(loop.time())
            return TransportResponse(200, {}, ORDERS)

        return MemoryTransport(answer)

    credentials = ea.CoinWCredentials("cw-key-margins", "cw-secret-margins")
    base = "http://127.0.0.1:1"
    tight = ea.CoinWClient(credentials, base_url=base, rate_limit_margin=0.0,
                           transport=recorder("tight"))  # fmt: skip
    wide = ea.CoinWClient(credentials, base_url=base, rate_limit_margin=0.5,
                          transport=recorder("wide"))  # fmt: skip
    async with tight, wide:
        await tight.get_order_info("plan")
        for _ in range(4):
            await wide.get_order_info("plan")
    wide_starts = starts["wide"]
    gaps = [b - a for a, b in itertools.pairwise(wide_starts)]
    assert len(gaps) == 3
    assert min(gaps) >= 0.150 - 0.002 - 0.001, gaps  # interval - catch-up - clock resolution
