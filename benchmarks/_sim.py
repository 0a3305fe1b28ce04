"""The simulator names the benchmarks use, and the canned replies built from them.

Every import from the simulator is here, so the integrator rewrites ONE place when the simulator
changes. Only the simulator's public top-level names are used.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from exchange_async_sim import (
    Simulator,
    SimulatorConfig,
    SimulatorServer,
    generate_bitget_orders,
    generate_coinw_orders,
    render_order,
    render_tracking_order,
)

__all__ = [
    "BITGET_PATH",
    "BITGET_ROWS",
    "COINW_PATH",
    "COINW_ROWS",
    "Simulator",
    "SimulatorConfig",
    "SimulatorServer",
    "bitget_body",
    "coinw_body",
]

BITGET_PATH = "/api/v2/copy/mix-trader/order-current-track"
COINW_PATH = "/v1/perpum/order"
BITGET_ROWS = 50
COINW_ROWS = 20


def bitget_body(rows: int = BITGET_ROWS) -> bytes:
    """A Bitget ``order-current-track`` page of ``rows`` orders (every field a string)."""
    orders = sorted(
        generate_bitget_orders(3, "5551234567", rows).values(),
        key=lambda o: o.sort_key,
        reverse=True,
    )
    data = {
        "trackingList": [render_tracking_order(order) for order in orders],
        "endId": str(orders[-1].seq),
    }
    payload = {"code": "00000", "msg": "success", "requestTime": 1_767_225_600_123, "data": data}
    return msgspec.json.encode(payload)


def coinw_body(style: Literal["numbers", "strings"], rows: int = COINW_ROWS) -> bytes:
    """A CoinW ``GET /v1/perpum/order`` reply of ``rows`` orders in ``style`` ("numbers": numeric
    fields as JSON numbers, fees as strings, as CoinW sends them; "strings": every number a
    string). Ids are 17 digits, above 2**53."""
    orders = generate_coinw_orders(3, 4_242_424, rows)
    data: list[Any] = [render_order(order, style) for order in orders.values()]
    return msgspec.json.encode({"code": 0, "data": data, "msg": ""})
