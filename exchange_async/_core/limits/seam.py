"""The seam between the request pipeline and the rate limiter (in-process or shared on Redis).

The pipeline asks for a `Permit` for the `Budget` s one request counts against, sends, and
tells the permit when the bytes leave (`Permit.sent`) or that they never will
(`Permit.release`). A refusal from the exchange pauses an account's budgets through
`Limiter.penalize`, for every client of the account (and, on Redis, every process).

Every limiter keeps the same promise: for each budget, any ``k + 1`` request starts span at
least ``k * budget.interval - budget.tolerance`` seconds (GCRA; `declarations` derives the
tolerance), so the server never counts more than ``limit.max_requests`` in any ``limit.period``
window while network jitter stays under the margin's jitter allowance. And a request never
holds a place in a *shared* budget (`Budget.shared`) while it waits for its own account's
budgets: accounts take turns at a shared limit (the backends' docstrings prove it).
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Protocol

from .declarations import RateLimit, Scope

__all__ = [
    "Budget",
    "Limiter",
    "Permit",
    "WaitGroup",
    "budgets_for",
]


@dataclass(frozen=True, slots=True)
class Budget:
    """One shared budget a request counts against: ``limit`` on ``server`` for ``owner``.

    ``owner`` is an account id (``"key:<fingerprint>"`` or ``"uid:<uid>"``) for the
    `Scope.ENDPOINT` and `Scope.ACCOUNT` scopes, and ``"ip"`` for `Scope.IP` (a shared limiter
    maps it to its egress group). ``margin`` is the safety margin, a fraction of the window.
    """

    server: str
    limit: RateLimit
    owner: str
    margin: float

    @property
    def interval(self) -> float:
        """Seconds between two request starts that keep this limit with the margin."""
        return self.limit.interval(self.margin)

    @property
    def tolerance(self) -> float:
        """Seconds a start may come before its slot (GCRA burst tolerance, with catch-up)."""
        return self.limit.tolerance(self.margin)

    @property
    def scope(self) -> Scope:
        """Who shares the budget."""
        return self.limit.scope

    @property
    def shared(self) -> bool:
        """Whether accounts share the budget (per IP): taken only once the account's are due."""
        return self.limit.scope is Scope.IP


def budgets_for(
    server: str, limits: Sequence[RateLimit], account_ids: Sequence[str], margin: float
) -> tuple[Budget, ...]:
    """The budgets of one request, narrowest scope first (the order limiters take them in).

    An account-level limit gets one budget per id in ``account_ids`` (the key fingerprint and,
    when known, the UID), so clients that know only one of them still share the limit.
    """
    keys = sorted(
        (
            (limit.scope, limit.name, owner, limit)
            for limit in limits
            for owner in (("ip",) if limit.scope is Scope.IP else sorted(set(account_ids)))
        ),
        key=lambda key: key[:3],
    )
    return tuple(Budget(server, limit, owner, margin) for _, _, owner, limit in keys)


class WaitGroup(Protocol):
    """The limiter waits of one client: closing it ends them all at once."""

    def close(self) -> None:
        """Fail every wait of this group (now and later) with `ClientClosedError`."""
        ...


class Permit(Protocol):
    """The right to start one request now."""

    def sent(self) -> Awaitable[None] | None:
        """The request's bytes are about to leave: re-date a late start. Idempotent.

        Returns None, or (a shared limiter, when the start slot passed too long ago for
        processes that share it) an awaitable to await before the bytes leave: it waits for a
        new slot, or raises `RateLimitWaitTimeout`.
        """
        ...

    def release(self) -> None:
        """End the permit (the request never left, or `sent` ran already). Idempotent."""
        ...


class Limiter(Protocol):
    """Hands out permits so that every budget keeps its interval."""

    def wait_group(self) -> WaitGroup:
        """A new group for one client's waits (see `WaitGroup.close`)."""
        ...

    async def acquire(
        self, budgets: Sequence[Budget], *, max_wait: float | None, group: WaitGroup
    ) -> Permit:
        """Wait until a request may start under every budget and reserve that start.

        Raises `RateLimitWaitTimeout` instead of waiting longer than ``max_wait`` seconds, and
        `ClientClosedError` as soon as ``group`` is closed (without spending budget where it can
        be given back).
        """
        ...

    async def penalize(self, budgets: Sequence[Budget], seconds: float) -> None:
        """Let nothing start through ``budgets`` for ``seconds`` from now (a refusal was seen)."""
        ...
