"""Everything an error or a log record shows of itself, for the tests that no secret is ever
shown: messages, reprs, args, attributes, chained causes and contexts, the locals of every
traceback frame, and what a logged exception shows in turn."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable, Iterator, Mapping

__all__ = ["chain", "everything_shown", "texts"]


def texts(value: object, depth: int = 0, seen: set[int] | None = None) -> Iterator[str]:
    """Every string reachable from ``value`` through containers, the repr of everything else,
    and a request or response object's headers."""
    seen = set() if seen is None else seen
    if id(value) in seen or depth > 8:
        return
    seen.add(id(value))
    if isinstance(value, str):
        yield value
    elif isinstance(value, bytes | bytearray):
        yield bytes(value).decode("latin-1")
    elif isinstance(value, Mapping):
        for key, item in list(value.items()):
            yield from texts(key, depth + 1, seen)
            yield from texts(item, depth + 1, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in list(value):
            yield from texts(item, depth + 1, seen)
    else:
        try:
            yield repr(value)
        except Exception:
            return
        headers = getattr(value, "headers", None)
        if headers is not None and headers is not value:
            yield from texts(dict(headers), depth + 1, seen)


def chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception chained to it (``__cause__`` and ``__context__``), once."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo += [current.__cause__, current.__context__]


def everything_shown(
    error: BaseException, records: Iterable[logging.LogRecord] = (), *, skip: str = ""
) -> Iterator[str]:
    """What ``error`` (its whole chain) and the log ``records`` can show anyone. Frames of the
    file ``skip`` (the calling test's ``__file__``: it holds the secrets it sent) are left out."""
    for link in chain(error):
        yield str(link)
        yield repr(link)
        yield from texts(link.args)
        yield from texts(vars(link) if hasattr(link, "__dict__") else {})
        for frame, _ in traceback.walk_tb(link.__traceback__):
            if frame.f_code.co_filename != skip:
                yield from texts(dict(frame.f_locals))
    for record in records:
        yield record.getMessage()
        yield from texts(record.args)
        if record.exc_info and record.exc_info[1] is not None:
            yield from everything_shown(record.exc_info[1], skip=skip)
