"""The simulated Bitget: auth, rate limits and the copy-trading endpoints.

A private endpoint is a function ``(account, query, call) -> data`` registered in
``PRIVATE_ENDPOINTS`` with its documented per-UID rate limit; the venue runs the checks every
private Bitget call shares (headers, timestamp, key, passphrase, signature, rate limits,
trader status) before it, so a sibling endpoint of the same family, with its own limit, is
one function and one table row.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .accounts import BitgetAccount
from .bitget_history import HISTORY_PATH, generate_bitget_history, history_tracking_orders
from .bitget_query import (
    PRODUCT_TYPES,
    PrivateCall,
    cursor,
    limit_param,
    optional,
    product_type,
    time_range,
)
from .config import SimulatorConfig
from .data import bitget_uid, generate_bitget_orders
from .faults import Fault, generic_fault_reply, retry_after_headers
from .limits import EndpointLimit, IpPenalties, RateWindows
from .models import BitgetTrackingOrder
from .signing import signature_matches
from .wire import NO_HEADERS, Incoming, Refusal, Reply, json_reply, plain

__all__ = [
    "HISTORY_PATH",
    "PRIVATE_ENDPOINTS",
    "PRODUCT_TYPES",
    "SERVER_TIME_PATH",
    "TRACKING_PATH",
    "BitgetVenue",
    "Endpoint",
    "PrivateCall",
    "render_tracking_order",
]

SERVER_TIME_PATH = "/api/v2/public/time"
TRACKING_PATH = "/api/v2/copy/mix-trader/order-current-track"

_TIMESTAMP = re.compile(r"[1-9][0-9]{0,18}")


EndpointFn = Callable[[BitgetAccount, Mapping[str, str], PrivateCall], Any]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A private Bitget endpoint: its handler, its documented per-UID limit, its method, and
    whether only elite traders may call it."""

    handler: EndpointFn
    limit: EndpointLimit
    method: str = "GET"
    trader_only: bool = False


def render_tracking_order(order: BitgetTrackingOrder) -> dict[str, str]:
    """A tracking order as Bitget sends it: every field a JSON string, unset stops ``""``."""
    surplus = order.preset_stop_surplus_price
    loss = order.preset_stop_loss_price
    return {
        "trackingNo": order.tracking_no,
        "openOrderId": order.open_order_id,
        "symbol": order.symbol,
        "posSide": order.pos_side,
        "openLeverage": str(order.open_leverage),
        "openPriceAvg": plain(order.open_price_avg),
        "openTime": str(order.open_time),
        "openSize": plain(order.open_size),
        "presetStopSurplusPrice": "" if surplus is None else plain(surplus),
        "presetStopLossPrice": "" if loss is None else plain(loss),
        "openFee": plain(order.open_fee),
        "followCount": str(order.follow_count),
    }


def current_tracking_orders(
    account: BitgetAccount, query: Mapping[str, str], call: PrivateCall
) -> dict[str, Any]:
    """``GET /api/v2/copy/mix-trader/order-current-track``: a page of current tracking orders.

    Rows are newest first by (openTime, seq). ``idLessThan=C`` gives the ``limit`` rows just
    older than the row ``C`` stood for, ``idGreaterThan=C`` the ``limit`` rows just newer
    (both: the rows between, newest first). ``endId`` is the ``seq`` of the page's oldest row
    (of its newest row for an ``idGreaterThan``-only page), ``null`` for an empty page; only
    cursors this server issued to the account are accepted.
    """
    product = product_type(query)
    limit = limit_param(query, 50)
    start, end = time_range(query)
    older_than = cursor(account.cursor_positions, query, "idLessThan")
    newer_than = cursor(account.cursor_positions, query, "idGreaterThan")
    symbol = optional(query, "symbol")
    symbol = None if symbol is None else symbol.upper()

    rows = [
        order
        for order in account.orders.values()
        if order.product_type == product
        and (symbol is None or order.symbol == symbol)
        and (start is None or order.open_time >= start)
        and (end is None or order.open_time <= end)
        and (older_than is None or order.sort_key < older_than)
        and (newer_than is None or order.sort_key > newer_than)
    ]
    end_id: str | None = None
    if newer_than is not None and older_than is None:
        rows.sort(key=lambda order: order.sort_key)
        page = rows[:limit][::-1]
        last = page[0] if page else None
    else:
        rows.sort(key=lambda order: order.sort_key, reverse=True)
        page = rows[:limit]
        last = page[-1] if page else None
    if last is not None:
        account.cursor_positions[last.seq] = last.sort_key
        end_id = str(last.seq)
    if call.repeat_cursor and optional(query, "idLessThan") is not None:
        end_id = query["idLessThan"]
    return {"trackingList": [render_tracking_order(order) for order in page], "endId": end_id}


