"""The last check before a request leaves: is this worker's lease on the account still valid?

`GuardedTransport` wraps the poller's transport for one account. Right before the first byte
is written (the transport's ``on_sent`` hook) it asks a predicate, by the worker's own clock
and without a round trip; a lapsed lease raises `LeaseLostError` and nothing is sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from .._core.transport import OnSent, Transport, TransportRequest, TransportResponse
from ..poller.publish import LeaseLostError

__all__ = ["GuardedTransport"]


class GuardedTransport:
    """``inner`` for one account, sending only while ``may_send()`` is true. Closing it does
    not close ``inner`` (the poller's shared transport)."""

    def __init__(self, inner: Transport, may_send: Callable[[], bool], account: str) -> None:
        self._inner = inner
        self._may_send = may_send
        self._account = account

    async def send(self, request: TransportRequest, on_sent: OnSent) -> TransportResponse:
        """Send ``request`` through the inner transport, if the lease still holds then."""

        def guarded() -> Awaitable[None] | None:
            if not self._may_send():
                raise LeaseLostError(f"the lease on account {self._account!r} lapsed")
            return on_sent()

        return await self._inner.send(request, guarded)

    async def aclose(self) -> None:
        """Nothing to release: the inner transport is the poller's."""
