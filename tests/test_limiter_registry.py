"""`limiter_for` / `release_limiter`: every holder of a shared Redis limiter counts once, so
the URL's connection closes with its last holder, not before."""

from __future__ import annotations

from typing import Any

from exchange_async._core.limits import limiter_for, release_limiter
from exchange_async._core.limits.registry import LoopLimiters, _shared

URL = "redis://127.0.0.1:1/0"  # never connected to: counting needs no server


async def test_a_shared_limiter_handed_on_counts_its_new_holder() -> None:
    # A Poller resolves the URL once and hands the limiter object to every client it builds;
    # each client releases it on close. Each must count, or the first client to close
    # would drop the poller's own claim and close the connection under it.
    poller_claim = limiter_for(URL)
    assert isinstance(poller_claim, LoopLimiters)
    clients = [limiter_for(poller_claim) for _ in range(3)]
    assert all(c is poller_claim for c in clients)
    assert poller_claim.users == 4
    for client in clients:
        await release_limiter(client)
    assert poller_claim.users == 1
    assert _shared.get(URL) is poller_claim  # still shared: the poller holds it
    await release_limiter(poller_claim)
    assert URL not in _shared


async def test_a_limiter_object_of_the_callers_is_not_counted() -> None:
    class Own:
        def wait_group(self) -> object: ...
        async def acquire(self, *args: object, **kwargs: object) -> object: ...
        async def penalize(self, *args: object) -> None: ...

    own: Any = Own()
    assert limiter_for(own) is own
    await release_limiter(own)
