"""The :class:`Simulator`: accounts of both exchanges, the arrival log, faults, dispatch."""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING, Literal

from .accounts import DEMO_BITGET, DEMO_COINW, BitgetAccount, CoinWAccount, NumberStyle
from .bitget import PRIVATE_ENDPOINTS as BITGET_PRIVATE
from .bitget import BitgetVenue
from .coinw import PRIVATE_ENDPOINTS as COINW_PRIVATE
from .coinw import CoinWVenue, PenaltyLevel, is_coinw_path
from .config import SimulatorConfig
from .data import bitget_uid, coinw_user_id, generate_bitget_orders, generate_coinw_orders
from .dynamics import Mutation, MutationBook, mutate_bitget, mutate_coinw
from .faults import FAULT_KINDS, Fault, FaultKind, FaultQueue
from .fleet import FleetAccount, add_demo_fleet
from .models import BitgetTrackingOrder, CoinWOrder
from .ratelog import Arrival, ArrivalLog, RateWindows, max_in_window
from .replies import Incoming, Reply, text_reply

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["Simulator"]

_RANDOM_FAULTS: dict[str, Fault] = {
    kind: Fault(kind=kind)
    for kind in (
        "http_500",
        "http_502",
        "http_503",
        "html",
        "disconnect",
        "malformed",
        "rate_limited",
    )
}


