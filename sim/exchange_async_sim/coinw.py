"""The simulated CoinW futures API: auth, rate limits and ``GET /v1/perpum/order``.

A private endpoint is a function ``(account, query) -> data`` registered in
``PRIVATE_ENDPOINTS`` with its documented per-user rate limit; the venue runs the shared
checks (key, signature, rate limits, bans, permission) before it, so a sibling endpoint with
its own limit is one function and one table row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import msgspec

from .accounts import CoinWAccount, NumberStyle
from .config import SimulatorConfig
from .data import coinw_user_id, generate_coinw_orders
from .faults import Fault, generic_fault_reply, retry_after_headers
from .limits import BanLadder, EndpointLimit, LadderRules, PenaltyLevel, RateWindows
from .models import CoinWOrder
from .signing import signature_matches
from .wire import NO_HEADERS, Incoming, Refusal, Reply, json_reply, plain

__all__ = [
    "MAX_SOURCE_IDS",
    "ORDER_PATH",
    "POSITION_TYPES",
    "PRIVATE_ENDPOINTS",
    "CoinWVenue",
    "Endpoint",
    "is_coinw_path",
    "render_order",
]

ORDER_PATH = "/v1/perpum/order"
POSITION_TYPES: Mapping[str, frozenset[str]] = {
    "execute": frozenset({"execute", "plan"}),
    "plan": frozenset({"plan", "planTrigger"}),
    "moveStop": frozenset({"moveStop"}),
    "stopProfitLoss": frozenset({"stopProfitLoss"}),
}
"""Each accepted ``positionType`` and the ``posType`` values it returns. ``execute`` also
returns plan orders, a quirk CoinW documents."""

_TIMESTAMP = re.compile(r"[1-9][0-9]{0,18}")
_ORDER_ID = re.compile(r"[0-9]{1,19}")
_INSTRUMENT = re.compile(r"[A-Za-z0-9_]{1,32}")
MAX_SOURCE_IDS = 20
"""The most ids ``sourceIds`` may hold; more is refused with 9016."""


def is_coinw_path(path: str) -> bool:
    """Whether a request path belongs to the simulated CoinW (everything under ``/v1/``)."""
    return path.startswith("/v1/")


def _decimal_text(value: Decimal | None) -> Any:
    return None if value is None else plain(value)


def _decimal_number(value: Decimal | None) -> Any:
    return None if value is None else msgspec.Raw(plain(value).encode())


def _int_text(value: int | None) -> Any:
    return None if value is None else str(value)


def _int_number(value: int | None) -> Any:
    return value


def render_order(order: CoinWOrder, style: NumberStyle) -> dict[str, Any]:
    """An order as CoinW sends it.

    ``"numbers"``: numeric fields are JSON numbers, written digit for digit (ids as exact
    integers), except fee, frozenFee, makerFee and takerFee, which are strings as in CoinW's
    example. ``"strings"``: every numeric field is a JSON string, ids included.
    """
    strings = style == "strings"
    dec, integer = (_decimal_text, _int_text) if strings else (_decimal_number, _int_number)
    row: dict[str, Any] = {
        "baseSize": dec(order.base_size),
        "contractType": integer(order.contract_type),
        "createdDate": integer(order.created_date),
        "currentPiece": dec(order.current_piece),
        "direction": order.direction,
        "fee": plain(order.fee),
        "frozenFee": plain(order.frozen_fee),
        "id": integer(order.id),
        "indexPrice": dec(order.index_price),
        "instrument": order.instrument,
        "leverage": integer(order.leverage),
        "liquidateBy": order.liquidate_by,
        "makerFee": plain(order.maker_fee),
        "margin": dec(order.margin),
        "orderPrice": dec(order.order_price),
        "orderStatus": order.order_status,
        "originalType": order.original_type,
        "posType": order.pos_type,
        "positionMargin": dec(order.position_margin),
        "positionModel": integer(order.position_model),
        "quantity": dec(order.quantity),
        "quantityUnit": integer(order.quantity_unit),
        "source": order.source,
        "status": order.status,
        "stopLossOrderPrice": dec(order.stop_loss_order_price),
        "stopLossPrice": dec(order.stop_loss_price),
        "stopLossRate": dec(order.stop_loss_rate),
        "stopProfitOrderPrice": dec(order.stop_profit_order_price),
        "stopProfitPrice": dec(order.stop_profit_price),
        "stopProfitRate": dec(order.stop_profit_rate),
        "takerFee": plain(order.taker_fee),
        "thirdOrderId": order.third_order_id,
        "totalPiece": dec(order.total_piece),
        "triggerPrice": dec(order.trigger_price),
        "triggerType": integer(order.trigger_type),
        "updatedDate": integer(order.updated_date),
        "userId": integer(order.user_id),
    }
    for name in order.omitted:
        row.pop(name, None)
    return row


def open_orders(account: CoinWAccount, query: Mapping[str, str]) -> list[dict[str, Any]]:
    """``GET /v1/perpum/order``: the account's unfilled orders, newest first.

    Filters: ``positionType`` (required; see :data:`POSITION_TYPES`), ``instrument`` (base
    currency, any case), ``sourceIds`` (comma-separated ids, at most 20; only those orders).
    """
    position_type = query.get("positionType", "")
    if not position_type:
        raise Refusal("402", "parameter missing", 200)
    pos_types = POSITION_TYPES.get(position_type)
    if pos_types is None:
        raise Refusal("9016", "bad parameter", 200)
    wanted: set[int] | None = None
    source_ids = query.get("sourceIds", "")
    if source_ids:
        parts = [part.strip() for part in source_ids.split(",") if part.strip()]
        if len(parts) > MAX_SOURCE_IDS:
            raise Refusal("9016", "bad parameter", 200)
        if not all(_ORDER_ID.fullmatch(part) for part in parts):
            raise Refusal("904", "parameter verification failed", 400)
        wanted = {int(part) for part in parts}
    instrument = query.get("instrument", "") or None
    if instrument is not None:
        if not _INSTRUMENT.fullmatch(instrument):
            raise Refusal("9001", "contract not found", 200)
        instrument = instrument.upper()
    rows = [
        order
        for order in account.orders.values()
        if order.is_open
        and order.pos_type in pos_types
        and (instrument is None or order.instrument.upper() == instrument)
        and (wanted is None or order.id in wanted)
    ]
    rows.sort(key=lambda order: (order.created_date, order.id), reverse=True)
    return [render_order(order, account.number_style) for order in rows]


EndpointFn = Callable[[CoinWAccount, Mapping[str, str]], Any]

BANNED_MSG = "API access frequently, banned"
BLACKLISTED_MSG = "API access frequently, blacklisted"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A private CoinW futures endpoint: its handler, documented per-user limit and method."""

    handler: EndpointFn
    limit: EndpointLimit
    method: str = "GET"


