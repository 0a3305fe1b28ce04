"""The :class:`Simulator`: both venues, the arrival log, faults and the mutation driver,
behind one entry that answers one request with no HTTP library (:meth:`Simulator.handle`).

The aiohttp adapter (:mod:`exchange_async_sim.server`) sits on top and calls
:meth:`Simulator.handle`; nothing here imports it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Literal

from .accounts import DEMO_BITGET, DEMO_COINW, BitgetAccount, CoinWAccount, NumberStyle
from .arrivals import Arrival, ArrivalLog, max_in_window
from .bitget import BitgetVenue
from .coinw import CoinWVenue, is_coinw_path
from .config import SimulatorConfig
from .driver import MutationDriver
from .dynamics import Mutation
from .faults import FaultKind, FaultQueue, RandomFaults, make_fault
from .fleet import FleetAccount, add_demo_fleet
from .limits import PenaltyLevel, RateWindows
from .models import BitgetTrackingOrder, CoinWOrder
from .referee import Referee
from .wire import Incoming, Reply, incoming, text_reply

__all__ = ["SimulatedDisconnect", "Simulator"]


class SimulatedDisconnect(ConnectionResetError):
    """Raised by :meth:`Simulator.handle` for a ``disconnect`` fault: drop the connection
    without any reply (an HTTP adapter closes the socket; an in-memory transport raises)."""


class Simulator:
    """A fake Bitget and CoinW: accounts, limits, faults and data that changes over time.

    Paths under ``/v1/`` are CoinW, every other path is Bitget. Every request is logged in
    :attr:`arrivals`, refused ones and 404s included. Answer requests with :meth:`handle`
    (no sockets), or serve it with :class:`~exchange_async_sim.SimulatorServer`.

    Attributes: ``config``; ``bitget`` / ``coinw`` (the venues; ``.accounts`` maps API key to
    account, ``.endpoints`` maps path to endpoint and its rate limit); ``log`` (the arrival
    log); ``windows`` (the rate-limit windows); ``faults`` (the fault queues); ``driver``
    (the mutation driver); ``mutations`` (every :class:`Mutation` applied, in order).

    ``clock`` gives the monotonic seconds that rate windows, penalties and the arrival log
    use (default :func:`time.monotonic`); :func:`running_loop_time` makes them follow the
    running event loop, so a test on a virtual-time loop sees exact windows.
    """

    def __init__(
        self, config: SimulatorConfig | None = None, *, clock: Callable[[], float] | None = None
    ) -> None:
        self._config = config if config is not None else SimulatorConfig()
        self.clock: Callable[[], float] = clock if clock is not None else time.monotonic
        self.log = ArrivalLog(self._config.arrival_log_limit)
        self.windows = RateWindows()
        self.faults = FaultQueue()
        self.bitget = BitgetVenue(self._config, self.windows)
        self.coinw = CoinWVenue(self._config, self.windows)
        self.driver = MutationDriver(self.bitget, self.coinw)
        self._random_faults = RandomFaults(self._config.seed)
        self.referee = Referee()  # arrivals over a limit; pairs them with a client's sends

    @classmethod
    def with_demo_accounts(cls, config: SimulatorConfig | None = None) -> Simulator:
        """A simulator with :data:`DEMO_BITGET` (250 orders) and :data:`DEMO_COINW` (60)."""
        sim = cls(config)
        bitget, coinw = DEMO_BITGET, DEMO_COINW
        sim.add_bitget_account(
            api_key=bitget.api_key,
            secret_key=bitget.secret_key,
            passphrase=bitget.passphrase,
            orders=250,
        )
        sim.add_coinw_account(api_key=coinw.api_key, secret_key=coinw.secret_key, orders=60)
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
        history: int = 150,
    ) -> BitgetAccount:
        """Register a Bitget API key; generate ``orders`` current tracking orders and
        ``history`` closed ones for it. A key whose ``uid`` is already registered joins that
        account (its orders, history, cursors and limits); ``orders``/``history`` are ignored.
        """
        return self.bitget.add_account(
            api_key=api_key,
            secret_key=secret_key,
            passphrase=passphrase,
            uid=uid,
            orders=orders,
            trader=trader,
            history=history,
        )

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
        return self.coinw.add_account(
            api_key=api_key,
            secret_key=secret_key,
            user_id=user_id,
            orders=orders,
            number_style=number_style,
            permission=permission,
        )

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
        self.referee.clear()
        self.bitget.refused = self.coinw.refused = 0
        self._random_faults.served.clear()

    def reset_limits(self) -> None:
        """Empty every rate-limit window, as if no request had arrived for a minute."""
        self.windows.clear()

    def reset_penalties(self) -> None:
        """Lift every Bitget IP penalty and put every CoinW user back at the foot of the ban
        ladder (no warning, ban, blacklist or counted refusals)."""
        self.bitget.ip_penalties.clear()
        self.coinw.ladder.clear()

    def violations(self) -> dict[str, int]:
        """How many requests the simulated limits refused, by exchange: Bitget HTTP 429 (per
        UID, per IP and IP penalty) and CoinW 29001 (limits, bans, blacklist). Injected
        ``rate_limited`` faults, queued or random, are not counted."""
        return {"bitget": self.bitget.refused, "coinw": self.coinw.refused}

    def limit_violations(self, exchange: Literal["bitget", "coinw"] | None = None) -> int:
        """How many arrivals a strict exchange would have counted as over the limit.

        An arrival on a private endpoint with a known account (as logged) is over the limit
        when, counting it, more than that endpoint's limit (its row in the venue's table, or
        ``config.bitget_rate_limit`` / ``config.coinw_rate_limit`` when set; undiminished by
        penalties) arrived for that (path, account) in the sliding window ``(t - 1 s, t]`` —
        the window :meth:`max_in_window` uses. Requests refused for any reason count as
        arrivals, and so do the over-limit ones themselves. Counted on arrival, whether or
        not limits are enforced and however the log is bounded; ``exchange`` picks one.
        """
        return self.referee.count(exchange)

    def random_fault_counts(self) -> dict[str, int]:
        """How many random faults (``config.fault_rate``) were served, by kind."""
        return dict(self._random_faults.served)

    # -- penalties ---------------------------------------------------------------------------

    def coinw_penalty(self, user: str | int) -> PenaltyLevel:
        """Where the CoinW user (user id or API key) stands on the ban ladder right now:
        ``"none"``, ``"warning"`` (limits halved), ``"banned"`` or ``"blacklisted"``."""
        account = self.coinw.accounts.get(str(user))
        name = str(user) if account is None else str(account.user_id)
        return self.coinw.penalty(name, self.clock())

    def bitget_penalized(self, ip: str | None = None) -> bool:
        """Whether Bitget is refusing every request from ``ip`` (any IP when ``None``) for
        having exceeded the per-IP limit."""
        now = self.clock()
        if ip is not None:
            return self.bitget.ip_penalties.penalized(ip, now)
        return self.bitget.ip_penalties.any(now)

    # -- changing data (see MutationDriver) --------------------------------------------------

    @property
    def mutations(self) -> list[Mutation]:
        """Every mutation applied, in order (bounded by ``config.mutation_log_limit``)."""
        return self.driver.mutations

    def mutate(self, count: int = 1, *, account: str | int | None = None) -> list[Mutation]:
        """Apply ``count`` mutations now and return them (they are also in :attr:`mutations`).

        ``account`` (API key, Bitget uid or CoinW user id) takes them all; otherwise each goes
        to an account drawn from a seeded stream. A mutation opens an order, changes one, or
        closes one (see :func:`~exchange_async_sim.dynamics.mutate_bitget` and
        :func:`~exchange_async_sim.dynamics.mutate_coinw`), leaning so each account's order
        count stays near what it had when it first mutated. Synchronous: call it between
        requests, from a test or the event loop, never from another thread.
        """
        return self.driver.mutate(count, account=account)

    def mutate_round(self) -> list[Mutation]:
        """One round of the background driver: every account (Bitget uids, then CoinW user
        ids, each in registration order) gets one mutation with probability
        ``config.mutation_share`` (all of them at 1.0)."""
        return self.driver.mutate_round()

    def open_orders(self, account: str | int) -> dict[str, BitgetTrackingOrder | CoinWOrder]:
        """The orders ``account`` (API key, uid or user id) has open right now, keyed like
        :attr:`Mutation.key` (trackingNo, or CoinW id as a string): the ground truth a poller
        should converge to. Bitget: every current tracking order, all product types; CoinW:
        every unfilled order, all position types."""
        return self.driver.open_orders(account)

    @property
    def mutations_running(self) -> bool:
        """Whether the background mutation driver is running."""
        return self.driver.running

    def start_mutations(self, interval: float | None = None) -> None:
        """Start the background driver: a :meth:`mutate_round` every ``interval`` seconds
        (default: ``config.mutation_interval``, read again before each round so it can be
        changed live). Needs a running event loop; stop it with :meth:`stop_mutations`."""
        self.driver.start(interval)

    async def stop_mutations(self) -> None:
        """Stop the background driver and wait for it; re-raises what made it fail, if
        anything. Does nothing when it is not running."""
        await self.driver.stop()

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
        made = make_fault(
            fault,
            retry_after=retry_after,
            code=code,
            msg=msg,
            http_status=http_status,
            shape=shape,
            seconds=seconds,
        )
        if count < 1:
            raise ValueError("count must be at least 1")
        if not path.startswith("/"):
            raise ValueError("path must start with '/'")
        if fault == "repeat_cursor" and path not in self.bitget.endpoints:
            raise ValueError("repeat_cursor applies to Bitget cursor endpoints only")
        self.faults.add(path, made, count)

    def clear_faults(self) -> None:
        """Drop every fault not yet consumed."""
        self.faults.clear()

    # -- answering ---------------------------------------------------------------------------

    async def handle(
        self,
        method: str,
        path_qs: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        *,
        remote: str = "127.0.0.1",
        received: float | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one request without any HTTP server: ``path_qs`` is the raw request target
        (path, ``?``, query) exactly as sent, which is what signatures are checked against.

        Returns (HTTP status, response headers, body). Raises :class:`SimulatedDisconnect`
        when a ``disconnect`` fault says to drop the connection. ``remote`` is the client IP
        Bitget's per-IP limit counts. ``received`` (``time.time()`` seconds, ``None``: now)
        is when its bytes reached the host: the rate windows judge that, not this call's lag.
        """
        now = self.clock()
        lag = 0.0 if received is None else max(0.0, time.time() - received)
        request = incoming(method, path_qs, headers, body, remote=remote, time=now - lag)
        reply = await self.respond(request, lag=lag)
        if reply.disconnect:
            raise SimulatedDisconnect("simulated disconnect: no reply")
        return reply.status, {"Content-Type": reply.content_type, **reply.headers}, reply.body

    async def respond(self, request: Incoming, *, lag: float = 0.0) -> Reply:
        """Decide the reply to one parsed request and log it (:meth:`handle` calls this);
        ``lag``: seconds since ``request.time`` (its arrival) that this call comes."""
        venue: BitgetVenue | CoinWVenue = self.coinw if is_coinw_path(request.path) else self.bitget
        account, api_key = venue.identify(request)
        config = self.config
        limit = venue.limit_of(request.path)
        if account is not None and limit is not None:
            self.referee.arrive((venue.name, account, request.path), request.time, limit, lag=lag)
        self.log.limit = config.arrival_log_limit
        token = self.log.begin(
            Arrival(
                time=request.time,
                exchange=venue.name,
                path=request.path,
                account=account,
                api_key=api_key,
                query=request.raw_query,
                method=request.method,
            )
        )
        reply: Reply
        try:
            fault = self.faults.pop(request.path)
            if fault is None and config.fault_rate > 0:
                fault = self._random_faults.draw(
                    config.fault_rate, config.fault_kinds, config.fault_latency
                )
            if fault is not None and fault.kind == "delay":
                await asyncio.sleep(fault.seconds)
                fault = None
            reply = venue.handle(request, fault)
        except Exception:
            reply = text_reply(500, "Internal Server Error")
            self.log.finish(token, reply.status, "")
            raise
        self.log.finish(token, reply.status, reply.code)
        if config.latency > 0:
            await asyncio.sleep(config.latency)
        return reply
