"""A local fake of Bitget and CoinW for tests, demos and benchmarks.

It signs nothing and trusts nothing: it checks signatures over the raw request target, keeps
each documented rate limit as a sliding window over what it sees (with Bitget's per-IP penalty
and CoinW's ban ladder), logs every arrival, can be told to fail in the ways real exchanges and
proxies do (on demand or at random), and can make orders open, change and close over time.
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
from .coinw import PenaltyLevel
from .config import RANDOM_FAULT_KINDS, SimulatorConfig
from .core import Simulator
from .dynamics import Mutation, MutationKind
from .faults import FAULT_KINDS, FaultKind
from .fleet import FleetAccount
from .models import BitgetTrackingOrder, CoinWOrder
from .options import add_simulator_arguments, config_from_arguments
from .ratelog import Arrival
from .server import SimulatorServer, make_app, serve_forever

__all__ = [
    "DEMO_BITGET",
    "DEMO_COINW",
    "FAULT_KINDS",
    "RANDOM_FAULT_KINDS",
    "Arrival",
    "BitgetAccount",
    "BitgetTrackingOrder",
    "CoinWAccount",
    "CoinWOrder",
    "DemoBitgetCredentials",
    "DemoCoinWCredentials",
    "FaultKind",
    "FleetAccount",
    "Mutation",
    "MutationKind",
    "NumberStyle",
    "PenaltyLevel",
    "Simulator",
    "SimulatorConfig",
    "SimulatorServer",
    "add_simulator_arguments",
    "config_from_arguments",
    "make_app",
    "serve_forever",
]
