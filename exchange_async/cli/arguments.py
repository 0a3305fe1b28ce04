"""Argument parsing for the CLI: one-line usage errors (exit 2) and forgiving spellings.

Values are checked here, at parse time, so a mistake names the command-line option
(``--product-type``) rather than the SDK's parameter, and exits 2 before any request.
"""

from __future__ import annotations

import argparse
import re
import sys
from enum import StrEnum
from typing import NoReturn, TypeVar

from ..bitget.models import ProductType
from ..coinw.models import PositionType

__all__ = [
    "OPTION_NAMES",
    "OneLineParser",
    "base_url",
    "choice_help",
    "cli_names",
    "order_ids",
    "page_size",
    "port",
    "position_type",
    "positive_float",
    "positive_int",
    "product_type",
]

E = TypeVar("E", bound=StrEnum)

OPTION_NAMES: dict[str, str] = {
    "product_type": "--product-type",
    "product_types": "--product-type",
    "position_type": "--position-type",
    "position_types": "--position-type",
    "page_size": "--page-size",
    "base_url": "--base-url",
    "source_ids": "--ids",
    "symbol": "--symbol",
    "instrument": "--instrument",
    "uid": "--uid",
    "allow_insecure_http=True": "--allow-insecure-http",
}
"""The SDK's parameter names and the options that set them, for error messages."""


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr, exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Print ``prog: error: message (see prog --help)`` and exit 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        """Exit like argparse, without a traceback (messages go to stderr)."""
        if message:
            sys.stderr.write(message)
        raise SystemExit(status)


def cli_names(message: str) -> str:
    """``message`` with the SDK's parameter names replaced by the CLI's option names."""
    pattern = r"\b(" + "|".join(map(re.escape, OPTION_NAMES)) + r")\b"
    return re.sub(pattern, lambda m: OPTION_NAMES[m.group(1)], message)


def _fold(text: str) -> str:
    """Case, dashes and underscores do not matter: ``stop-profit-loss`` == ``stopProfitLoss``."""
    return re.sub(r"[-_\s]", "", text).lower()


def _member(enum: type[E], text: str) -> E:
    for member in enum:
        if _fold(member.value) == _fold(text):
            return member
    choices = ", ".join(_dashed(m.value) for m in enum)
    raise argparse.ArgumentTypeError(f"choose from {choices}; got {text!r}")


def _dashed(value: str) -> str:
    """``moveStop`` -> ``move-stop``; ``USDT-FUTURES`` -> ``usdt-futures``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", value).lower()


def choice_help(enum: type[StrEnum]) -> str:
    """Every choice of ``enum``, dashed, for a help text."""
    return ", ".join(_dashed(m.value) for m in enum)


def product_type(text: str) -> ProductType:
    """A Bitget product type in any spelling: ``usdt-futures``, ``USDT_FUTURES``, ..."""
    return _member(ProductType, text)


def position_type(text: str) -> PositionType:
    """A CoinW position type in any spelling: ``stop-profit-loss``, ``stopProfitLoss``, ..."""
    return _member(PositionType, text)


def _integer(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


def page_size(text: str) -> int:
    """Orders per Bitget page, 1..50."""
    value = _integer(text)
    if not 1 <= value <= 50:
        raise argparse.ArgumentTypeError(f"must be between 1 and 50; got {value}")
    return value


def port(text: str) -> int:
    """A TCP port, 0..65535 (0: any free port)."""
    value = _integer(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535; got {value}")
    return value


def positive_int(text: str) -> int:
    """A whole number of at least 1."""
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {value}")
    return value


def positive_float(text: str) -> float:
    """A number greater than 0 (seconds)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number; got {text!r}")
    return value


def order_ids(text: str) -> list[int]:
    """Order ids separated by commas (one ``--ids`` value); each a string of digits."""
    ids: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not re.fullmatch(r"[0-9]{1,30}", part):
            raise argparse.ArgumentTypeError(f"an order id is a string of digits; got {part!r}")
        ids.append(int(part))
    return ids


def base_url(text: str) -> str:
    """An ``http://`` or ``https://`` URL with a host."""
    if not re.match(r"https?://[^/\s?#]+", text.strip()):
        raise argparse.ArgumentTypeError(f"must be an http:// or https:// URL; got {text!r}")
    return text.strip()
