"""A local fake of Bitget and CoinW for tests, demos and benchmarks.

It signs nothing and trusts nothing: it checks signatures over the raw request target, keeps
each documented rate limit as a sliding window over what it sees, logs every arrival, and can
be told to fail in the ways real exchanges and proxies do.
"""

from __future__ import annotations

from .accounts import (
    DEMO_BITGET,
    DEMO_COINW,
    BitgetAccount,
    CoinWAccount,
    DemoBitgetCredentials,
    DemoCoinWCredentials,
    NumberStyle,
)
from .config import SimulatorConfig
from .core import Simulator
from .faults import FAULT_KINDS, FaultKind
from .models import BitgetTrackingOrder, CoinWOrder
from .ratelog import Arrival
from .server import SimulatorServer, make_app, serve_forever

__all__ = [
    "DEMO_BITGET",
    "DEMO_COINW",
    "FAULT_KINDS",
    "Arrival",
    "BitgetAccount",
    "BitgetTrackingOrder",
    "CoinWAccount",
    "CoinWOrder",
    "DemoBitgetCredentials",
    "DemoCoinWCredentials",
    "FaultKind",
    "NumberStyle",
    "Simulator",
    "SimulatorConfig",
    "SimulatorServer",
    "make_app",
    "serve_forever",
]
