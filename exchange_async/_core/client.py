"""What every exchange client shares: lifecycle, options, stats."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

import aiohttp

from .._errors import ValidationError
from .credentials import ApiKeyCredentials
from .exchange import ExchangeSpec
from .params import check_base_url, check_flag, check_options, check_uid
from .retry import RetryPolicy
from .secrets import account_fingerprint
from .session import Session, SessionOptions, SessionStats, Signer

__all__ = ["BaseClient"]


class BaseClient:
    """An async context manager around one `Session`.

    ``async with Client(...) as c`` opens it; ``await c.close()`` closes it and is idempotent.
    """

    _session: Session

    def _init_session(
        self,
        *,
        exchange: ExchangeSpec,
        credentials: ApiKeyCredentials,
        credentials_type: type[ApiKeyCredentials],
        signer: Signer,
        base_url: str,
        uid: str | int | None,
        timeout: float,
        retry: RetryPolicy | None,
        rate_limit_margin: float,
        max_rate_wait: float | None,
        session: aiohttp.ClientSession | None,
        server_time: Callable[[], Awaitable[int]] | None = None,
        allow_insecure_http: bool = False,
    ) -> None:
        """Check the arguments every client shares and build its `Session`.

        The account is identified by a fingerprint of the API key and, when given, by ``uid``
        as well (several keys of one account then share limits).
        """
        if not isinstance(credentials, credentials_type):
            raise ValidationError(f"credentials must be {credentials_type.__name__}")
        base_url = check_base_url(
            base_url, allow_insecure=check_flag("allow_insecure_http", allow_insecure_http)
        )
        check_options(timeout, retry, rate_limit_margin, max_rate_wait, session)
        # The key always names the account; a UID too when given, so that a client told the
        # UID and one that was not still share one budget.
        account_ids: tuple[str, ...] = (account_fingerprint(credentials.api_key),)
        if uid is not None:
            account_ids += ("uid:" + check_uid(uid),)
        self._session = Session(
            exchange=exchange,
            base_url=base_url,
            signer=signer,
            account_ids=account_ids,
            options=SessionOptions(
                timeout=timeout,
                retry=retry or RetryPolicy(),
                rate_limit_margin=rate_limit_margin,
                max_rate_wait=max_rate_wait,
            ),
            server_time=server_time,
            http=session,
        )

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
