"""The ONE place the benchmarks touch SDK internals: decoding a reply body without a request,
the default transport (to wrap it with a recorder of send times), and a fleet's commit
script on its own (`fleet_committer`: a worker commits inside its poller, with no public call).

The SDK's public API has no "decode this body" call, so the decode benchmark reaches for the
endpoint's decoder (it decodes straight into the public page); the TLS variants need a
transport trusting a private CA, which no client option takes. Those internals are being
reworked; when they move, fix :func:`sdk_decoders` and nothing else. Everything else in
``benchmarks/`` uses the public API (``import exchange_async as ea``).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

__all__ = ["default_transport", "fleet_committer", "sdk_decoders", "sdk_transport"]


def sdk_decoders() -> tuple[Callable[[bytes], Any], Callable[[bytes], Any]]:
    """``(bitget, coinw)``: body bytes -> the public result the client call returns
    (`ea.TrackingOrdersPage`, ``list[ea.OrderInfo]``), as the SDK decodes them."""
    from exchange_async.bitget import endpoints as bitget_endpoints
    from exchange_async.bitget import models as bitget_models
    from exchange_async.coinw import endpoints as coinw_endpoints

    bitget_decoder: Any = bitget_endpoints.CURRENT_TRACK.decoder
    coinw_decoder: Any = coinw_endpoints.ORDER_INFO.decoder
    # Releases before 0.3 converted the decoded page in a second step; since then the reply
    # decodes straight into the public page. Kept so that one script measures both.
    to_page: Any = getattr(bitget_models, "to_page", None)

    def bitget(body: bytes) -> Any:
        envelope = bitget_decoder.decode(body)
        if str(envelope.code) != "00000":
            raise ValueError("bitget reply is an error")
        return envelope.data if to_page is None else to_page(envelope.data)

    def coinw(body: bytes) -> Any:
        envelope = coinw_decoder.decode(body)
        if str(envelope.code) != "0":
            raise ValueError("coinw reply is an error")
        return envelope.data or []

    return bitget, coinw


def default_transport() -> Any:
    """A new instance of the transport a client builds when given none (the lean one)."""
    return sdk_transport("lean")


def sdk_transport(kind: str, ssl_context: ssl.SSLContext | None = None) -> Any:
    """A new SDK transport by name (``"lean"``, ``"aiohttp"``), trusting ``ssl_context``'s CAs;
    the caller closes it (``aclose``)."""
    if kind == "aiohttp":
        from exchange_async._core.transport.aiohttp import AiohttpTransport

        return AiohttpTransport(ssl_context=ssl_context)
    from exchange_async._core.transport.lean import LeanTransport

    return LeanTransport(ssl_context=ssl_context)


async def fleet_committer(url: str, name: str, max_events: int) -> tuple[Any, Any]:
    """``(commit, close)``: ``await commit(events)`` runs fleet ``name``'s commit script for
    account ``"acc"`` (lease checked, checkpoint moved, events appended) under a lease taken
    here, as a worker does after each snapshot with changes; ``await close()`` ends it."""
    import exchange_async as ea
    from exchange_async.fleet.checkpoints import Checkpoints
    from exchange_async.fleet.connection import connect
    from exchange_async.fleet.leases import Leases

    fleet = ea.Fleet(url, name=name, shards=1)
    client = connect(url, timeout=5.0)
    [lease] = await Leases(client, fleet.keys, name, ttl=600.0, margin=1.0, shards=1).acquire(1)
    checkpoints = Checkpoints(client, fleet.keys, name, maxlen=max_events)

    async def commit(events: list[Any]) -> Any:
        return await checkpoints.commit(lease, "acc", events)

    async def close() -> None:
        await client.aclose(close_connection_pool=True)

    return commit, close
