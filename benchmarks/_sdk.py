"""The ONE place the benchmarks touch SDK internals: decoding a reply body without a request,
and the default transport (to wrap it with a recorder of send times).

The SDK's public API has no "decode this body" call, so the decode benchmark reaches for the
endpoint's decoder and its model conversion; the TLS variants need a transport trusting a
private CA, which no client option takes. Those internals are being reworked; when they move,
fix :func:`sdk_decoders` and nothing else. Everything else in ``benchmarks/`` uses the public API
(``import exchange_async as ea``).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

__all__ = ["default_transport", "sdk_decoders", "sdk_transport"]


def sdk_decoders() -> tuple[Callable[[bytes], Any], Callable[[bytes], Any]]:
    """``(bitget, coinw)``: body bytes -> the public result the client call returns
    (`ea.TrackingOrdersPage`, ``list[ea.OrderInfo]``), as the SDK decodes them."""
    from exchange_async.bitget import endpoints as bitget_endpoints
    from exchange_async.bitget import models as bitget_models
    from exchange_async.coinw import endpoints as coinw_endpoints

    bitget_decoder: Any = bitget_endpoints.CURRENT_TRACK.decoder
    coinw_decoder: Any = coinw_endpoints.ORDER_INFO.decoder
    to_page: Any = getattr(bitget_models, "to_page", None)

    def bitget(body: bytes) -> Any:
        envelope = bitget_decoder.decode(body)
        if str(envelope.code) != "00000":
            raise ValueError("bitget reply is an error")
        data = envelope.data
        return to_page(data) if to_page is not None else data

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
