"""The part of an API key every exchange shares: the key, the secret, and keeping them quiet."""

from __future__ import annotations

from typing import NoReturn

from .secrets import mask_key, require_text

__all__ = ["ApiKeyCredentials"]


class ApiKeyCredentials:
    """An API key and its secret. ``repr()`` shows the key masked and never the secret.

    Blank values raise `ValidationError` at construction; instances refuse to be pickled, so a
    secret cannot end up in a cache or a task queue by accident.
    """

    __slots__ = ("_secret_key", "api_key")

    def __init__(self, api_key: str, secret_key: str) -> None:
        self.api_key = require_text("api_key", api_key)
        self._secret_key = require_text("secret_key", secret_key)

    @property
    def secret_key(self) -> str:
        """The secret used to sign requests."""
        return self._secret_key

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_key={mask_key(self.api_key)!r})"

    def __str__(self) -> str:
        return repr(self)

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"{type(self).__name__} cannot be pickled")
