"""Key names on Redis, and what one set of budgets means there (`Plan`).

``<prefix>:{<server>|<owner>}:<limit>:<scope>``: a budget, hash-tagged by account (or
``ip@<egress group>`` for a per-IP budget), so an account's budgets live on one Cluster slot.
``<tag>:procs``: the processes sharing a tag (heartbeats). ``<tag>:epoch``: the tag's epoch,
which tells a script that Redis lost its state (`scripts` docstring).
"""

from __future__ import annotations

from ..declarations import Scope
from ..seam import Budget

__all__ = ["GATHER", "Plan", "budget_key", "epoch_key", "heartbeat_key", "tag"]

_US = 1_000_000
GATHER = 1.5
"""Seconds a budget is held at most after Redis lost its state: time for every process that
sent through it to carry its sends back (`scripts`); a shorter window is held one window."""
PHASE_RESERVE, PHASE_CONFIRM, PHASE_SHARED, PHASE_SHARED_IF_DUE = range(4)
"""What the slot script does with a budget: reserve an account slot (phase 1), confirm an
account's slot as the request leaves (phase 2), take a shared slot (phase 2), take a shared
slot in phase 1 if the account's slot is now and the shared one free (both phases in one
call, the common case of an account with nothing queued)."""


def tag(prefix: str, budget: Budget, egress_group: str) -> str:
    """The hash tag of a budget: its account on its server, or the egress group for per-IP."""
    owner = f"ip@{egress_group}" if budget.limit.scope is Scope.IP else budget.owner
    return f"{prefix}:{{{budget.server}|{owner}}}"


def budget_key(prefix: str, budget: Budget, egress_group: str) -> str:
    """``<prefix>:{<server>|<owner>}:<limit name>:<scope>``: one slot per account on Cluster."""
    return f"{tag(prefix, budget, egress_group)}:{budget.limit.name}:{budget.limit.scope.name}"


def heartbeat_key(tag_: str) -> str:
    """The sorted set of the processes sharing the scope of ``tag_``."""
    return f"{tag_}:procs"


def epoch_key(tag_: str) -> str:
    """The hash holding the epoch of ``tag_`` (its id, a write counter, when state was lost)."""
    return f"{tag_}:epoch"


class Plan:
    """What one set of budgets means on Redis (cached per budgets tuple).

    ``phase``: per budget, what the slot script does with it (``PHASE_*``); a plan is built
    for phase 1 (the account budgets), and its ``confirm`` plan for phase 2 (the account
    budgets checked, the shared ones taken), None when the request has no shared budget.
    ``parts``: the sets of budgets reserved in one script call each: the whole plan on one
    Redis server; one part per hash tag on a Redis Cluster (a script touches one slot only).
    """

    __slots__ = ("budgets", "chained", "confirm", "epoch_of", "epochs", "hb_keys", "keep_ms",
                 "keys", "parts", "phase", "tags", "tags_of", "tail")  # fmt: skip

    def __init__(
        self,
        budgets: tuple[Budget, ...],
        prefix: str,
        egress: str,
        cluster: bool = False,
        phases: tuple[int, ...] | None = None,
    ) -> None:
        shared: tuple[Budget, ...] = ()
        if phases is None:  # phase 1 of a request: its account budgets
            shared = tuple(b for b in budgets if b.shared)
            account = tuple(b for b in budgets if not b.shared)
            budgets, phases = account, (PHASE_RESERVE,) * len(account)
            if not account:  # shared budgets only: one phase, straight to them
                budgets, phases, shared = shared, (PHASE_SHARED,) * len(shared), ()
            elif shared and not cluster:  # and the shared ones if the account's slot is now
                budgets, phases = account + shared, phases + (PHASE_SHARED_IF_DUE,) * len(shared)
        account_only = tuple(b for b, p in zip(budgets, phases, strict=True) if p == PHASE_RESERVE)
        self.budgets = budgets
        self.phase = phases
        self.keys = [budget_key(prefix, b, egress) for b in budgets]
        self.tags_of = [tag(prefix, b, egress) for b in budgets]  # each budget's hash tag
        self.tags = sorted(set(self.tags_of))
        self.hb_keys = [heartbeat_key(t) for t in self.tags]
        self.epochs = [epoch_key(t) for t in self.tags]
        self.epoch_of = [self.tags.index(t) + 1 for t in self.tags_of]
        self.keep_ms = [int(b.limit.period * (1 + b.margin) * 1000) + 1000 for b in budgets]
        self.tail: list[int] = []
        for b, keep, phase, epoch in zip(budgets, self.keep_ms, phases, self.epoch_of, strict=True):
            hold = min(b.interval * b.limit.max_requests - b.tolerance, GATHER)
            self.tail += [round(b.interval * _US), round(b.tolerance * _US), keep]
            self.tail += [round(hold * _US), phase, epoch]
        self.chained = [i for i, b in enumerate(budgets) if b.scope is not Scope.IP]
        self.confirm: Plan | None = None
        if shared:
            both = account_only + shared
            confirm = (PHASE_CONFIRM,) * len(account_only) + (PHASE_SHARED,) * len(shared)
            self.confirm = Plan(both, prefix, egress, cluster, confirm)
        self.parts = [self]
        if cluster and len(self.tags) > 1:
            self.parts = [self._part(tag_, prefix, egress) for tag_ in self.tags]

    def _part(self, tag_: str, prefix: str, egress: str) -> Plan:
        mine = [i for i, t in enumerate(self.tags_of) if t == tag_]
        budgets = tuple(self.budgets[i] for i in mine)
        return Plan(budgets, prefix, egress, False, tuple(self.phase[i] for i in mine))
