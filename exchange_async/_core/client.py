"""What every exchange client shares: options, lifecycle, stats."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from .._errors import ValidationError
from .credentials import ApiKeyCredentials
from .decode import convert
from .endpoint import Endpoint
from .exchange import ExchangeSpec
from .limiter import Limiter, limiter_for, release_limiter
from .paging import PageRule, Paginator
from .params import check_base_url, check_flag, check_options, check_uid
from .pipeline import Pipeline, PipelineOptions, PipelineStats, Signer, redact_url
from .ratelimit import DEFAULT_MARGIN
from .retry import RetryPolicy
from .secrets import account_fingerprint
from .transport import DEFAULT_MAX_REPLY_BYTES, Transport
from .transport.choose import check_transport, resolve_http_session, transport_for

if TYPE_CHECKING:
    from .transport.aiohttp import HttpSession

__all__ = ["BaseClient", "ClientOptions"]

W = TypeVar("W")
P = TypeVar("P")
I = TypeVar("I")  # noqa: E741


class ClientOptions:
    """The keyword options both clients take (one place to check them)."""

    __slots__ = (
        "allow_insecure_http",
        "http_session",
        "max_connections",
        "max_rate_wait",
        "max_reply_bytes",
        "rate_limit_margin",
        "rate_limits",
        "retry",
        "timeout",
        "transport",
    )

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        rate_limit_margin: float = DEFAULT_MARGIN,
        max_rate_wait: float | None = None,
        http_session: HttpSession | None = None,
        session: HttpSession | None = None,
        transport: Transport | str | None = None,
        rate_limits: str | Limiter | None = None,
        max_connections: int = 100,
        max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES,
        allow_insecure_http: bool = False,
    ) -> None:
        check_options(timeout, retry, rate_limit_margin, max_rate_wait)
        self.allow_insecure_http = check_flag("allow_insecure_http", allow_insecure_http)
        self.timeout = timeout
        self.retry = retry
        self.rate_limit_margin = rate_limit_margin
        self.max_rate_wait = max_rate_wait
        self.http_session = resolve_http_session(http_session, session)
        self.transport = transport
        self.rate_limits = rate_limits
        self.max_connections = max_connections
        self.max_reply_bytes = max_reply_bytes
        check_transport(transport)
        if transport not in (None, "aiohttp") and self.http_session is not None:
            raise ValidationError("pass transport= or http_session=, not both")


class BaseClient:
    """An async context manager around one `Pipeline` and its transport.

    ``async with Client(...) as c`` opens it; ``await c.close()`` closes it and is idempotent.
    """

    _pipeline: Pipeline
    _transport: Transport
    _owns_transport: bool

    def _init_pipeline(
        self,
        *,
        exchange: ExchangeSpec,
        credentials: ApiKeyCredentials,
        credentials_type: type[ApiKeyCredentials],
        signer: Signer,
        base_url: str,
        uid: str | int | None,
        options: ClientOptions,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Check the arguments every client shares and build its `Pipeline`.

        The account is identified by a fingerprint of the API key and, when given, by ``uid``
        as well (so a client told the UID and one that was not still share one budget).
        """
        if not isinstance(credentials, credentials_type):
            raise ValidationError(f"credentials must be {credentials_type.__name__}")
        base_url = check_base_url(base_url, allow_insecure=options.allow_insecure_http)
        account_ids: tuple[str, ...] = (account_fingerprint(credentials.api_key),)
        if uid is not None:
            account_ids += ("uid:" + check_uid(uid),)
        pipeline_options = PipelineOptions(
            timeout=options.timeout,
            retry=options.retry or RetryPolicy(),
            rate_limit_margin=options.rate_limit_margin,
            max_rate_wait=options.max_rate_wait,
        )
        if options.transport is not None and not isinstance(options.transport, str):
            self._transport, self._owns_transport = options.transport, False
        else:  # the lean transport, or aiohttp's (see `transport_for`)
            self._transport = transport_for(
                base_url,
                transport=options.transport,
                http_session=options.http_session,
                max_connections=options.max_connections,
                max_reply_bytes=options.max_reply_bytes,
            )
            self._owns_transport = True
        self._pipeline = Pipeline(
            exchange=exchange,
            base_url=base_url,
            signer=signer,
            account_ids=account_ids,
            options=pipeline_options,
            transport=self._transport,
            limiter=limiter_for(options.rate_limits),
            headers=headers,
        )

    async def __aenter__(self) -> Self:
        if self._pipeline.closed:
            await self.close()  # raises below
        self._pipeline._check_open()
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
        if self._pipeline.closed:
            return
        self._pipeline.close()
        try:
            if self._owns_transport:
                await self._transport.aclose()
        finally:
            await release_limiter(self._pipeline.limiter)

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

    def _paginate(
        self,
        endpoint: Endpoint[W],
        params: Mapping[str, str],
        rule: PageRule[P, I],
        to_page: Callable[[W], P],
        cursor_param: str,
    ) -> Paginator[P, I]:
        """A paginator over ``endpoint``: each next page sends ``cursor_param=<cursor>``."""
        pipeline = self._pipeline

        async def fetch(cursor: str | None) -> P:
            query = params if cursor is None else {**params, cursor_param: cursor}
            return convert(pipeline.exchange, to_page, await pipeline.request(endpoint, query))

        return Paginator(fetch, rule, exchange=pipeline.exchange.name)

    def _describe(self, credentials: Any) -> str:
        return f"{type(self).__name__}({credentials!r}, base_url={self.base_url!r})"
