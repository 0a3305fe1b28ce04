"""Comparing two snapshots of an account's orders: pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .events import Order

__all__ = ["SnapshotDiff", "changed_fields", "diff_snapshots"]


def changed_fields(before: Order, after: Order) -> tuple[str, ...]:
    """The names of the fields whose values differ, in declaration order."""
    return tuple(
        name for name in before.__struct_fields__ if getattr(before, name) != getattr(after, name)
    )


@dataclass(frozen=True, slots=True)
class SnapshotDiff:
    """What changed between two snapshots (each list ordered as its snapshot lists them)."""

    opened: list[tuple[str, Order]] = field(default_factory=list)
    changed: list[tuple[str, Order, Order, tuple[str, ...]]] = field(default_factory=list)
    closed: list[tuple[str, Order]] = field(default_factory=list)


def diff_snapshots(before: Mapping[str, Order], after: Mapping[str, Order]) -> SnapshotDiff:
    """Orders opened (in ``after``'s order), changed, and closed (in ``before``'s order)."""
    result = SnapshotDiff()
    for key, order in after.items():
        old = before.get(key)
        if old is None:
            result.opened.append((key, order))
        elif old != order:
            result.changed.append((key, old, order, changed_fields(old, order)))
    result.closed.extend((key, order) for key, order in before.items() if key not in after)
    return result
