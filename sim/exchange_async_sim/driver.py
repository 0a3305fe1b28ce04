"""The mutation driver: which account's orders change, when, and the log of what changed.

Data changes only here, synchronously, so no request ever sees half of a mutation. Each
account mutates from its own ``random.Random`` seeded from ``(seed, exchange, uid / user
id)``: equal seeds and equal calls give equal data. The background task is optional.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Literal

from .bitget import BitgetVenue
from .coinw import CoinWVenue
from .config import SimulatorConfig
from .dynamics import Mutation, MutationBook, mutate_bitget, mutate_coinw
from .models import BitgetTrackingOrder, CoinWOrder

__all__ = ["MutationDriver"]

Exchange = Literal["bitget", "coinw"]


class MutationDriver:
    """Applies mutations to the venues' accounts and keeps :attr:`mutations`, in order."""

    def __init__(self, bitget: BitgetVenue, coinw: CoinWVenue) -> None:
        self._bitget = bitget
        self._coinw = coinw
        self.mutations: list[Mutation] = []
        self._books: dict[tuple[Exchange, str], MutationBook] = {}
        self._account_rng = random.Random(f"{self.config.seed}:mutation-accounts")
        self._task: asyncio.Task[None] | None = None

    @property
    def config(self) -> SimulatorConfig:
        """The simulator's current settings (the venues hold the live one)."""
        return self._bitget.config

    def _mutation_books(self) -> list[MutationBook]:
        """A book for every account, Bitget uids then CoinW user ids, in registration order."""
        keys: dict[tuple[Exchange, str], None] = {}
        for bitget in self._bitget.accounts.values():
            key: tuple[Exchange, str] = ("bitget", bitget.uid)
            keys[key] = None
            if key not in self._books:
                self._books[key] = self._new_book("bitget", bitget.uid, len(bitget.orders))
        for coinw in self._coinw.accounts.values():
            key = ("coinw", str(coinw.user_id))
            keys[key] = None
            if key not in self._books:
                size = sum(order.is_open for order in coinw.orders.values())
                self._books[key] = self._new_book("coinw", key[1], size)
        return [self._books[key] for key in keys]

    def _new_book(self, exchange: Exchange, name: str, size: int) -> MutationBook:
        rng = random.Random(f"{self.config.seed}:mutations:{exchange}:{name}")
        return MutationBook(exchange=exchange, account=name, rng=rng, target=size)

    def resolve(self, account: str | int) -> tuple[Exchange, str]:
        """(exchange, uid / user id) of an account named by API key, uid or user id."""
        text = str(account)
        if text in self._bitget.accounts:
            return "bitget", self._bitget.accounts[text].uid
        if text in self._coinw.accounts:
            return "coinw", str(self._coinw.accounts[text].user_id)
        found: list[tuple[Exchange, str]] = []
        if any(a.uid == text for a in self._bitget.accounts.values()):
            found.append(("bitget", text))
        if any(str(a.user_id) == text for a in self._coinw.accounts.values()):
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
            bitget = next(a for a in self._bitget.accounts.values() if a.uid == book.account)
            mutation = mutate_bitget(book, bitget, now_ms, t)
        else:
            coinw = next(a for a in self._coinw.accounts.values() if str(a.user_id) == book.account)
            mutation = mutate_coinw(book, coinw, now_ms, t)
        log = self.mutations
        limit = self.config.mutation_log_limit
        if limit is not None and len(log) >= limit:
            del log[: len(log) - max(limit * 3 // 4, 1) + 1]
        log.append(mutation)
        return mutation

    def mutate(self, count: int = 1, *, account: str | int | None = None) -> list[Mutation]:
        """Apply ``count`` mutations now; see :meth:`Simulator.mutate`."""
        if count < 0:
            raise ValueError("count must not be negative")
        books = self._mutation_books()
        chosen = None
        if account is not None:
            chosen = self._books[self.resolve(account)]
        elif not books and count:
            raise ValueError("no accounts to mutate")
        return [
            self._apply(chosen if chosen is not None else self._account_rng.choice(books))
            for _ in range(count)
        ]

    def mutate_round(self) -> list[Mutation]:
        """One round: every account gets one mutation with probability
        ``config.mutation_share``; see :meth:`Simulator.mutate_round`."""
        share = self.config.mutation_share
        return [
            self._apply(book)
            for book in self._mutation_books()
            if share >= 1.0 or self._account_rng.random() < share
        ]

    def open_orders(self, account: str | int) -> dict[str, BitgetTrackingOrder | CoinWOrder]:
        """The orders ``account`` has open right now; see :meth:`Simulator.open_orders`."""
        exchange, name = self.resolve(account)
        if exchange == "bitget":
            bitget = next(a for a in self._bitget.accounts.values() if a.uid == name)
            return dict(bitget.orders)
        coinw = next(a for a in self._coinw.accounts.values() if str(a.user_id) == name)
        return {str(key): order for key, order in coinw.orders.items() if order.is_open}

    # -- the background task -----------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the background task is running."""
        return self._task is not None and not self._task.done()

    def start(self, interval: float | None = None) -> None:
        """Start the background task; see :meth:`Simulator.start_mutations`."""
        if self.running:
            raise RuntimeError("the mutation driver is already running")
        first = interval if interval is not None else self.config.mutation_interval
        if first is None or not first > 0:
            raise ValueError("start_mutations needs a positive interval (or mutation_interval)")
        self._task = asyncio.get_running_loop().create_task(
            self._drive(interval, first), name="exchange-async-simulator-mutations"
        )

    async def stop(self) -> None:
        """Stop the background task and wait for it; re-raise what made it fail, if anything."""
        task, self._task = self._task, None
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