PRIVATE_ENDPOINTS: Mapping[str, Endpoint] = {
    TRACKING_PATH: Endpoint(current_tracking_orders, EndpointLimit(5), trader_only=True),
    HISTORY_PATH: Endpoint(history_tracking_orders, EndpointLimit(5), trader_only=True),
}
"""Private Bitget endpoints by path, each with its documented limit per UID."""


class BitgetVenue:
    """Bitget's side of the simulator: accounts, limits and request handling.

    Rate accounting counts every arrival, refused ones included (stricter than counting only
    accepted requests): per UID per endpoint in the endpoint's sliding window (its row in
    :attr:`endpoints`, or ``config.bitget_rate_limit`` when set), counted once the request
    has passed authentication; per client IP over every Bitget request in a sliding 60 s
    window, counted on arrival. Injected faults on a private path count in the UID window of
    the key they carry, when it is known.

    An IP that exceeds its per-minute limit is penalised: every Bitget request from it, any
    path, is refused with HTTP 429 for ``config.bitget_ip_penalty_seconds`` (checked after
    injected faults, before everything else). ``refused`` counts the 429s the limits and
    penalties caused (injected ``rate_limited`` faults not included).
    """

    name = "bitget"

    def __init__(self, config: SimulatorConfig, windows: RateWindows) -> None:
        self.config = config
        self.windows = windows
        self.endpoints: dict[str, Endpoint] = dict(PRIVATE_ENDPOINTS)
        """This venue's private endpoints (a copy of :data:`PRIVATE_ENDPOINTS`)."""
        self.accounts: dict[str, BitgetAccount] = {}
        self.ip_penalties = IpPenalties()
        self.refused = 0
        self._auto_uids = 0

    def add_account(
        self,
        *,
        api_key: str,
        secret_key: str,
        passphrase: str,
        uid: str | None = None,
        orders: int = 300,
        trader: bool = True,
        history: int = 150,
    ) -> BitgetAccount:
        """Register a key; see :meth:`Simulator.add_bitget_account`."""
        if api_key in self.accounts:
            raise ValueError("that Bitget api_key is already registered")
        existing = None
        if uid is None:
            taken = {account.uid for account in self.accounts.values()}
            uid = bitget_uid(self.config.seed, self._auto_uids)
            while uid in taken:
                self._auto_uids += 1
                uid = bitget_uid(self.config.seed, self._auto_uids)
            self._auto_uids += 1
        else:
            existing = next((a for a in self.accounts.values() if a.uid == uid), None)
        account = BitgetAccount(
            api_key=api_key, secret_key=secret_key, passphrase=passphrase, uid=uid, trader=trader
        )
        if existing is not None:
            account.orders = existing.orders
            account.cursor_positions = existing.cursor_positions
            account.history = existing.history
            account.history_cursors = existing.history_cursors
        else:
            account.orders = generate_bitget_orders(self.config.seed, uid, orders)
            account.history = generate_bitget_history(self.config.seed, uid, history)
        self.accounts[api_key] = account
        return account

    def limit_of(self, path: str) -> EndpointLimit | None:
        """The per-UID limit of ``path`` (``None`` when it is not a private endpoint)."""
        endpoint = self.endpoints.get(path)
        if endpoint is None:
            return None
        override = self.config.bitget_rate_limit
        if override is None:
            return endpoint.limit
        return EndpointLimit(override, endpoint.limit.window)

    # -- replies -----------------------------------------------------------------------------

    def now_ms(self) -> int:
        """The server clock in milliseconds (wall clock plus the configured offset)."""
        return int(time.time() * 1000) + self.config.clock_offset_ms

    def error(
        self, status: int, code: str, msg: str, headers: Mapping[str, str] = NO_HEADERS
    ) -> Reply:
        """Bitget's error shape: ``{"code", "msg", "requestTime", "data": null}``."""
        payload = {"code": code, "msg": msg, "requestTime": self.now_ms(), "data": None}
        return json_reply(status, payload, code, headers)

    def success(self, data: Any) -> Reply:
        """Bitget's success envelope around ``data``."""
        payload = {"code": "00000", "msg": "success", "requestTime": self.now_ms(), "data": data}
        return json_reply(200, payload, "00000")

    def too_many(self, headers: Mapping[str, str] = NO_HEADERS) -> Reply:
        """The rate-limit refusal: HTTP 429, code ``"429"``."""
        return self.error(429, "429", "Too Many Requests", headers)

    def identify(self, incoming: Incoming) -> tuple[str | None, str | None]:
        """(uid, api key) a request claims, before any check; no uid for public paths."""
        key = incoming.headers.get("ACCESS-KEY") or None
        if incoming.path not in self.endpoints or key is None:
            return None, key
        account = self.accounts.get(key)
        return (None if account is None else account.uid), key

    # -- handling ----------------------------------------------------------------------------

    def handle(self, incoming: Incoming, fault: Fault | None) -> Reply:
        """Answer one request; a ``fault`` (other than ``delay``) replaces the normal reply."""
        t = incoming.time
        ip = incoming.remote
        config = self.config
        ip_count = self.windows.hit(("bitget-ip", ip), t, 60.0)
        ip_over = config.enforce_limits and ip_count > config.bitget_ip_limit_per_minute
        if ip_over:
            self.ip_penalties.start(ip, t, config.bitget_ip_penalty_seconds)
        endpoint = self.endpoints.get(incoming.path)
        if fault is not None and fault.kind != "repeat_cursor":
            account = self.accounts.get(incoming.headers.get("ACCESS-KEY", ""))
            if endpoint is not None and account is not None:
                self.windows.hit(("bitget", account.uid, incoming.path), t, endpoint.limit.window)
            return generic_fault_reply(fault) or self.fault_reply(fault)
        if ip_over or (config.enforce_limits and self.ip_penalties.penalized(ip, t)):
            self.refused += 1
            return self.too_many()
        if incoming.path == SERVER_TIME_PATH and incoming.method == "GET":
            now = self.now_ms()
            payload = {"code": "00000", "msg": "success", "requestTime": now}
            return json_reply(200, {**payload, "data": {"serverTime": str(now)}}, "00000")
        if endpoint is None or incoming.method != endpoint.method:
            return json_reply(404, {"code": "40404", "msg": "Request URL NOT FOUND"}, "40404")
        return self._private(incoming, endpoint, fault is not None)

    def _authenticate(self, incoming: Incoming) -> BitgetAccount | Reply:
        """The account a request is signed for, or the Bitget error refusing it."""
        headers = incoming.headers
        key = headers.get("ACCESS-KEY", "")
        signature = headers.get("ACCESS-SIGN", "")
        timestamp = headers.get("ACCESS-TIMESTAMP", "")
        passphrase = headers.get("ACCESS-PASSPHRASE", "")
        if not key:
            return self.error(400, "40001", "ACCESS_KEY cannot be empty")
        if not signature:
            return self.error(400, "40003", "ACCESS_SIGN cannot be empty")
        if not timestamp:
            return self.error(400, "40005", "Invalid ACCESS_TIMESTAMP")
        if not passphrase:
            return self.error(400, "40011", "ACCESS_PASSPHRASE cannot be empty")
        if not _TIMESTAMP.fullmatch(timestamp):
            return self.error(400, "40005", "Invalid ACCESS_TIMESTAMP")
        if abs(int(timestamp) - self.now_ms()) > self.config.timestamp_window_ms:
            return self.error(400, "40008", "Request timestamp expired")
        account = self.accounts.get(key)
        if account is None:
            return self.error(400, "40006", "Invalid ACCESS_KEY")
        if not hmac.compare_digest(passphrase.encode(), account.passphrase.encode()):
            return self.error(400, "40012", "apikey/password is incorrect")
        if not signature_matches(
            signature,
            account.secret_key,
            timestamp,
            incoming.method,
            incoming.target,
            incoming.body,
        ):
            return self.error(400, "40009", "sign signature error")
        return account

    def _private(self, incoming: Incoming, endpoint: Endpoint, repeat_cursor: bool) -> Reply:
        account = self._authenticate(incoming)
        if isinstance(account, Reply):
            return account
        limit = self.limit_of(incoming.path) or endpoint.limit
        scope = ("bitget", account.uid, incoming.path)
        count = self.windows.hit(scope, incoming.time, limit.window)
        if self.config.enforce_limits and count > limit.requests:
            self.refused += 1
            return self.too_many()
        if endpoint.trader_only and not account.trader:
            return self.error(400, "31001", "The user is not a trader")
        try:
            data = endpoint.handler(account, incoming.query, PrivateCall(incoming, repeat_cursor))
        except Refusal as refusal:
            return self.error(refusal.status, refusal.code, refusal.msg)
        return self.success(data)

    def fault_reply(self, fault: Fault) -> Reply:
        """The Bitget-shaped reply of a ``rate_limited``, ``code`` or ``malformed`` fault."""
        if fault.kind == "rate_limited":
            return self.too_many(retry_after_headers(fault))
        if fault.kind == "code":
            code = fault.code or "45001"
            return self.error(fault.http_status, code, fault.msg or "injected error")
        if fault.kind == "malformed":
            return Reply(200, b'{"code":"00000","data":', "")
        raise ValueError(f"no Bitget reply for fault {fault.kind!r}")
