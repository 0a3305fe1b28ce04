"""Command-line flags for the simulator's settings, for commands that run one.

::

    parser = argparse.ArgumentParser()
    add_simulator_arguments(parser)
    args = parser.parse_args()
    config = config_from_arguments(args, arrival_log_limit=100_000)
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from typing import Any

from .config import RANDOM_FAULT_KINDS, SimulatorConfig

__all__ = ["OPTION_FIELDS", "add_simulator_arguments", "config_from_arguments"]

OPTION_FIELDS: dict[str, str] = {
    "sim_seed": "seed",
    "sim_mutation_interval": "mutation_interval",
    "sim_fault_rate": "fault_rate",
    "sim_fault_kinds": "fault_kinds",
    "sim_latency": "latency",
    "sim_fault_latency": "fault_latency",
    "sim_bitget_ip_limit": "bitget_ip_limit_per_minute",
    "sim_coinw_ban_threshold": "coinw_ban_threshold",
}
"""The ``argparse`` destination of each flag and the :class:`SimulatorConfig` field it sets."""


def _number(kind: Callable[[str], Any], low: float, *, strict: bool = False) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < low or (strict and value == low):
            relation = "greater than" if strict else "at least"
            raise argparse.ArgumentTypeError(f"must be {relation} {low:g}: {text!r}")
        return value

    return parse


def _probability(text: str) -> float:
    value: float = _number(float, 0.0)(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text!r}")
    return value


def _fault_kinds(text: str) -> tuple[str, ...]:
    kinds = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = sorted(set(kinds) - RANDOM_FAULT_KINDS)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown fault kind(s) {', '.join(unknown)}; "
            f"choose from {', '.join(sorted(RANDOM_FAULT_KINDS))}"
        )
    return kinds


_FLAGS: tuple[tuple[str, str, Callable[[str], Any], str, str], ...] = (
    (
        "--seed",
        "sim_seed",
        int,
        "N",
        "seed of all generated data, mutations and random faults (default 0)",
    ),
    (
        "--mutation-interval",
        "sim_mutation_interval",
        _number(float, 0.0, strict=True),
        "SECONDS",
        "mutate every account's orders this often (default: static data)",
    ),
    (
        "--fault-rate",
        "sim_fault_rate",
        _probability,
        "P",
        "probability of a random fault per request (default 0)",
    ),
    (
        "--fault-kinds",
        "sim_fault_kinds",
        _fault_kinds,
        "KINDS",
        "comma list of random faults (default latency,http_500,http_503,disconnect,"
        f"malformed; any of {', '.join(sorted(RANDOM_FAULT_KINDS))})",
    ),
    (
        "--latency",
        "sim_latency",
        _number(float, 0.0),
        "SECONDS",
        "delay before every reply (default 0)",
    ),
    (
        "--fault-latency",
        "sim_fault_latency",
        _number(float, 0.0),
        "SECONDS",
        "delay of a random 'latency' fault (default 0.5)",
    ),
    (
        "--bitget-ip-limit",
        "sim_bitget_ip_limit",
        _number(int, 1),
        "N",
        "Bitget requests per IP per minute before the 5-minute penalty (default 6000)",
    ),
    (
        "--coinw-ban-threshold",
        "sim_coinw_ban_threshold",
        _number(int, 1),
        "N",
        "CoinW 29001 replies per user in 10 s that start the warning phase, then a ban "
        "(default 60)",
    ),
)
"""Each flag: (flag, destination, parser, metavar, help)."""


def add_simulator_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator flags to ``parser`` (in a group of their own).

    ``--seed``, ``--mutation-interval``, ``--fault-rate``, ``--fault-kinds`` (comma list),
    ``--latency`` (every reply), ``--fault-latency`` (random ``latency`` faults),
    ``--bitget-ip-limit`` and ``--coinw-ban-threshold``. Every flag defaults to ``None``,
    meaning "keep :class:`SimulatorConfig`'s default"; give a command its own defaults with
    ``parser.set_defaults(sim_mutation_interval=1.0)`` (destinations in
    :data:`OPTION_FIELDS`). Bad values are usage errors at parse time.
    """
    group = parser.add_argument_group("simulator")
    for flag, dest, kind, metavar, text in _FLAGS:
        group.add_argument(flag, dest=dest, type=kind, metavar=metavar, help=text)


def config_from_arguments(args: argparse.Namespace, **overrides: Any) -> SimulatorConfig:
    """A :class:`SimulatorConfig` from parsed flags.

    Precedence: ``overrides`` (any :class:`SimulatorConfig` field, e.g.
    ``arrival_log_limit=100_000``) win over flags given on the command line, which win over
    :class:`SimulatorConfig`'s defaults. Flags missing from ``args`` (a parser without
    :func:`add_simulator_arguments`) are ignored. Raises ``TypeError`` for an unknown field
    and ``ValueError`` for an invalid value.
    """
    names = {f.name for f in dataclasses.fields(SimulatorConfig)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise TypeError(f"SimulatorConfig has no field {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for dest, name in OPTION_FIELDS.items():
        value = getattr(args, dest, None)
        if value is not None:
            values[name] = value
    values.update(overrides)
    return SimulatorConfig(**values)
