"""What every exchange client shares: lifecycle, options, stats."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from .session import Session, SessionStats

__all__ = ["BaseClient"]


class BaseClient:
    """An async context manager around one `Session`.

    ``async with Client(...) as c`` opens it; ``await c.close()`` closes it and is idempotent.
    """

    _session: Session

    async def __aenter__(self) -> Self:
        await self._session.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the client's HTTP session. Safe to call more than once."""
        await self._session.close()

    @property
    def closed(self) -> bool:
        """Whether the client has been closed."""
        return self._session.closed

    @property
    def stats(self) -> SessionStats:
        """Counters of this client's requests, retries and refusals."""
        return self._session.stats

    @property
    def base_url(self) -> str:
        """The server this client talks to."""
        return self._session.base_url
