"""exchange_async_sim: a local fake of Bitget and CoinW for tests, demos and benchmarks.

An independent referee: it shares no code with the SDK it judges. It checks signatures with
its own HMAC over the raw request target, keeps each documented rate limit per endpoint as a
sliding window over what it sees (with Bitget's per-IP penalty and CoinW's ban ladder), logs
every arrival, can be told to fail in the ways real exchanges and proxies do (on demand or at
random), and can make orders open, change and close over time.

Layers, each importing only those before it: data (``models``, ``accounts``, ``data``,
``dynamics``, ``config``), concerns (``signing``, ``wire``, ``arrivals``, ``limits``,
``faults``, ``referee``), the venues (``bitget``, ``coinw``), the mutation driver (``driver``), the
engine (``engine.Simulator``, whose ``handle()`` answers one request without sockets), and
on top the HTTP adapter (``server``, the only user of ``aiohttp.web``, imported on first
use) and the pytest plugin (``pytest_plugin``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .accounts import (
    DEMO_BITGET,
    DEMO_COINW,
    BitgetAccount,
    CoinWAccount,
    DemoBitgetCredentials,
    DemoCoinWCredentials,
    NumberStyle,
)
from .arrivals import Arrival, max_in_window
from .bitget import render_tracking_order
from .bitget_history import generate_bitget_history, render_history_order
from .coinw import render_order
from .config import RANDOM_FAULT_KINDS, SimulatorConfig
from .data import generate_bitget_orders, generate_coinw_orders
from .dynamics import Mutation, MutationKind
from .engine import SimulatedDisconnect, Simulator
from .faults import FAULT_KINDS, FaultKind
from .fleet import FleetAccount
from .limits import EndpointLimit, PenaltyLevel, running_loop_time
from .models import BitgetHistoryOrder, BitgetTrackingOrder, CoinWOrder
from .options import add_simulator_arguments, config_from_arguments
from .referee import Pairing, Referee

if TYPE_CHECKING:
    from .server import SimulatorServer, make_app, serve_forever

__all__ = [
    "DEMO_BITGET",
    "DEMO_COINW",
    "FAULT_KINDS",
    "RANDOM_FAULT_KINDS",
    "Arrival",
    "BitgetAccount",
    "BitgetHistoryOrder",
    "BitgetTrackingOrder",
    "CoinWAccount",
    "CoinWOrder",
    "DemoBitgetCredentials",
    "DemoCoinWCredentials",
    "EndpointLimit",
    "FaultKind",
    "FleetAccount",
    "Mutation",
    "MutationKind",
    "NumberStyle",
    "Pairing",
    "PenaltyLevel",
    "Referee",
    "SimulatedDisconnect",
    "Simulator",
    "SimulatorConfig",
    "SimulatorServer",
    "add_simulator_arguments",
    "config_from_arguments",
    "generate_bitget_history",
    "generate_bitget_orders",
    "generate_coinw_orders",
    "make_app",
    "max_in_window",
    "render_history_order",
    "render_order",
    "render_tracking_order",
    "running_loop_time",
    "serve_forever",
]

_SERVER_NAMES = frozenset({"SimulatorServer", "make_app", "serve_forever"})


def __getattr__(name: str) -> Any:
    """The HTTP adapter's names, imported on first use so that importing the package (for
    its options or the in-memory :meth:`Simulator.handle`) does not load ``aiohttp.web``."""
    if name in _SERVER_NAMES:
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
