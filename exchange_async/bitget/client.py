"""`BitgetClient`: Bitget copy-trading endpoints on the shared pipeline."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import datetime

import aiohttp

from .._core.client import BaseClient
from .._core.params import check_choice, check_flag, check_int_range, check_token, to_ms
from .._core.retry import RetryPolicy
from .._errors import DecodeError, ValidationError
from .auth import BitgetCredentials, auth_headers
from .endpoints import CURRENT_TRACK, SERVER_TIME
from .errors import BITGET
from .models import ProductType, TrackingOrder, TrackingOrdersPage, to_page

__all__ = ["DEFAULT_BASE_URL", "BitgetClient", "PaginationError"]

DEFAULT_BASE_URL = "https://api.bitget.com"

TimeArg = int | datetime | None

_CURSOR = re.compile(r"[A-Za-z0-9_\-.]{1,64}\Z")


class PaginationError(DecodeError):
    """The server sent back a cursor it had already sent: paging stops instead of looping."""


class BitgetClient(BaseClient):
    """An async client for one Bitget account.

    Every request waits for the account's share of Bitget's limits (per endpoint per UID, and
    6000/min per IP), shared with every other client of the same account on the event loop.
    The account is identified by ``uid`` when given (so several keys of one UID share a
    budget), else by the API key.

    Keyword options: ``timeout`` (seconds per attempt), ``retry`` (a `RetryPolicy`),
    ``rate_limit_margin`` (fraction under each limit, default 0.05), ``max_rate_wait``
    (raise instead of queueing longer), ``session`` (share an ``aiohttp.ClientSession``; not
    closed by the client), ``demo_trading`` (send Bitget's ``paptrading: 1`` header),
    ``allow_insecure_http`` (allow a plain ``http://`` ``base_url`` to a non-loopback host).
    """

    def __init__(
        self,
        credentials: BitgetCredentials,
        *,
        base_url: str = DEFAULT_BASE_URL,
        uid: str | int | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        rate_limit_margin: float = 0.05,
        max_rate_wait: float | None = None,
        session: aiohttp.ClientSession | None = None,
        demo_trading: bool = False,
        allow_insecure_http: bool = False,
    ) -> None:
        self._credentials = credentials
        self._demo_trading = check_flag("demo_trading", demo_trading)
        self._init_session(
            exchange=BITGET,
            credentials=credentials,
            credentials_type=BitgetCredentials,
            signer=self._sign,
            base_url=base_url,
            uid=uid,
            timeout=timeout,
            retry=retry,
            rate_limit_margin=rate_limit_margin,
            max_rate_wait=max_rate_wait,
            session=session,
            allow_insecure_http=allow_insecure_http,
            server_time=self.get_server_time,
        )

    def _sign(self, timestamp_ms: int, method: str, path_qs: str, body: str) -> dict[str, str]:
        headers = auth_headers(self._credentials, timestamp_ms, method, path_qs, body)
        headers["Content-Type"] = "application/json"
        if self._demo_trading:
            headers["paptrading"] = "1"
        return headers

    def __repr__(self) -> str:
        return f"BitgetClient({self._credentials!r}, base_url={self.base_url!r})"

    async def get_server_time(self) -> int:
        """Bitget's clock, Unix ms (public; used to correct the request timestamps)."""
        data = await self._session.request(SERVER_TIME, {})
        if data is None:
            raise DecodeError("server time reply had no data", exchange="bitget")
        return data.server_time

    async def get_current_tracking_orders(
        self,
        product_type: ProductType | str,
        *,
        symbol: str | None = None,
        start_time: TimeArg = None,
        end_time: TimeArg = None,
        limit: int | None = None,
        id_less_than: str | int | None = None,
        id_greater_than: str | int | None = None,
    ) -> TrackingOrdersPage:
        """One page of the trader's current tracking orders, newest first.

        ``limit`` is 1..50 (Bitget's default 20). Pass a page's ``end_id`` as ``id_less_than``
        for the next older page. Times are Unix ms or aware datetimes (open time of the copy
        trade). Raises `ValidationError` before sending anything if an argument is invalid.
        """
        params = _track_params(product_type, symbol, start_time, end_time)
        if limit is not None:
            params["limit"] = str(check_int_range("limit", limit, 1, 50))
        if id_less_than is not None and id_greater_than is not None:
            raise ValidationError("pass id_less_than or id_greater_than, not both")
        if id_less_than is not None:
            params["idLessThan"] = check_token("id_less_than", id_less_than)
        if id_greater_than is not None:
            params["idGreaterThan"] = check_token("id_greater_than", id_greater_than)
        data = await self._session.request(CURRENT_TRACK, params)
        return to_page(data)

    def iter_current_tracking_order_pages(
        self,
        product_type: ProductType | str,
        *,
        symbol: str | None = None,
        start_time: TimeArg = None,
        end_time: TimeArg = None,
        page_size: int = 50,
    ) -> AsyncIterator[TrackingOrdersPage]:
        """Every page of current tracking orders, newest first, following ``endId`` cursors.

        Stops after an empty page or a page without a cursor. Raises `PaginationError` if the
        server repeats a cursor (it would otherwise loop forever).
        """
        params = _track_params(product_type, symbol, start_time, end_time)
        params["limit"] = str(check_int_range("page_size", page_size, 1, 50))
        return self._pages(params)

    async def _pages(self, params: dict[str, str]) -> AsyncIterator[TrackingOrdersPage]:
        used: set[str] = set()
        while True:
            data = await self._session.request(CURRENT_TRACK, params)
            page = to_page(data)
            yield page
            cursor = page.end_id
            if not page.tracking_list or cursor is None:
                return
            if cursor in used or not _CURSOR.match(cursor):
                raise PaginationError(
                    f"server sent a repeated or unusable cursor {cursor!r}; stopped paging",
                    exchange="bitget",
                )
            used.add(cursor)
            params = {**params, "idLessThan": cursor}

    async def iter_current_tracking_orders(
        self,
        product_type: ProductType | str,
        *,
        symbol: str | None = None,
        start_time: TimeArg = None,
        end_time: TimeArg = None,
        page_size: int = 50,
    ) -> AsyncIterator[TrackingOrder]:
        """Every current tracking order, newest to oldest, paging with ``idLessThan = endId``.

        An order seen on an earlier page is not yielded again (rows can shift between pages
        while orders open).
        """
        pages = self.iter_current_tracking_order_pages(
            product_type,
            symbol=symbol,
            start_time=start_time,
            end_time=end_time,
            page_size=page_size,
        )
        seen: set[str] = set()
        async for page in pages:
            for order in page.tracking_list:
                if order.tracking_no not in seen:
                    seen.add(order.tracking_no)
                    yield order


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
