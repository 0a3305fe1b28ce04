"""What every exchange client shares: options, lifecycle, stats."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from .._errors import ValidationError
from .declarations import ExchangeSpec
from .limits import limiter_for, release_limiter
from .params import check_base_url, check_uid, redact_url
from .pipeline.options import ClientOptions, ClientOptionsDict
from .pipeline.pipeline import Pipeline, PipelineStats, SignerFactory
from .pipeline.signing import ApiKeyCredentials, account_fingerprint

__all__ = ["BaseClient"]


class BaseClient:
    """An async context manager around one `Pipeline` and its transport.

    ``async with Client(...) as c`` opens it; ``await c.close()`` closes it and is idempotent.
    """

    _pipeline: Pipeline
    _owns_transport: bool

    def _init_pipeline(
        self,
        *,
        exchange: ExchangeSpec,
        credentials: ApiKeyCredentials,
        credentials_type: type[ApiKeyCredentials],
        signer: SignerFactory,
        base_url: str,
        uid: str | int | None,
        options: ClientOptions | None,
        keywords: ClientOptionsDict,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Check the arguments every client shares and build its `Pipeline`.

        ``options`` is a prebuilt set (a poller's, shared by its clients), else ``keywords``
        are checked into one. The account is identified by a fingerprint of the API key and,
        when given, by ``uid`` as well (so a client told the UID and one that was not still
        share one budget).
        """
        if not isinstance(credentials, credentials_type):
            raise ValidationError(f"credentials must be {credentials_type.__name__}")
        if options is None:
            options = ClientOptions.from_keywords(**keywords)
        elif keywords or not isinstance(options, ClientOptions):
            raise ValidationError("pass options= (a ClientOptions) or keyword options, not both")
        base_url = check_base_url(base_url, allow_insecure=options.allow_insecure_http)
        account_ids: tuple[str, ...] = (account_fingerprint(credentials.api_key),)
        if uid is not None:
            account_ids += ("uid:" + check_uid(uid),)
        transport, self._owns_transport = options.open_transport(base_url)
        self._pipeline = Pipeline(
            exchange=exchange,
            base_url=base_url,
            server=redact_url(base_url),
            signer=signer,
            account_ids=account_ids,
            options=options,
            transport=transport,
            limiter=limiter_for(options.rate_limits),
            headers=headers,
        )

    async def __aenter__(self) -> Self:
        if self._pipeline.closed:
            await self.close()  # raises below
        self._pipeline.check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Fail queued callers with `ClientClosedError` and close the HTTP session the client
        created. Safe to call more than once."""
        pipeline = self._pipeline
        if pipeline.closed:
            return
        pipeline.close()
        try:
            if self._owns_transport:
                await pipeline.transport.aclose()
        finally:
            await release_limiter(pipeline.limiter)

    @property
    def closed(self) -> bool:
        """Whether the client has been closed."""
        return self._pipeline.closed

    @property
    def stats(self) -> PipelineStats:
        """Counters of this client's requests, retries and refusals."""
        return self._pipeline.stats

    @property
    def base_url(self) -> str:
        """The server this client talks to (a password in it shown as ``***``)."""
        return redact_url(self._pipeline.base_url)

    def _describe(self, credentials: Any) -> str:
        return f"{type(self).__name__}({credentials!r}, base_url={self.base_url!r})"
