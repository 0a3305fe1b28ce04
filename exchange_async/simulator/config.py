"""The knobs of a simulated exchange: rate limits, clock skew, latency."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SimulatorConfig"]


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
    bitget_rate_limit: int = 5
    """Bitget requests per UID per endpoint in any 1-second window."""
    bitget_ip_limit_per_minute: int = 6000
    """Bitget requests per client IP, all endpoints and keys, in any 60-second window."""
    coinw_rate_limit: int = 10
    """CoinW requests per user per endpoint in any 1-second window."""
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

    def __post_init__(self) -> None:
        for name in (
            "bitget_rate_limit",
            "bitget_ip_limit_per_minute",
            "coinw_rate_limit",
            "coinw_global_limit",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.timestamp_window_ms < 0:
            raise ValueError("timestamp_window_ms must not be negative")
        if self.latency < 0:
            raise ValueError("latency must not be negative")
