"""The client options, spelled once: the keywords every client takes, checked once.

`ClientOptionsDict` names the keywords (``**options: Unpack[ClientOptionsDict]`` in each
client's signature); `ClientOptions.from_keywords` checks them all and returns one frozen
object, which the client, its pipeline and (for the poller) every client it builds share.
The transport settings (``http_session``, ``max_connections``, ``max_reply_bytes``) go to the
transport, built here once; a given ``transport`` is used as is and never closed by a client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict, Unpack

from ..._errors import ValidationError
from ..limits import DEFAULT_MARGIN, Limiter
from ..params import check_flag, check_instance, check_seconds
from ..transport import DEFAULT_MAX_REPLY_BYTES, Transport
from ..transport.choose import check_transport, resolve_http_session, transport_for
from .retry import RetryPolicy

if TYPE_CHECKING:
    from ..transport.aiohttp import HttpSession

__all__ = ["MAX_CONNECTIONS", "MAX_REPLY_BYTES", "ClientOptions", "ClientOptionsDict"]


class ClientOptionsDict(TypedDict, total=False):
    """The keyword options of `BitgetClient` and `CoinWClient` (see their docstrings)."""

    timeout: float
    retry: RetryPolicy | None
    rate_limit_margin: float
    max_rate_wait: float | None
    http_session: HttpSession | None
    session: HttpSession | None
    transport: Transport | str | None
    rate_limits: str | Limiter | None
    max_connections: int
    max_reply_bytes: int
    allow_insecure_http: bool


_KEYWORDS = frozenset(ClientOptionsDict.__annotations__)

MAX_CONNECTIONS = 100_000
"""More connections to one exchange than any host can open."""
MAX_REPLY_BYTES = 2**40
"""A reply-size cap beyond this (1 TiB) is no cap."""


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Checked request settings of a client (or of every client of a poller)."""

    timeout: float = 10.0
    """Seconds for one attempt in all: connecting, sending and reading the whole reply."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    """What is retried and how long to wait between attempts."""
    rate_limit_margin: float = DEFAULT_MARGIN
    """Safety margin on every limit, as a fraction of its window (0.05: 5 % under the limit)."""
    max_rate_wait: float | None = None
    """Raise `RateLimitWaitTimeout` instead of queueing longer than this (seconds)."""
    rate_limits: str | Limiter | None = field(default=None, repr=False)  # a URL's password
    """Where the limits are kept: None in-process, a ``redis://`` URL, or a limiter object."""
    allow_insecure_http: bool = False
    """Allow a plain ``http://`` base URL to a host that is not loopback."""
    transport: Transport | str | None = None
    """A transport to use as is (never closed by a client); None, ``"lean"`` or ``"aiohttp"``:
    each client builds its own from the settings below (`open_transport`; None picks the lean
    transport, or aiohttp's for a caller's ``http_session``)."""
    http_session: HttpSession | None = field(default=None, repr=False)
    """A caller's aiohttp session for the built transport (never closed by the SDK)."""
    max_connections: int = 100
    """Connections in the built transport's pool (0: no limit)."""
    max_reply_bytes: int = DEFAULT_MAX_REPLY_BYTES
    """The built transport's cap on one reply body, after decompression."""

    @classmethod
    def from_keywords(cls, **options: Unpack[ClientOptionsDict]) -> ClientOptions:
        """Check every keyword once (`ValidationError` naming the first bad one; the transport
        settings are the transport's to check, when it is built). An unknown keyword is a
        ``TypeError``, as Python's own."""
        unknown = sorted(set(options) - _KEYWORDS)
        if unknown:
            raise TypeError(f"unexpected keyword argument {unknown[0]!r}")
        retry = options.get("retry")
        max_rate_wait = options.get("max_rate_wait")
        timeout = check_seconds("timeout", options.get("timeout", 10.0), inclusive=False)
        margin = check_seconds(
            "rate_limit_margin", options.get("rate_limit_margin", DEFAULT_MARGIN), maximum=1.0
        )
        if max_rate_wait is not None:
            max_rate_wait = check_seconds("max_rate_wait", max_rate_wait, inclusive=False)
        insecure = check_flag("allow_insecure_http", options.get("allow_insecure_http", False))
        http_session = resolve_http_session(options.get("http_session"), options.get("session"))
        transport = options.get("transport")
        check_transport(transport)
        if transport not in (None, "aiohttp") and http_session is not None:
            raise ValidationError("pass transport= or http_session=, not both")
        return cls(
            timeout=timeout,
            retry=RetryPolicy() if retry is None else check_instance("retry", retry, RetryPolicy),
            rate_limit_margin=margin,
            max_rate_wait=max_rate_wait,
            rate_limits=options.get("rate_limits"),
            allow_insecure_http=insecure,
            transport=transport,
            http_session=http_session,
            max_connections=options.get("max_connections", 100),
            max_reply_bytes=options.get("max_reply_bytes", DEFAULT_MAX_REPLY_BYTES),
        )

    def open_transport(self, base_url: str) -> tuple[Transport, bool]:
        """(the transport a client for ``base_url`` sends through, whether the client owns it):
        the given one (not owned), or a new one built from the transport settings."""
        if self.transport is not None and not isinstance(self.transport, str):
            return self.transport, False
        connections, reply_bytes = self.max_connections, self.max_reply_bytes
        # The transport checks type and sign; an int of thousands of digits is refused here.
        if isinstance(connections, int) and connections > MAX_CONNECTIONS:
            raise ValidationError(f"max_connections must be at most {MAX_CONNECTIONS}")
        if isinstance(reply_bytes, int) and reply_bytes > MAX_REPLY_BYTES:
            raise ValidationError(f"max_reply_bytes must be at most {MAX_REPLY_BYTES}")
        built = transport_for(
            base_url,
            transport=self.transport,
            http_session=self.http_session,
            max_connections=connections,
            max_reply_bytes=reply_bytes,
        )
        return built, True
