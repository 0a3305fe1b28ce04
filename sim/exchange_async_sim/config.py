"""The knobs of a simulated exchange: rate limits, penalties, clock skew, latency, faults,
changing data."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RANDOM_FAULT_KINDS", "SimulatorConfig"]

RANDOM_FAULT_KINDS: frozenset[str] = frozenset(
    {
        "latency",
        "http_500",
        "http_502",
        "http_503",
        "html",
        "disconnect",
        "malformed",
        "rate_limited",
    }
)
"""The kinds :attr:`SimulatorConfig.fault_kinds` may name. ``latency`` delays the reply by
:attr:`SimulatorConfig.fault_latency` and then answers normally; the others are the injected
faults of the same name (see :meth:`Simulator.inject`)."""


@dataclass(slots=True)
class SimulatorConfig:
    """Settings shared by the simulated Bitget and CoinW.

    Every rate limit is a sliding window as the server sees arrivals. The simulator counts
    *every* arrival that reaches the limiter, refused ones included, which is stricter than a
    counter of accepted requests: a client that keeps pushing above the limit stays refused.

    The fields are read on every request, so a test may change them while the server runs
    (``sim.config.clock_offset_ms = 60_000``); values are validated at construction only.
    """

    seed: int = 0
    """Seed of all generated data; equal seeds give equal orders."""
    bitget_rate_limit: int | None = None
    """When set, the per-UID limit of every Bitget private endpoint (requests in its window);
    ``None`` keeps each endpoint's documented limit from the venue's table (5 per second for
    the tracking orders)."""
    bitget_ip_limit_per_minute: int = 6000
    """Bitget requests per client IP, all endpoints and keys, in any 60-second window."""
    coinw_rate_limit: int | None = None
    """When set, the per-user limit of every CoinW private endpoint; ``None`` keeps each
    endpoint's documented limit from the venue's table (10 per second for order info)."""
    coinw_global_limit: int = 100
    """CoinW requests per user across all private endpoints in any 1-second window."""
    enforce_limits: bool = True
    """When False the limiters count but never refuse."""
    clock_offset_ms: int = 0
    """The server clock is the local wall clock plus this many milliseconds."""
    timestamp_window_ms: int = 30_000
    """Bitget refuses an ``ACCESS-TIMESTAMP`` further than this from server time."""
    latency: float = 0.0
    """Seconds slept before every reply."""
    bitget_ip_penalty_seconds: float = 300.0
    """Once a client IP exceeds :attr:`bitget_ip_limit_per_minute`, every Bitget request from
    it is refused with HTTP 429 for this long (Bitget's documented 5-minute penalty)."""
    coinw_ban_threshold: int = 60
    """CoinW rate-limit refusals (29001) of one user within :attr:`coinw_ban_window` seconds
    that start the warning phase, or, during the warning phase, a ban."""
    coinw_ban_window: float = 10.0
    """Seconds over which :attr:`coinw_ban_threshold` counts 29001 replies."""
    coinw_warning_seconds: float = 300.0
    """Length of CoinW's warning phase, in which every limit of the user is halved."""
    coinw_ban_seconds: float = 30.0
    """Length of a CoinW ban: every request of the user is refused with 29001."""
    coinw_blacklist_bans: int = 10
    """Bans within :attr:`coinw_blacklist_window` that get the user blacklisted."""
    coinw_blacklist_window: float = 28_800.0
    """Seconds over which bans count towards the blacklist (8 hours)."""
    coinw_blacklist_seconds: float = 28_800.0
    """Length of a CoinW blacklisting (8 hours): every request of the user is refused."""
    fault_rate: float = 0.0
    """Probability that a request (one without a queued :meth:`Simulator.inject` fault) gets a
    random fault of one of :attr:`fault_kinds`."""
    fault_kinds: tuple[str, ...] = ("latency", "http_500", "http_503", "disconnect", "malformed")
    """The random faults to draw from, evenly; see :data:`RANDOM_FAULT_KINDS`."""
    fault_latency: float = 0.5
    """Seconds a random ``latency`` fault delays its reply."""
    mutation_interval: float | None = None
    """Seconds between rounds of the background mutation driver; ``None`` keeps the data
    static. :class:`SimulatorServer` starts and stops the driver."""
    mutation_share: float = 1.0
    """Probability that an account gets a mutation in a driver round (1.0: every account gets
    exactly one per round)."""
    mutation_log_limit: int | None = None
    """Keep at most this many :attr:`Simulator.mutations` (the oldest are dropped first);
    ``None`` keeps every one."""
    arrival_log_limit: int | None = None
    """Keep at most this many arrivals in the log (the oldest are dropped in batches, so the
    log then holds between 3/4 of this and this many); ``None`` keeps every one. Counters such
    as :meth:`Simulator.limit_violations` count on arrival and do not depend on the log."""

    def __post_init__(self) -> None:
        for name in (
            "bitget_rate_limit",
            "bitget_ip_limit_per_minute",
            "coinw_rate_limit",
            "coinw_global_limit",
        ):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.timestamp_window_ms < 0:
            raise ValueError("timestamp_window_ms must not be negative")
        for name in ("coinw_ban_threshold", "coinw_blacklist_bans"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in (
            "latency",
            "bitget_ip_penalty_seconds",
            "coinw_ban_window",
            "coinw_warning_seconds",
            "coinw_ban_seconds",
            "coinw_blacklist_window",
            "coinw_blacklist_seconds",
            "fault_latency",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ValueError("fault_rate must be between 0 and 1")
        self.fault_kinds = tuple(self.fault_kinds)
        unknown = set(self.fault_kinds) - RANDOM_FAULT_KINDS
        if unknown:
            raise ValueError(
                f"unknown fault kinds {sorted(unknown)}; expected some of "
                f"{sorted(RANDOM_FAULT_KINDS)}"
            )
        if self.fault_rate > 0 and not self.fault_kinds:
            raise ValueError("fault_rate > 0 needs at least one fault kind")
        if self.mutation_interval is not None and not self.mutation_interval > 0:
            raise ValueError("mutation_interval must be positive (or None)")
        if not 0.0 <= self.mutation_share <= 1.0:
            raise ValueError("mutation_share must be between 0 and 1")
        for name in ("mutation_log_limit", "arrival_log_limit"):
            limit = getattr(self, name)
            if limit is not None and limit < 1:
                raise ValueError(f"{name} must be at least 1 (or None)")