class Simulator:
    """A fake Bitget and CoinW in one aiohttp application.

    Paths under ``/v1/`` are CoinW, every other path is Bitget. Every request is logged in
    :attr:`arrivals`, refused ones and 404s included. Serve it with
    :class:`~exchange_async.simulator.SimulatorServer`, or mount :attr:`app` anywhere.

    Attributes: ``config``; ``bitget`` / ``coinw`` (the venues; ``.accounts`` maps API key to
    account); ``log`` (the arrival log); ``windows`` (the rate-limit windows); ``faults``
    (the fault queues); ``mutations`` (every :class:`Mutation` applied, in order).

    Data changes only through :meth:`mutate` (called by you, or by the background driver of
    :meth:`start_mutations`, which :class:`SimulatorServer` runs when
    ``config.mutation_interval`` is set). A mutation is synchronous, so no request ever sees
    half of one. Each account mutates from its own ``random.Random`` seeded from
    ``(config.seed, exchange, uid / user id)``: equal seeds and equal calls give equal data.
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self._config = config if config is not None else SimulatorConfig()
        self.log = ArrivalLog(self._config.arrival_log_limit)
        self.windows = RateWindows()
        self.faults = FaultQueue()
        self.bitget = BitgetVenue(self._config, self.windows)
        self.coinw = CoinWVenue(self._config, self.windows)
        self.mutations: list[Mutation] = []
        self._app: web.Application | None = None
        self._bitget_auto = 0
        self._coinw_auto = 0
        self._books: dict[tuple[str, str], MutationBook] = {}
        self._account_rng = random.Random(f"{self._config.seed}:mutation-accounts")
        self._mutation_task: asyncio.Task[None] | None = None
        self._fault_rng = random.Random(self._config.seed)
        self._random_faults: dict[str, int] = {}
        self._strict = RateWindows()
        self._over_limit = {"bitget": 0, "coinw": 0}

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

    @classmethod
    def with_demo_fleet(
        cls, accounts: int = 20, config: SimulatorConfig | None = None
    ) -> tuple[Simulator, list[FleetAccount]]:
        """A simulator with ``accounts`` demo accounts, alternately Bitget (20-120 tracking
        orders each) and CoinW (10-40 open orders), and their credentials.

        Everything follows from ``config.seed``; see :class:`FleetAccount` for the names.
        """
        sim = cls(config)
        return sim, add_demo_fleet(sim, accounts)

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
        """Forget the arrival log and the counters kept on arrival (:meth:`violations`,
        :meth:`limit_violations`, :meth:`random_fault_counts`). The rate-limit windows keep
        counting (see :meth:`reset_limits`) and penalties stay (see :meth:`reset_penalties`)."""
        self.log.clear()
        self._strict.clear()
        self._over_limit = {"bitget": 0, "coinw": 0}
        self.bitget.refused = self.coinw.refused = 0
        self._random_faults.clear()

    def reset_limits(self) -> None:
        """Empty every rate-limit window, as if no request had arrived for a minute."""
        self.windows.clear()

    def reset_penalties(self) -> None:
        """Lift every Bitget IP penalty and put every CoinW user back at the foot of the ban
        ladder (no warning, ban, blacklist or counted refusals)."""
        self.bitget.ip_penalty_until.clear()
        self.coinw.penalties.clear()

    def violations(self) -> dict[str, int]:
        """How many requests the simulated limits refused, by exchange: Bitget HTTP 429 (per
        UID, per IP and IP penalty) and CoinW 29001 (limits, bans, blacklist). Injected
        ``rate_limited`` faults, queued or random, are not counted."""
        return {"bitget": self.bitget.refused, "coinw": self.coinw.refused}

    def limit_violations(self, exchange: Literal["bitget", "coinw"] | None = None) -> int:
        """How many arrivals a strict exchange would have counted as over the limit.

        An arrival on a private endpoint with a known account (as logged) is over the limit
        when, counting it, more than the per-endpoint limit (``config.bitget_rate_limit`` per
        uid, ``config.coinw_rate_limit`` per user; undiminished by penalties) arrived for that
        (path, account) in the sliding window ``(t - 1 s, t]`` — the window
        :meth:`max_in_window` uses. Requests refused for any reason count as arrivals, and
        so do the over-limit ones themselves. Counted on arrival, whether or not limits are
        enforced and however the log is bounded; ``exchange`` picks one exchange.
        """
        if exchange is None:
            return sum(self._over_limit.values())
        return self._over_limit[exchange]

    def random_fault_counts(self) -> dict[str, int]:
        """How many random faults (``config.fault_rate``) were served, by kind."""
        return dict(self._random_faults)

    # -- penalties ---------------------------------------------------------------------------

    def coinw_penalty(self, user: str | int) -> PenaltyLevel:
        """Where the CoinW user (user id or API key) stands on the ban ladder right now:
        ``"none"``, ``"warning"`` (limits halved), ``"banned"`` or ``"blacklisted"``."""
        account = self.coinw.accounts.get(str(user))
        name = str(user) if account is None else str(account.user_id)
        return self.coinw.penalty(name, time.monotonic())

    def bitget_penalized(self, ip: str | None = None) -> bool:
        """Whether Bitget is refusing every request from ``ip`` (any IP when ``None``) for
        having exceeded the per-IP limit."""
        now = time.monotonic()
        if ip is not None:
            return self.bitget.penalized(ip, now)
        return any(now < until for until in self.bitget.ip_penalty_until.values())

    # -- changing data -----------------------------------------------------------------------

    def _mutation_books(self) -> list[MutationBook]:
        """A book for every account, Bitget uids then CoinW user ids, in registration order."""
        keys: dict[tuple[str, str], None] = {}
        for bitget in self.bitget.accounts.values():
            key = ("bitget", bitget.uid)
            keys[key] = None
            if key not in self._books:
                self._books[key] = self._new_book("bitget", bitget.uid, len(bitget.orders))
        for coinw in self.coinw.accounts.values():
            key = ("coinw", str(coinw.user_id))
            keys[key] = None
            if key not in self._books:
                size = sum(order.is_open for order in coinw.orders.values())
                self._books[key] = self._new_book("coinw", key[1], size)
        return [self._books[key] for key in keys]

    def _new_book(self, exchange: Literal["bitget", "coinw"], name: str, size: int) -> MutationBook:
        rng = random.Random(f"{self.config.seed}:mutations:{exchange}:{name}")
        return MutationBook(exchange=exchange, account=name, rng=rng, target=size)

    def _resolve(self, account: str | int) -> tuple[Literal["bitget", "coinw"], str]:
        """(exchange, uid / user id) of an account named by API key, uid or user id."""
        text = str(account)
        if text in self.bitget.accounts:
            return "bitget", self.bitget.accounts[text].uid
        if text in self.coinw.accounts:
            return "coinw", str(self.coinw.accounts[text].user_id)
        found: list[tuple[Literal["bitget", "coinw"], str]] = []
        if any(a.uid == text for a in self.bitget.accounts.values()):
            found.append(("bitget", text))
        if any(str(a.user_id) == text for a in self.coinw.accounts.values()):
            found.append(("coinw", text))
        if not found:
            raise ValueError(f"no account {account!r} (API key, Bitget uid or CoinW user id)")
        if len(found) > 1:
            raise ValueError(f"{account!r} is both a Bitget uid and a CoinW user id; use a key")
        return found[0]

    def _apply(self, book: MutationBook) -> Mutation:
        now_ms = int(time.time() * 1000) + self.config.clock_offset_ms
        t = time.monotonic()
        mutation: Mutation
        if book.exchange == "bitget":
            bitget = next(a for a in self.bitget.accounts.values() if a.uid == book.account)
            mutation = mutate_bitget(book, bitget, now_ms, t)
        else:
            coinw = next(a for a in self.coinw.accounts.values() if str(a.user_id) == book.account)
            mutation = mutate_coinw(book, coinw, now_ms, t)
        log = self.mutations
        limit = self.config.mutation_log_limit
        if limit is not None and len(log) >= limit:
            del log[: len(log) - max(limit * 3 // 4, 1) + 1]
        log.append(mutation)
        return mutation

    def mutate(self, count: int = 1, *, account: str | int | None = None) -> list[Mutation]:
        """Apply ``count`` mutations now and return them (they are also in :attr:`mutations`).

        ``account`` (API key, Bitget uid or CoinW user id) takes them all; otherwise each goes
        to an account drawn from a seeded stream. A mutation opens an order, changes one, or
        closes one (see :func:`~exchange_async.simulator.dynamics.mutate_bitget` and
        :func:`~exchange_async.simulator.dynamics.mutate_coinw`), leaning so each account's
        order count stays near what it had when it first mutated. Synchronous: call it
        between requests, from a test or the event loop, never from another thread.
        """
        if count < 0:
            raise ValueError("count must not be negative")
        books = self._mutation_books()
        chosen = None
        if account is not None:
            chosen = self._books[self._resolve(account)]
        elif not books and count:
            raise ValueError("no accounts to mutate")
        return [
            self._apply(chosen if chosen is not None else self._account_rng.choice(books))
            for _ in range(count)
        ]

    def mutate_round(self) -> list[Mutation]:
        """One round of the background driver: every account (Bitget uids, then CoinW user
        ids, each in registration order) gets one mutation with probability
        ``config.mutation_share`` (all of them at 1.0)."""
        share = self.config.mutation_share
        return [
            self._apply(book)
            for book in self._mutation_books()
            if share >= 1.0 or self._account_rng.random() < share
        ]

    def open_orders(self, account: str | int) -> dict[str, BitgetTrackingOrder | CoinWOrder]:
        """The orders ``account`` (API key, uid or user id) has open right now, keyed like
        :attr:`Mutation.key` (trackingNo, or CoinW id as a string): the ground truth a poller
        should converge to. Bitget: every current tracking order, all product types; CoinW:
        every unfilled order, all position types. A new dict of the current (immutable in
        practice: mutations replace them) order records."""
        exchange, name = self._resolve(account)
        if exchange == "bitget":
            bitget = next(a for a in self.bitget.accounts.values() if a.uid == name)
            return dict(bitget.orders)
        coinw = next(a for a in self.coinw.accounts.values() if str(a.user_id) == name)
        return {str(key): order for key, order in coinw.orders.items() if order.is_open}

    @property
    def mutations_running(self) -> bool:
        """Whether the background mutation driver is running."""
        return self._mutation_task is not None and not self._mutation_task.done()

    def start_mutations(self, interval: float | None = None) -> None:
        """Start the background driver: a :meth:`mutate_round` every ``interval`` seconds
        (default: ``config.mutation_interval``, read again before each round so it can be
        changed live). Needs a running event loop; stop it with :meth:`stop_mutations`."""
        if self.mutations_running:
            raise RuntimeError("the mutation driver is already running")
        first = interval if interval is not None else self.config.mutation_interval
        if first is None or not first > 0:
            raise ValueError("start_mutations needs a positive interval (or mutation_interval)")
        self._mutation_task = asyncio.get_running_loop().create_task(
            self._drive(interval, first), name="exchange-async-simulator-mutations"
        )

    async def stop_mutations(self) -> None:
        """Stop the background driver and wait for it; re-raises what made it fail, if
        anything. Does nothing when it is not running."""
        task, self._mutation_task = self._mutation_task, None
        if task is None:
            return
        task.cancel()
        await asyncio.wait({task})
        if not task.cancelled():
            failure = task.exception()
            if failure is not None:
                raise failure

    async def _drive(self, interval: float | None, first: float) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            step = interval if interval is not None else self.config.mutation_interval or first
            due += step
            delay = due - loop.time()
            if delay < 0:
                due, delay = loop.time(), 0.0
            await asyncio.sleep(delay)
            self.mutate_round()

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

    def _random_fault(self) -> Fault | None:
        """A fault drawn with probability ``config.fault_rate`` from ``config.fault_kinds``,
        from the simulator's own ``random.Random(config.seed)`` (so runs repeat)."""
        config = self.config
        if self._fault_rng.random() >= config.fault_rate or not config.fault_kinds:
            return None
        kind = self._fault_rng.choice(config.fault_kinds)
        self._random_faults[kind] = self._random_faults.get(kind, 0) + 1
        if kind == "latency":
            return Fault(kind="delay", seconds=config.fault_latency)
        return _RANDOM_FAULTS[kind]

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
        config = self.config
        if account is not None and incoming.path in (
            COINW_PRIVATE if venue is self.coinw else BITGET_PRIVATE
        ):
            limit = config.coinw_rate_limit if venue is self.coinw else config.bitget_rate_limit
            if self._strict.hit((venue.name, account, incoming.path), incoming.time, 1.0) > limit:
                self._over_limit[venue.name] += 1
        self.log.limit = config.arrival_log_limit
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
            if fault is None and config.fault_rate > 0:
                fault = self._random_fault()
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
