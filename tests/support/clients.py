"""Clients of the fixed test accounts (``conftest``'s keys) built with any options, for the
tests that every option and argument is checked."""

from __future__ import annotations

from typing import Any

from conftest import BITGET_KEY, BITGET_PASS, BITGET_SECRET, COINW_KEY, COINW_SECRET

import exchange_async as ea


def bitget_client(**kwargs: Any) -> ea.BitgetClient:
    """A `BitgetClient` of the test account (or of ``credentials=``) with ``kwargs``."""
    credentials = kwargs.pop("credentials", None) or ea.BitgetCredentials(
        BITGET_KEY, BITGET_SECRET, BITGET_PASS
    )
    return ea.BitgetClient(credentials, **kwargs)


def coinw_client(**kwargs: Any) -> ea.CoinWClient:
    """A `CoinWClient` of the test account with ``kwargs``."""
    return ea.CoinWClient(ea.CoinWCredentials(COINW_KEY, COINW_SECRET), **kwargs)
