"""`BitgetClient`: Bitget copy-trading endpoints on the shared pipeline."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from functools import partial
from typing import Unpack

from .._core.client import BaseClient
from .._core.paging import Paginator
from .._core.params import check_choice, check_flag, check_int_range, check_token, to_ms
from .._core.pipeline.options import ClientOptions, ClientOptionsDict
from .._errors import PaginationError, ValidationError
from .auth import BitgetCredentials, request_signer
from .endpoints import CURRENT_TRACK, HISTORY_TRACK, HISTORY_TRACK_ASC, SERVER_TIME, TRACKING_PAGES
from .errors import BITGET
from .models import (
    HistoryTrackingOrder,
    HistoryTrackingOrdersPage,
    ProductType,
    TrackingOrder,
    TrackingOrdersPage,
)

__all__ = ["DEFAULT_BASE_URL", "BitgetClient", "PaginationError", "TrackingOrderPaginator"]

DEFAULT_BASE_URL = "https://api.bitget.com"

TimeArg = int | datetime | None

TrackingOrderPaginator = Paginator[TrackingOrdersPage, TrackingOrder]
"""``await`` it for one page, ``async for`` it for every order, ``.pages()`` for every page."""


class BitgetClient(BaseClient):
    """An async client for one Bitget account.

    Every request waits for the account's share of Bitget's limits (per endpoint per UID, and
    6000/min per IP), shared with every other client of the same account. The account is
    identified by the API key and, when given, by ``uid`` too (so several keys of one UID
    share a budget).

    Keyword options: ``timeout`` (seconds per attempt), ``retry`` (a `RetryPolicy`),
    ``rate_limit_margin`` (fraction under each limit, default 0.05), ``max_rate_wait``
    (seconds; raise instead of queueing longer), ``http_session`` (share an
    ``aiohttp.ClientSession``, never closed by the client; ``session`` is its deprecated
    alias), ``transport`` (any `Transport`, e.g. `MemoryTransport` in tests;
    or ``"aiohttp"`` for aiohttp instead of the default lean HTTP/1.1 transport),
    ``rate_limits`` (where limits are kept: None in-process, a ``redis://`` URL shared by
    every process using it, or a `RedisLimiter`), ``max_connections`` (connections in the
    pool of the client's own session; 0: no limit), ``max_reply_bytes`` (bytes of the largest
    reply read, after decompression; default 8 MiB), ``demo_trading`` (send Bitget's
    ``paptrading: 1`` header), ``allow_insecure_http`` (allow a plain ``http://``
    ``base_url`` to a non-loopback host). ``options`` takes a prebuilt `ClientOptions`
    instead of those keywords (a poller shares one among its clients).

    Lifecycle: ``async with`` or ``await close()`` (idempotent; queued callers and calls
    waiting for a reply fail at once with `ClientClosedError`). A client that outlives its
    event loop (used under a second ``asyncio.run()``) works on the new loop with a fresh
    connection pool; its old pool was closed when the first loop shut down.
    """

    def __init__(
        self,
        credentials: BitgetCredentials,
        *,
        base_url: str = DEFAULT_BASE_URL,
        uid: str | int | None = None,
        demo_trading: bool = False,
        options: ClientOptions | None = None,
        **keywords: Unpack[ClientOptionsDict],
    ) -> None:
        self._credentials = credentials
        self._init_pipeline(
            exchange=BITGET,
            credentials=credentials,
            credentials_type=BitgetCredentials,
            signer=partial(request_signer, credentials),
            base_url=base_url,
            uid=uid,
            options=options,
            keywords=keywords,
            headers={"paptrading": "1"} if check_flag("demo_trading", demo_trading) else None,
        )

    def __repr__(self) -> str:
        return self._describe(self._credentials)

    async def get_server_time(self) -> int:
        """Bitget's clock, Unix ms (public; the pipeline uses it to date signed requests)."""
        return (await self._pipeline.request(SERVER_TIME, {})).server_time

    def get_current_tracking_orders(
        self,
        product_type: ProductType | str,
        *,
        symbol: str | None = None,
        start_time: TimeArg = None,
        end_time: TimeArg = None,
        limit: int | None = None,
        id_less_than: str | int | None = None,
        id_greater_than: str | int | None = None,
    ) -> TrackingOrderPaginator:
        """The trader's current tracking orders, newest first.

        ``await`` it for one page (``limit`` 1..50, Bitget's default 20; pass a page's
        ``end_id`` as ``id_less_than`` for the next older page), or ``async for`` over it for
        every order, following ``endId`` cursors. Times are Unix ms or aware datetimes (open
        time of the copy trade). Raises `ValidationError` before sending anything if an
        argument is invalid; `PaginationError` if paging makes no progress.
        """
        params = _track_params(product_type, symbol, start_time, end_time)
        _page_params(params, limit, 50, id_less_than, id_greater_than)
        return self._pipeline.paginate(CURRENT_TRACK, params, TRACKING_PAGES)

    def iter_current_tracking_orders(
        self,
        product_type: ProductType | str,
        *,
        symbol: str | None = None,
        start_time: TimeArg = None,
        end_time: TimeArg = None,
        page_size: int = 50,
    ) -> TrackingOrderPaginator:
        """Every current tracking order, newest to oldest (``async for``), each once."""
        params = _track_params(product_type, symbol, start_time, end_time)
        params["limit"] = str(check_int_range("page_size", page_size, 1, 50))
        return self._pipeline.paginate(CURRENT_TRACK, params, TRACKING_PAGES)

    def iter_current_tracking_order_pages(
        self,
        product_type: ProductType | str,
        *,
        symbol: str | None = None,
        start_time: TimeArg = None,
        end_time: TimeArg = None,
        page_size: int = 50,
    ) -> AsyncIterator[TrackingOrdersPage]:
        """Every page of current tracking orders, newest first (``.pages()`` of the above)."""
        return self.iter_current_tracking_orders(
            product_type,
            symbol=symbol,
            start_time=start_time,
            end_time=end_time,
            page_size=page_size,
        ).pages()

    def get_history_tracking_orders(
        self,
        product_type: ProductType | str,
        *,
        symbol: str | None = None,
        start_time: TimeArg = None,
        end_time: TimeArg = None,
        limit: int | None = None,
        order: str | None = None,
        id_less_than: str | int | None = None,
        id_greater_than: str | int | None = None,
    ) -> Paginator[HistoryTrackingOrdersPage, HistoryTrackingOrder]:
        """The trader's closed tracking orders (``order-history-track``): as
        `get_current_tracking_orders`, with ``limit`` 1..100 and ``order``: ``"desc"`` (newest
        first, the default) or ``"asc"`` (oldest first; iterating then pages to newer rows)."""
        params = _track_params(product_type, symbol, start_time, end_time)
        _page_params(params, limit, 100, id_less_than, id_greater_than)
        if order is not None:
            params["order"] = check_token("order", order).lower()
            if params["order"] not in ("asc", "desc"):
                raise ValidationError(f"order must be 'asc' or 'desc'; got {order!r}")
        endpoint = HISTORY_TRACK_ASC if params.get("order") == "asc" else HISTORY_TRACK
        return self._pipeline.paginate(endpoint, params, TRACKING_PAGES)

    def iter_history_tracking_orders(
        self,
        product_type: ProductType | str,
        *,
        symbol: str | None = None,
        start_time: TimeArg = None,
        end_time: TimeArg = None,
        page_size: int = 100,
    ) -> Paginator[HistoryTrackingOrdersPage, HistoryTrackingOrder]:
        """Every closed tracking order, newest to oldest (``async for``), each once."""
        params = _track_params(product_type, symbol, start_time, end_time)
        params["limit"] = str(check_int_range("page_size", page_size, 1, 100))
        return self._pipeline.paginate(HISTORY_TRACK, params, TRACKING_PAGES)


def _page_params(
    params: dict[str, str], limit: int | None, most: int, older: object, newer: object
) -> None:
    if limit is not None:
        params["limit"] = str(check_int_range("limit", limit, 1, most))
    if older is not None and newer is not None:
        raise ValidationError("pass id_less_than or id_greater_than, not both")
    if older is not None:
        params["idLessThan"] = check_token("id_less_than", older)
    if newer is not None:
        params["idGreaterThan"] = check_token("id_greater_than", newer)


def _track_params(
    product_type: ProductType | str, symbol: str | None, start_time: TimeArg, end_time: TimeArg
) -> dict[str, str]:
    params = {
        "productType": check_choice(
            "product_type", product_type, ProductType, case_insensitive=True
        ).value
    }
    if symbol is not None:
        params["symbol"] = check_token("symbol", symbol, max_length=40).upper()
    start = to_ms("start_time", start_time) if start_time is not None else None
    end = to_ms("end_time", end_time) if end_time is not None else None
    if start is not None and end is not None and start > end:
        raise ValidationError("start_time must not be after end_time")
    if start is not None:
        params["startTime"] = str(start)
    if end is not None:
        params["endTime"] = str(end)
    return params
