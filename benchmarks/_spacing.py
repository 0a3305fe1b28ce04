"""Who put 11 requests into one second: the client's send times against the server's arrivals.

The scale benchmark records, in the client, ``time.monotonic()`` when each request's headers
were written (`scale.SendRecorder`) and asks the simulator for its arrival times (the same
clock: one machine, ``CLOCK_MONOTONIC``). Each account's requests are sequential (one worker
per account), so the i-th send and the i-th arrival are the same request. An arrival is over
the limit when it and the ``limit`` before it fall into one window (``t[i] - t[i - limit] <
window``), as the simulator counts; the same test on the send times says whether the CLIENT
sent them too close. A server-only violation is the server stamping an earlier request late
(its queue, its stalls), which no client-side limiter can see.
"""

from __future__ import annotations

from typing import Any

from ._common import percentile

__all__ = ["spacing"]


def _overs(times: list[float], limit: int, window: float) -> list[int]:
    return [i for i in range(limit, len(times)) if times[i] - times[i - limit] < window]


def _min_span(times: list[float], limit: int) -> float:
    spans = [times[i] - times[i - limit] for i in range(limit, len(times))]
    return min(spans, default=float("inf"))


def spacing(
    sends: dict[str, list[float]],
    arrivals: dict[str, list[float]],
    limit: int = 10,
    window: float = 1.0,
) -> dict[str, Any]:
    """Per-run evidence: client-side and server-side violations, the tightest ``limit + 1``
    requests at each end (ms), the send-to-arrival delays, and for every server-side violation
    how much later the server stamped the earlier request than the later one."""
    client_over = server_over = unmatched = 0
    client_span = server_span = client_gap = float("inf")
    delays: list[float] = []
    skews: list[float] = []  # per server-side violation: delay(i - limit) - delay(i), ms
    spans_at_violation: list[float] = []  # the client's span of the same requests, ms
    for key, sent in sends.items():
        arrived = arrivals.get(key, [])
        n = min(len(sent), len(arrived))
        unmatched += abs(len(sent) - len(arrived))
        client_over += len(_overs(sent, limit, window))
        client_span = min(client_span, _min_span(sent, limit))
        client_gap = min(client_gap, _min_span(sent, 1))
        server_span = min(server_span, _min_span(arrived, limit))
        delay = [arrived[i] - sent[i] for i in range(n)]
        delays.extend(delay)
        for i in _overs(arrived, limit, window):
            server_over += 1
            if i < n:
                skews.append((delay[i - limit] - delay[i]) * 1e3)
                spans_at_violation.append((sent[i] - sent[i - limit]) * 1e3)
    return {
        "client_violations": client_over,
        "server_violations": server_over,
        "client_min_span_ms": client_span * 1e3,
        "server_min_span_ms": server_span * 1e3,
        "client_min_gap_ms": client_gap * 1e3,
        "delay_p50_ms": percentile(delays, 50) * 1e3 if delays else None,
        "delay_p99_ms": percentile(delays, 99) * 1e3 if delays else None,
        "delay_max_ms": max(delays) * 1e3 if delays else None,
        "violation_min_client_span_ms": min(spans_at_violation, default=None),
        "violation_min_skew_ms": min(skews, default=None),
        "unmatched": unmatched,
        "requests": sum(len(v) for v in sends.values()),
    }
