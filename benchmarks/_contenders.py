"""The clients the request benchmarks compare, each behind one small interface.

A contender opens one caller per account (each its own client, as a user with many accounts
would run them); ``call()`` fetches the 50-row Bitget page and decodes it, ``close()`` frees it.
Peers that are not installed are reported as skipped with the reason, never faked.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import yarl

import exchange_async as ea

from ._sdk import sdk_transport
from ._sim import BITGET_PATH

__all__ = ["CONTENDERS", "Caller", "Contender", "credentials", "skip_reason"]

QUERY = {"limit": "50", "productType": "USDT-FUTURES"}
QUERY_STRING = "limit=50&productType=USDT-FUTURES"


@dataclass(frozen=True, slots=True)
class Caller:
    """One account's client: ``call()`` does one request and decodes it."""

    call: Callable[[], Awaitable[int]]
    """Returns the number of rows decoded (a cheap check that the reply was read)."""
    close: Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Contender:
    """A client library under test."""

    name: str
    open: Callable[[str, int, ssl.SSLContext | None], Awaitable[Caller]]
    """``open(base_url, account_index, tls)``: ``tls`` trusts the server's CA (https only)."""
    self_paced: bool
    """True when the library keeps the endpoint's rate itself (the SDK); peers are paced by
    the benchmark with a sleep to the same schedule."""
    module: str | None = None
    """The module that must import for the contender to run."""


def credentials(index: int) -> tuple[str, str, str]:
    """``(api_key, secret_key, passphrase)`` of benchmark account ``index``."""
    return f"bench-key-{index:05d}", f"bench-secret-{index:05d}", "bench-pass"


def bitget_headers(key: str, secret: bytes, passphrase: str) -> dict[str, str]:
    """Bitget's auth headers for the tracking-orders GET, signed by hand."""
    timestamp = str(int(time.time() * 1000))
    prehash = f"{timestamp}GET{BITGET_PATH}?{QUERY_STRING}".encode()
    sign = base64.b64encode(hmac.new(secret, prehash, hashlib.sha256).digest()).decode()
    return {
        "ACCESS-KEY": key,
        "ACCESS-SIGN": sign,
        "ACCESS-TIMESTAMP": timestamp,
        "ACCESS-PASSPHRASE": passphrase,
        "Content-Type": "application/json",
        "locale": "en-US",
    }


def sdk_opener(kind: str) -> Callable[[str, int, ssl.SSLContext | None], Awaitable[Caller]]:
    """This SDK on transport ``kind``: one `ea.BitgetClient` per account, paced by itself."""

    async def open_sdk(base_url: str, index: int, tls: ssl.SSLContext | None) -> Caller:
        creds = ea.BitgetCredentials(*credentials(index))
        own = sdk_transport(kind, tls) if tls is not None else None
        client = ea.BitgetClient(creds, base_url=base_url, transport=own or kind)

        async def call() -> int:
            page = await client.get_current_tracking_orders("USDT-FUTURES", limit=50)
            return len(page.tracking_list)

        async def close() -> None:
            await client.close()
            if own is not None:  # a transport given to a client is the giver's to close
                await own.aclose()

        return Caller(call, close)

    return open_sdk


async def open_raw(base_url: str, index: int, tls: ssl.SSLContext | None) -> Caller:
    """Raw aiohttp + ``json.loads``, signed by hand: one ``ClientSession`` per account."""
    key, secret, passphrase = credentials(index)
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls or True))
    url = yarl.URL(f"{base_url}{BITGET_PATH}?{QUERY_STRING}", encoded=True)
    secret_bytes = secret.encode()

    async def call() -> int:
        headers = bitget_headers(key, secret_bytes, passphrase)
        async with session.get(url, headers=headers) as response:
            body = await response.read()
        payload = json.loads(body)
        if payload["code"] != "00000":
            raise RuntimeError(f"error reply {payload['code']}")
        return len(payload["data"]["trackingList"])

    return Caller(call, session.close)


def ccxt_bitget(base_url: str, index: int, *, enable_rate_limit: bool) -> Any:
    """A ``ccxt.async_support.bitget`` of account ``index`` with every API url at ``base_url``."""
    import ccxt.async_support as ccxt_async  # type: ignore[import-untyped, unused-ignore]

    key, secret, passphrase = credentials(index)
    exchange = ccxt_async.bitget(
        {
            "apiKey": key,
            "secret": secret,
            "password": passphrase,
            "enableRateLimit": enable_rate_limit,
        }
    )
    exchange.urls["api"] = dict.fromkeys(exchange.urls["api"], base_url)
    return exchange


async def open_ccxt(base_url: str, index: int, tls: ssl.SSLContext | None) -> Caller:
    """ccxt's implicit Bitget method with its own limiter off."""
    exchange = ccxt_bitget(base_url, index, enable_rate_limit=False)
    if tls is not None:
        exchange.ssl_context = tls  # read when ccxt opens its session, at the first call
    method = exchange.privateCopyGetV2CopyMixTraderOrderCurrentTrack
    params = {"productType": "USDT-FUTURES", "limit": 50}

    async def call() -> int:
        reply = await method(params)
        if reply["code"] != "00000":
            raise RuntimeError(f"error reply {reply['code']}")
        return len(reply["data"]["trackingList"])

    return Caller(call, exchange.close)


def register_pybotters_host(host: str) -> None:
    """pybotters picks its signer by the URL's host; sign Bitget's way for ``host`` too."""
    from pybotters.auth import Hosts

    Hosts.items.setdefault(host, Hosts.items["api.bitget.com"])


async def open_pybotters(base_url: str, index: int, tls: ssl.SSLContext | None) -> Caller:
    """pybotters' Client with ``apis={"bitget": [...]}`` against the local base url."""
    import pybotters

    host = yarl.URL(base_url).host
    assert host is not None
    register_pybotters_host(host)
    client = pybotters.Client(
        apis={"bitget": list(credentials(index))},
        base_url=base_url,
        connector=aiohttp.TCPConnector(ssl=tls or True),
    )

    async def call() -> int:
        async with client.get(BITGET_PATH, params=QUERY) as response:
            payload = await response.json()
        if payload["code"] != "00000":
            raise RuntimeError(f"error reply {payload['code']}")
        return len(payload["data"]["trackingList"])

    return Caller(call, client.close)


CONTENDERS: tuple[Contender, ...] = (
    Contender("exchange_async", sdk_opener("lean"), self_paced=True),
    Contender("exchange_async[aiohttp]", sdk_opener("aiohttp"), self_paced=True),
    Contender("aiohttp+json", open_raw, self_paced=False),
    Contender("ccxt", open_ccxt, self_paced=False, module="ccxt.async_support"),
    Contender("pybotters", open_pybotters, self_paced=False, module="pybotters"),
)


def skip_reason(contender: Contender) -> str | None:
    """Why ``contender`` cannot run here (``None`` when it can)."""
    if contender.module is None:
        return None
    try:
        __import__(contender.module)
    except ImportError as error:
        return f"{contender.module} is not installed ({error}); install the 'bench' extra"
    return None