PRIVATE_ENDPOINTS: Mapping[str, Endpoint] = {
    ORDER_PATH: Endpoint(open_orders, EndpointLimit(10)),
}
"""Private CoinW futures endpoints by path, each with its documented limit per user."""


class CoinWVenue:
    """CoinW's side of the simulator: accounts, limits and request handling.

    Rate accounting counts every arrival that passed authentication, refused ones included:
    per user per endpoint (the endpoint's row in :attr:`endpoints`, or
    ``config.coinw_rate_limit`` when set) and per user across all private endpoints
    (``config.coinw_global_limit`` per second), each in a sliding window. Injected faults on
    a private path count in the windows of the key they carry, when it is known. Replies are
    HTTP 200 unless stated (CoinW answers most errors so).

    The ban ladder (:class:`~exchange_async_sim.limits.BanLadder`, numbers from
    :class:`SimulatorConfig`): in the warning phase both of the user's limits are halved; a
    banned or blacklisted user gets 29001 ``"API access frequently, banned"`` /
    ``"..., blacklisted"`` on every request. Only refusals by the limits count towards the
    ladder, not those of a ban. ``refused`` counts the 29001 replies the limits, bans and
    blacklists caused (injected ``rate_limited`` faults not included).
    """

    name = "coinw"

    def __init__(self, config: SimulatorConfig, windows: RateWindows) -> None:
        self.config = config
        self.windows = windows
        self.endpoints: dict[str, Endpoint] = dict(PRIVATE_ENDPOINTS)
        """This venue's private endpoints (a copy of :data:`PRIVATE_ENDPOINTS`)."""
        self.accounts: dict[str, CoinWAccount] = {}
        self.ladder = BanLadder()
        self.refused = 0
        self._auto_ids = 0

    def add_account(
        self,
        *,
        api_key: str,
        secret_key: str,
        user_id: int | None = None,
        orders: int = 60,
        number_style: NumberStyle = "numbers",
        permission: bool = True,
    ) -> CoinWAccount:
        """Register a key; see :meth:`Simulator.add_coinw_account`."""
        if api_key in self.accounts:
            raise ValueError("that CoinW api_key is already registered")
        if number_style not in ("numbers", "strings"):
            raise ValueError("number_style must be 'numbers' or 'strings'")
        if user_id is None:
            taken = {account.user_id for account in self.accounts.values()}
            user_id = coinw_user_id(self.config.seed, self._auto_ids)
            while user_id in taken:
                self._auto_ids += 1
                user_id = coinw_user_id(self.config.seed, self._auto_ids)
            self._auto_ids += 1
        account = CoinWAccount(
            api_key=api_key,
            secret_key=secret_key,
            user_id=user_id,
            number_style=number_style,
            permission=permission,
            orders=generate_coinw_orders(self.config.seed, user_id, orders),
        )
        self.accounts[api_key] = account
        return account

    def limit_of(self, path: str) -> EndpointLimit | None:
        """The per-user limit of ``path`` (``None`` when it is not a private endpoint)."""
        endpoint = self.endpoints.get(path)
        if endpoint is None:
            return None
        override = self.config.coinw_rate_limit
        if override is None:
            return endpoint.limit
        return EndpointLimit(override, endpoint.limit.window)

    def penalty(self, user: str, t: float) -> PenaltyLevel:
        """The ban-ladder phase of ``user`` (user id as a string) at monotonic time ``t``."""
        return self.ladder.level(user, t)

    def _rules(self) -> LadderRules:
        config = self.config
        return LadderRules(
            threshold=config.coinw_ban_threshold,
            window=config.coinw_ban_window,
            warning_seconds=config.coinw_warning_seconds,
            ban_seconds=config.coinw_ban_seconds,
            blacklist_bans=config.coinw_blacklist_bans,
            blacklist_window=config.coinw_blacklist_window,
            blacklist_seconds=config.coinw_blacklist_seconds,
        )

    @staticmethod
    def error(
        code: int, msg: str, status: int = 200, headers: Mapping[str, str] = NO_HEADERS
    ) -> Reply:
        """CoinW's usual error shape: ``{"code", "data": null, "msg"}``."""
        return json_reply(status, {"code": code, "data": None, "msg": msg}, str(code), headers)

    @staticmethod
    def error_message_shape(code: int | str, message: str, status: int = 200) -> Reply:
        """CoinW's other error shape: ``{"code", "message", "retry": false, "success": false}``."""
        payload = {"code": code, "message": message, "retry": False, "success": False}
        return json_reply(status, payload, str(code))

    def identify(self, incoming: Incoming) -> tuple[str | None, str | None]:
        """(user id, api key) a request claims, before any check."""
        key = incoming.headers.get("api_key") or None
        account = None if key is None else self.accounts.get(key)
        return (None if account is None else str(account.user_id)), key

    def _count(self, account: CoinWAccount, path: str, t: float) -> bool:
        """Count an arrival in the user's windows; whether it is over a (penalised) limit."""
        user = str(account.user_id)
        own = self.limit_of(path) or EndpointLimit(self.config.coinw_global_limit)
        per_endpoint = self.windows.hit(("coinw", user, path), t, own.window)
        overall = self.windows.hit(("coinw-user", user), t, 1.0)
        if not self.config.enforce_limits:
            return False
        limit, global_limit = own.requests, self.config.coinw_global_limit
        if self.penalty(user, t) != "none":
            limit, global_limit = max(limit // 2, 1), max(global_limit // 2, 1)
        return per_endpoint > limit or overall > global_limit

    def handle(self, incoming: Incoming, fault: Fault | None) -> Reply:
        """Answer one request; a ``fault`` (other than ``delay``) replaces the normal reply."""
        endpoint = self.endpoints.get(incoming.path)
        if fault is not None:
            claimed = self.accounts.get(incoming.headers.get("api_key", ""))
            if endpoint is not None and claimed is not None:
                self._count(claimed, incoming.path, incoming.time)
            return generic_fault_reply(fault) or self.fault_reply(fault)
        if endpoint is None or incoming.method != endpoint.method:
            return json_reply(404, {"code": 404, "msg": "not found"}, "404")
        account = self._authenticate(incoming)
        if isinstance(account, Reply):
            return account
        user = str(account.user_id)
        over = self._count(account, incoming.path, incoming.time)
        if self.config.enforce_limits:
            level = self.penalty(user, incoming.time)
            if level in ("banned", "blacklisted"):
                self.refused += 1
                return self.error(29001, BANNED_MSG if level == "banned" else BLACKLISTED_MSG)
        if over:
            self.refused += 1
            self.ladder.refused(user, incoming.time, self._rules())
            return self.error(29001, "API access frequently")
        if not account.permission:
            return self.error_message_shape(6003, "require more permission")
        try:
            data = endpoint.handler(account, incoming.query)
        except Refusal as refusal:
            return self.error(int(refusal.code), refusal.msg, refusal.status)
        return json_reply(200, {"code": 0, "data": data, "msg": ""}, "0")

    def _authenticate(self, incoming: Incoming) -> CoinWAccount | Reply:
        """The account a request is signed for, or the CoinW error refusing it."""
        account = self.accounts.get(incoming.headers.get("api_key", ""))
        if account is None:
            return self.error(6000, "authentication error")
        timestamp = incoming.headers.get("timestamp", "")
        signature = incoming.headers.get("sign", "")
        if not _TIMESTAMP.fullmatch(timestamp) or not signature_matches(
            signature,
            account.secret_key,
            timestamp,
            incoming.method,
            incoming.target,
            incoming.body,
        ):
            return self.error(6001, "invalid signature")
        return account

    def fault_reply(self, fault: Fault) -> Reply:
        """The CoinW-shaped reply of a ``rate_limited``, ``code`` or ``malformed`` fault."""
        if fault.kind == "rate_limited":
            return self.error(29001, "API access frequently", headers=retry_after_headers(fault))
        if fault.kind == "code":
            raw = fault.code or "6003"
            code: int | str = int(raw) if raw.lstrip("-").isdigit() else raw
            msg = fault.msg or "injected error"
            shape = fault.shape or ("message" if code == 6003 else "msg")
            if shape == "message":
                return self.error_message_shape(code, msg, fault.http_status)
            payload = {"code": code, "data": None, "msg": msg}
            return json_reply(fault.http_status, payload, str(code))
        if fault.kind == "malformed":
            return Reply(200, b'{"code":0,"data":', "")
        raise ValueError(f"no CoinW reply for fault {fault.kind!r}")
