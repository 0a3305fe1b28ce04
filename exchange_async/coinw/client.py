"""`CoinWClient`: CoinW futures endpoints on the shared pipeline."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from functools import partial
from typing import Any, TypeVar, Unpack

from .._core.client import BaseClient
from .._core.params import check_choice, check_ids, check_token
from .._core.pipeline.options import ClientOptions, ClientOptionsDict
from .auth import CoinWCredentials, request_signer
from .endpoints import ORDER_INFO
from .errors import COINW
from .models import OrderInfo, PositionType

__all__ = ["DEFAULT_BASE_URL", "MAX_IDS_PER_REQUEST", "MAX_SOURCE_IDS", "CoinWClient"]

DEFAULT_BASE_URL = "https://api.coinw.com"
MAX_IDS_PER_REQUEST = 20
"""CoinW accepts at most 20 ``sourceIds`` per request."""
MAX_SOURCE_IDS = 10_000
"""The most ``source_ids`` one `CoinWClient.get_order_info` call takes: 500 requests of 20,
about 50 s at CoinW's 10 requests/s (an endless iterable is refused, not read forever)."""

_MAX_ORDER_ID = 2**63 - 1

T = TypeVar("T")


class CoinWClient(BaseClient):
    """An async client for one CoinW futures account.

    Every request waits for the account's share of CoinW's limits (per endpoint per user and
    IP, and 100/s per user across private futures endpoints), shared with every other client of
    the same account. The account is the API key and, when given, ``uid`` too. Keyword
    options and lifecycle are those of `BitgetClient` (``timeout``, ``retry``,
    ``rate_limit_margin``, ``max_rate_wait``, ``http_session``, ``transport``,
    ``rate_limits``, ``max_connections``, ``max_reply_bytes``, ``allow_insecure_http``,
    ``options``); a client used under a second
    ``asyncio.run()`` works on the new loop.
    """

    def __init__(
        self,
        credentials: CoinWCredentials,
        *,
        base_url: str = DEFAULT_BASE_URL,
        uid: str | int | None = None,
        options: ClientOptions | None = None,
        **keywords: Unpack[ClientOptionsDict],
    ) -> None:
        self._credentials = credentials
        self._init_pipeline(
            exchange=COINW,
            credentials=credentials,
            credentials_type=CoinWCredentials,
            signer=partial(request_signer, credentials),
            base_url=base_url,
            uid=uid,
            options=options,
            keywords=keywords,
        )

    def __repr__(self) -> str:
        return self._describe(self._credentials)

    async def get_order_info(
        self,
        position_type: PositionType | str,
        *,
        instrument: str | None = None,
        source_ids: Iterable[int | str] | None = None,
    ) -> list[OrderInfo]:
        """The account's unfilled orders of ``position_type`` (CoinW may add other types).

        ``instrument`` is a base currency, any case (``"BTC"``, ``"1000pepe"``). ``source_ids``
        narrows to those order ids; more than 20 are sent as several requests of at most 20,
        concurrently under the rate limiter, and the results merged in the order the ids were
        given, without duplicates (orders CoinW adds unasked come last); at most
        `MAX_SOURCE_IDS` (10,000) ids, counted before duplicates are dropped. An empty
        ``source_ids`` returns ``[]`` without a request. Raises `ValidationError` before
        sending anything if an argument is invalid.
        """
        params = {
            "positionType": check_choice(
                "position_type", position_type, PositionType, case_insensitive=True
            ).value
        }
        if instrument is not None:
            params["instrument"] = check_token("instrument", instrument, max_length=30).upper()
        if source_ids is None:
            return await self._order_info(params)
        ids = check_ids("source_ids", source_ids, max_id=_MAX_ORDER_ID, max_count=MAX_SOURCE_IDS)
        if not ids:
            return []
        chunks = [ids[i : i + MAX_IDS_PER_REQUEST] for i in range(0, len(ids), MAX_IDS_PER_REQUEST)]
        requests = [self._order_info({**params, "sourceIds": _join(c)}) for c in chunks]
        return _merge(ids, await _gather_or_cancel(requests))

    async def _order_info(self, params: dict[str, str]) -> list[OrderInfo]:
        return await self._pipeline.request(ORDER_INFO, params)


async def _gather_or_cancel(requests: list[Coroutine[Any, Any, T]]) -> list[T]:
    """All results in order; on the first failure the rest are cancelled and it is raised."""
    tasks = [asyncio.ensure_future(r) for r in requests]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _join(ids: list[int]) -> str:
    return ",".join(map(str, ids))


def _merge(ids: list[int], replies: list[list[OrderInfo]]) -> list[OrderInfo]:
    by_id: dict[int, OrderInfo] = {}
    for reply in replies:
        for order in reply:
            by_id.setdefault(order.id, order)
    merged = [by_id.pop(i) for i in ids if i in by_id]
    merged.extend(by_id.values())
    return merged
