"""The :class:`Simulator`: accounts of both exchanges, the arrival log, faults, dispatch."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Literal

from .accounts import DEMO_BITGET, DEMO_COINW, BitgetAccount, CoinWAccount, NumberStyle
from .bitget import PRIVATE_ENDPOINTS as BITGET_PRIVATE
from .bitget import BitgetVenue
from .coinw import CoinWVenue, is_coinw_path
from .config import SimulatorConfig
from .data import bitget_uid, coinw_user_id, generate_bitget_orders, generate_coinw_orders
from .faults import FAULT_KINDS, Fault, FaultKind, FaultQueue
from .ratelog import Arrival, ArrivalLog, RateWindows, max_in_window
from .replies import Incoming, Reply, text_reply

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["Simulator"]


class Simulator:
    """A fake Bitget and CoinW in one aiohttp application.

    Paths under ``/v1/`` are CoinW, every other path is Bitget. Every request is logged in
    :attr:`arrivals`, refused ones and 404s included. Serve it with
    :class:`~exchange_async.simulator.SimulatorServer`, or mount :attr:`app` anywhere.

    Attributes: ``config``; ``bitget`` / ``coinw`` (the venues; ``.accounts`` maps API key to
    account); ``log`` (the arrival log); ``windows`` (the rate-limit windows); ``faults``
    (the fault queues).
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self._config = config if config is not None else SimulatorConfig()
        self.log = ArrivalLog()
        self.windows = RateWindows()
        self.faults = FaultQueue()
        self.bitget = BitgetVenue(self._config, self.windows)
        self.coinw = CoinWVenue(self._config, self.windows)
        self._app: web.Application | None = None
        self._bitget_auto = 0
        self._coinw_auto = 0

    @classmethod
    def with_demo_accounts(cls, config: SimulatorConfig | None = None) -> Simulator:
        """A simulator with :data:`DEMO_BITGET` (250 orders) and :data:`DEMO_COINW` (60)."""
        sim = cls(config)
        sim.add_bitget_account(
            api_key=DEMO_BITGET.api_key,
            secret_key=DEMO_BITGET.secret_key,
            passphrase=DEMO_BITGET.passphrase,
            orders=250,
        )
        sim.add_coinw_account(
            api_key=DEMO_COINW.api_key, secret_key=DEMO_COINW.secret_key, orders=60
        )
        return sim

    @property
    def config(self) -> SimulatorConfig:
        """The live settings; change fields in place or assign a new config."""
        return self._config

    @config.setter
    def config(self, config: SimulatorConfig) -> None:
        self._config = self.bitget.config = self.coinw.config = config

    # -- accounts ----------------------------------------------------------------------------

    def add_bitget_account(
        self,
        *,
        api_key: str,
        secret_key: str,
        passphrase: str,
        uid: str | None = None,
        orders: int = 300,
        trader: bool = True,
    ) -> BitgetAccount:
        """Register a Bitget API key; generate ``orders`` current tracking orders for it.

        A key whose ``uid`` is already registered joins that account: it shares its orders,
        cursors and rate limit, and ``orders`` is ignored.
        """
        if api_key in self.bitget.accounts:
            raise ValueError("that Bitget api_key is already registered")
        existing = None
        if uid is None:
            taken = {account.uid for account in self.bitget.accounts.values()}
            uid = bitget_uid(self.config.seed, self._bitget_auto)
            while uid in taken:
                self._bitget_auto += 1
                uid = bitget_uid(self.config.seed, self._bitget_auto)
            self._bitget_auto += 1
        else:
            existing = next((a for a in self.bitget.accounts.values() if a.uid == uid), None)
        account = BitgetAccount(
            api_key=api_key, secret_key=secret_key, passphrase=passphrase, uid=uid, trader=trader
        )
        if existing is not None:
            account.orders = existing.orders
            account.cursor_positions = existing.cursor_positions
        else:
            account.orders = generate_bitget_orders(self.config.seed, uid, orders)
        self.bitget.accounts[api_key] = account
        return account

    def add_coinw_account(
        self,
        *,
        api_key: str,
        secret_key: str,
        user_id: int | None = None,
        orders: int = 60,
        number_style: NumberStyle = "numbers",
        permission: bool = True,
    ) -> CoinWAccount:
        """Register a CoinW futures API key with ``orders`` open orders.

        ``number_style`` chooses how numeric fields are rendered; ``permission=False`` makes
        every private call answer 6003.
        """
        if api_key in self.coinw.accounts:
            raise ValueError("that CoinW api_key is already registered")
        if number_style not in ("numbers", "strings"):
            raise ValueError("number_style must be 'numbers' or 'strings'")
        if user_id is None:
            taken = {account.user_id for account in self.coinw.accounts.values()}
            user_id = coinw_user_id(self.config.seed, self._coinw_auto)
            while user_id in taken:
                self._coinw_auto += 1
                user_id = coinw_user_id(self.config.seed, self._coinw_auto)
            self._coinw_auto += 1
        account = CoinWAccount(
            api_key=api_key,
            secret_key=secret_key,
            user_id=user_id,
            number_style=number_style,
            permission=permission,
            orders=generate_coinw_orders(self.config.seed, user_id, orders),
        )
        self.coinw.accounts[api_key] = account
        return account

    # -- arrivals ----------------------------------------------------------------------------

    @property
    def arrivals(self) -> list[Arrival]:
        """Every request received, in arrival order (the live list; do not mutate it)."""
        return self.log.records

    def count(
        self,
        path: str | None = None,
        *,
        account: str | int | None = None,
        status: int | None = None,
    ) -> int:
        """How many arrivals match ``path``, ``account`` (uid, user id or key) and ``status``."""
        return sum(1 for _ in self.log.select(path, account=account, status=status))

    def max_in_window(
        self, path: str, *, account: str | int | None = None, window: float = 1.0
    ) -> int:
        """The most arrivals for ``path`` (of ``account``) in any window ``[t, t + window)``.

        Refused requests count: this is what the server saw, which is what rate limits judge.
        """
        times = [arrival.time for arrival in self.log.select(path, account=account)]
        return max_in_window(times, window)

    def reset_arrivals(self) -> None:
        """Forget the arrival log (the rate-limit windows keep counting; see
        :meth:`reset_limits`)."""
        self.log.clear()

    def reset_limits(self) -> None:
        """Empty every rate-limit window, as if no request had arrived for a minute."""
        self.windows.clear()

    # -- faults ------------------------------------------------------------------------------

    def inject(
        self,
        path: str,
        fault: FaultKind,
        *,
        count: int = 1,
        retry_after: float | None = None,
        code: str | int | None = None,
        msg: str | None = None,
        http_status: int = 200,
        shape: Literal["msg", "message"] | None = None,
        seconds: float | None = None,
    ) -> None:
        """Replace the reply to the next ``count`` requests to ``path`` with ``fault``.

        Faults apply before any check, are logged as arrivals and count in the rate windows.
        Parameters: ``rate_limited`` takes ``retry_after`` (seconds, adds ``Retry-After``);
        ``code`` takes ``code``, ``msg``, ``http_status`` and, on CoinW, ``shape``; ``delay``
        takes ``seconds`` (then the request is answered normally); ``repeat_cursor`` is Bitget
        only (a normal answer whose ``endId`` echoes the request's ``idLessThan``; a request
        without ``idLessThan`` gets a plain normal answer and still uses the fault up).
        """
        if fault not in FAULT_KINDS:
            raise ValueError(f"unknown fault {fault!r}; expected one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be at least 1")
        if not path.startswith("/"):
            raise ValueError("path must start with '/'")
        given = {
            "retry_after": retry_after is not None,
            "code": code is not None,
            "msg": msg is not None,
            "http_status": http_status != 200,
            "shape": shape is not None,
            "seconds": seconds is not None,
        }
        allowed = {
            "rate_limited": {"retry_after"},
            "code": {"code", "msg", "http_status", "shape"},
            "delay": {"seconds"},
        }.get(fault, set())
        unexpected = {name for name, present in given.items() if present} - allowed
        if unexpected:
            raise TypeError(f"fault {fault!r} takes no {', '.join(sorted(unexpected))}")
        if fault == "code" and code is None:
            raise TypeError("fault 'code' needs code=")
        if fault == "delay" and (seconds is None or seconds < 0):
            raise TypeError("fault 'delay' needs seconds= (not negative)")
        if fault == "repeat_cursor" and path not in BITGET_PRIVATE:
            raise ValueError("repeat_cursor applies to Bitget cursor endpoints only")
        self.faults.add(
            path,
            Fault(
                kind=fault,
                retry_after=retry_after,
                code=None if code is None else str(code),
                msg=msg,
                http_status=http_status,
                shape=shape,
                seconds=seconds or 0.0,
            ),
            count,
        )

    def clear_faults(self) -> None:
        """Drop every fault not yet consumed."""
        self.faults.clear()

    # -- serving -----------------------------------------------------------------------------

    @property
    def app(self) -> web.Application:
        """The aiohttp application (created on first use). An application runs on one event
        loop only; :class:`SimulatorServer` builds a fresh one with :meth:`make_app`."""
        if self._app is None:
            self._app = self.make_app()
        return self._app

    def make_app(self) -> web.Application:
        """A new aiohttp application answering every path with this simulator."""
        from .server import make_app

        return make_app(self)

    async def respond(self, incoming: Incoming) -> Reply:
        """Decide the reply to one request and log it (the app calls this for every path)."""
        venue: BitgetVenue | CoinWVenue = (
            self.coinw if is_coinw_path(incoming.path) else self.bitget
        )
        account, api_key = venue.identify(incoming)
        token = self.log.begin(
            Arrival(
                time=incoming.time,
                exchange=venue.name,
                path=incoming.path,
                account=account,
                api_key=api_key,
                query=incoming.raw_query,
                method=incoming.method,
            )
        )
        reply: Reply
        try:
            fault = self.faults.pop(incoming.path)
            if fault is not None and fault.kind == "delay":
                await asyncio.sleep(fault.seconds)
                fault = None
            reply = venue.handle(incoming, fault)
        except Exception:
            reply = text_reply(500, "Internal Server Error")
            self.log.finish(token, reply.status, "")
            raise
        self.log.finish(token, reply.status, reply.code)
        if self.config.latency > 0:
            await asyncio.sleep(self.config.latency)
        return reply
