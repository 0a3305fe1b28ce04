"""Did the SDK break a limit? The simulator's count set against the clients' own send times.

The simulator (the referee) dates each request when its bytes reached the host, and counts
the arrivals a strict exchange would call over a limit. The demo's clients log when they
sent each request (`sends`); the referee pairs the two (`Pairing`). The SDK broke a limit
when its send times are over one (or when arrivals over a limit have no logged send to clear
them); arrivals over a limit whose send times are within it bunched after the client let
go, and the summary says so without blaming the SDK.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .frame import counted

if TYPE_CHECKING:
    from .._sim import Pairing

__all__ = ["limit_json", "limit_lines", "limit_warning", "sdk_over_limit", "who_bunched"]


def sdk_over_limit(violations: int, pairing: Pairing | None) -> bool:
    """Whether the SDK sent more than a limit allows: its send times are over, or the
    referee counted arrivals over a limit that no logged send can clear."""
    if pairing is None:
        return violations > 0
    return bool(pairing.over_at_send) or (violations > 0 and pairing.unpaired_arrivals > 0)


def who_bunched(violations: int, pairing: Pairing) -> str:
    """``"client"``, ``"unlogged sends"`` (arrivals over a limit, and arrivals no logged send
    matches: the client sent requests its limiter never let go, e.g. a silent re-send),
    ``"after sending"``, ``"server loop"`` or ``"nobody"`` (see `Pairing.bunched`)."""
    if not pairing.over_at_send and violations and pairing.unpaired_arrivals:
        return "unlogged sends"
    return pairing.bunched


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def _who(violations: int, pairing: Pairing) -> str:
    bunched = who_bunched(violations, pairing)
    if bunched == "unlogged sends":
        return (
            f"the client: {counted(pairing.unpaired_arrivals, 'arrival')} without a send in its "
            "log, requests that never passed the rate limiter (a silent re-send?)"
        )
    if bunched == "client":
        return (
            f"the client: {counted(pairing.over_at_send, 'request')} over a limit by their own "
            "send times (the SDK sent them too close)"
        )
    if bunched == "after sending":
        return (
            "after sending: the requests left the client within the limits and reached the "
            f"server bunched (send to arrival up to {_ms(pairing.transit_max)})"
        )
    if bunched == "server loop":
        return (
            f"the simulator's own loop, which read requests up to {_ms(pairing.lag_max)} late: "
            f"dated when its handler ran, {pairing.over_at_handler} would have been over; "
            "dated when they reached its socket, none is"
        )
    return "nobody: sent and received within every limit"


def limit_lines(violations: int, pairing: Pairing | None) -> list[str]:
    """The summary's lines on limits: the referee's count, the send times' count, who
    bunched."""
    server = f"{violations} at the server (arrivals dated when they reached its socket)"
    if pairing is None:
        return [f"  limit violations  {server}"]
    return [
        f"  limit violations  {server}; {pairing.over_at_send} by the clients' own send "
        f"times ({pairing.paired} of {pairing.arrivals} arrivals paired with their send)",
        f"  who bunched       {_who(violations, pairing)}",
        f"  timing            send to arrival median {_ms(pairing.transit_median)}, max "
        f"{_ms(pairing.transit_max)}; the simulator's loop up to {_ms(pairing.lag_max)} "
        "behind its socket",
    ]


def limit_warning(violations: int, pairing: Pairing | None) -> str | None:
    """The warning the summary ends with when a limit was exceeded, or None."""
    if sdk_over_limit(violations, pairing):
        over = violations if pairing is None else max(violations, pairing.over_at_send)
        return (
            f"{counted(over, 'request')} went over a documented limit: the SDK sent more than an "
            "exchange allows (please report this)."
        )
    if violations:
        return (
            f"the simulator counted {violations} arrivals over a documented limit, but every "
            "one left the client within the limits (by the clients' own send times): they "
            "bunched between the client and the server, on a machine too busy to deliver "
            "them in time. A real exchange would count them; the SDK's schedule kept the limits."
        )
    return None


def limit_json(violations: int, pairing: Pairing | None) -> dict[str, Any]:
    """The summary's ``limits`` object (see `report`)."""
    if pairing is None:
        return {"at_server": violations, "paired": False}
    return {
        "at_server": violations,
        "paired": True,
        "at_send": pairing.over_at_send,
        "at_handler": pairing.over_at_handler,
        "arrivals": pairing.arrivals,
        "paired_arrivals": pairing.paired,
        "unpaired_sends": pairing.unpaired_sends,
        "bunched": who_bunched(violations, pairing),
        "sdk_over_limit": sdk_over_limit(violations, pairing),
        "transit_median_ms": _round_ms(pairing.transit_median),
        "transit_max_ms": _round_ms(pairing.transit_max),
        "loop_lag_max_ms": _round_ms(pairing.lag_max),
    }


def _round_ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)
