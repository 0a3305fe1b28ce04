"""The transports: the seam (`base`), the lean HTTP/1.1 one (`lean`, the default for http and
https), aiohttp's (`aiohttp`: proxies, a caller's session) and the in-memory one (`memory`)."""

from .base import DEFAULT_MAX_REPLY_BYTES, OnSent, Transport, TransportRequest, TransportResponse

__all__ = [
    "DEFAULT_MAX_REPLY_BYTES",
    "OnSent",
    "Transport",
    "TransportRequest",
    "TransportResponse",
]
