"""`Poller.add_bitget` / `Poller.add_coinw`: build an exchange's client and snapshot source.

Each imports its exchange package when called, so the poller itself imports none: a third
exchange plugs in through `Poller.add` without editing the poller.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .._core.params import check_choices, check_token
from .._core.pipeline.options import ClientOptions
from .sources import Source
from .status import AccountStatus

if TYPE_CHECKING:
    from ..bitget.auth import BitgetCredentials
    from ..bitget.models import ProductType
    from ..coinw.auth import CoinWCredentials
    from ..coinw.models import PositionType

__all__ = ["ExchangeShortcuts"]


class ExchangeShortcuts:
    """The two built-in exchanges as one-call conveniences over `Poller.add`."""

    def add(self, name: str, source: Source, *, interval: float | None = None) -> AccountStatus:
        raise NotImplementedError

    def _client_options(self, name: str) -> ClientOptions:
        raise NotImplementedError

    def _check_name(self, name: str) -> None:
        raise NotImplementedError

    def add_bitget(
        self,
        name: str,
        credentials: BitgetCredentials,
        *,
        product_types: Iterable[ProductType | str] = ("USDT-FUTURES",),
        symbol: str | None = None,
        base_url: str = "https://api.bitget.com",
        uid: str | int | None = None,
        interval: float | None = None,
    ) -> AccountStatus:
        """Watch every current tracking order of a Bitget elite trader."""
        from ..bitget import BitgetClient, ProductType
        from ..bitget.poll import BitgetSource

        kinds = check_choices("product_types", product_types, ProductType)
        if symbol is not None:
            check_token("symbol", symbol, max_length=40)
        self._check_name(name)
        client = BitgetClient(
            credentials, base_url=base_url, uid=uid, options=self._client_options(name)
        )
        return self.add(name, BitgetSource(client, kinds, symbol), interval=interval)

    def add_coinw(
        self,
        name: str,
        credentials: CoinWCredentials,
        *,
        position_types: Iterable[PositionType | str] = (
            "execute",
            "plan",
            "moveStop",
            "stopProfitLoss",
        ),
        instrument: str | None = None,
        base_url: str = "https://api.coinw.com",
        uid: str | int | None = None,
        interval: float | None = None,
    ) -> AccountStatus:
        """Watch the unfilled CoinW futures orders of the chosen position types."""
        from ..coinw import CoinWClient, PositionType
        from ..coinw.poll import CoinWSource

        kinds = check_choices("position_types", position_types, PositionType)
        if instrument is not None:
            check_token("instrument", instrument, max_length=30)
        self._check_name(name)
        client = CoinWClient(
            credentials, base_url=base_url, uid=uid, options=self._client_options(name)
        )
        return self.add(name, CoinWSource(client, kinds, instrument), interval=interval)
