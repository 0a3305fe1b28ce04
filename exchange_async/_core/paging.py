"""One paginator for every cursor-paged endpoint (openai-python's ``pagination.py`` style).

``await`` it for the first page, ``async for`` over it for every item, or over ``.pages()``
for every page. An endpoint supplies a `PageRule`: where a page's items and next cursor are,
and what identifies an item. The guards live here, once: paging stops with `PaginationError`
on a repeated or unusable cursor, and on a page that brings nothing new (a server that sends
the same rows under a fresh cursor would otherwise be paged forever).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .._errors import PaginationError

__all__ = ["PageRule", "Paginator"]

P = TypeVar("P")
I = TypeVar("I")  # noqa: E741

_CURSOR = re.compile(r"[A-Za-z0-9_\-.]{1,64}\Z")


def _usable(cursor: str) -> bool:
    return _CURSOR.match(cursor) is not None


@dataclass(frozen=True, slots=True)
class PageRule(Generic[P, I]):
    """How to walk one endpoint's pages: ``items(page)``, ``next_cursor(page)`` (None: the
    last page), ``key(item)`` (what makes an item the same item on another page), and
    ``usable(cursor)`` (a cursor the SDK will send back)."""

    items: Callable[[P], Sequence[I]]
    next_cursor: Callable[[P], str | None]
    key: Callable[[I], Hashable]
    usable: Callable[[str], bool] = _usable


class Paginator(Coroutine[Any, Any, P], Generic[P, I]):
    """Pages of one query. ``fetch(cursor)`` returns the page after ``cursor`` (None: first).

    Awaiting it (or handing it to ``asyncio.create_task``, like any coroutine) fetches the
    first page; the request is only made if it is awaited. Iterating it starts afresh.
    """

    __slots__ = ("_exchange", "_fetch", "_first", "_rule")

    def __init__(
        self,
        fetch: Callable[[str | None], Coroutine[Any, Any, P]],
        rule: PageRule[P, I],
        *,
        exchange: str | None = None,
    ) -> None:
        self._fetch = fetch
        self._rule = rule
        self._exchange = exchange
        self._first: Coroutine[Any, Any, P] | None = None

    def _first_page(self) -> Coroutine[Any, Any, P]:
        if self._first is None:
            self._first = self._fetch(None)
        return self._first

    def __await__(self) -> Generator[Any, None, P]:
        """The first page (one request)."""
        return self._first_page().__await__()

    def send(self, value: Any) -> Any:
        """Coroutine protocol (``asyncio.create_task(paginator)`` fetches the first page)."""
        return self._first_page().send(value)

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        """Coroutine protocol."""
        if val is None and tb is None:
            return self._first_page().throw(typ)
        return self._first_page().throw(typ, val, tb)

    def close(self) -> None:
        """Coroutine protocol: close the first-page request if it was started."""
        if self._first is not None:
            self._first.close()

    def __aiter__(self) -> AsyncIterator[I]:
        """Every item of every page, each once, in the server's order."""
        return self._items()

    async def _items(self) -> AsyncIterator[I]:
        seen: set[Hashable] = set()
        key = self._rule.key
        async for page in self.pages():
            for item in self._rule.items(page):
                k = key(item)
                if k not in seen:
                    seen.add(k)
                    yield item

    async def pages(self) -> AsyncIterator[P]:
        """Every page until one is empty or has no cursor."""
        rule = self._rule
        cursors: set[str] = set()
        seen: set[Hashable] = set()
        cursor: str | None = None
        while True:
            page = await self._fetch(cursor)
            items = rule.items(page)
            keys = {rule.key(item) for item in items}
            if cursor is not None and items and keys <= seen:
                raise self._error(f"the page after cursor {cursor!r} brought nothing new")
            seen |= keys
            yield page
            following = rule.next_cursor(page)
            if not items or following is None:
                return
            if following in cursors or not rule.usable(following):
                raise self._error(f"server sent a repeated or unusable cursor {following!r}")
            cursors.add(following)
            cursor = following

    def _error(self, what: str) -> PaginationError:
        return PaginationError(f"{what}; stopped paging", exchange=self._exchange)

    def __repr__(self) -> str:
        return f"<Paginator {self._exchange or ''}>"
