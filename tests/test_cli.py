"""The exchange-async command, run as a real subprocess against a real simulator."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from conftest import BITGET_KEY, BITGET_PASS, BITGET_SECRET, COINW_KEY, COINW_SECRET

from exchange_async.simulator import Simulator, SimulatorServer


async def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "exchange_async.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith(("BITGET_", "COINW_"))}
        | (env or {}),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


BITGET_ENV = {
    "BITGET_API_KEY": BITGET_KEY,
    "BITGET_SECRET_KEY": BITGET_SECRET,
    "BITGET_PASSPHRASE": BITGET_PASS,
}


async def test_demo_runs_without_credentials_or_network() -> None:
    code, out, err = await run_cli("demo", "--accounts", "4", "--duration", "3", "--no-live")
    assert code == 0, err
    assert "req/s" in out  # the status lines of the non-terminal view
    assert "limit violations  0 (as the simulator counted them)" in out
    assert "AccountSynced 4" in out


async def test_demo_with_faults_ends_cleanly() -> None:
    code, out, err = await run_cli(
        "demo", "--accounts", "4", "--duration", "4", "--faults", "--fault-rate", "0.2"
    )
    assert code == 0, err
    assert "stopped accounts  bad-key" in out
    assert "limit violations  0" in out
    assert "Traceback" not in err


async def test_tracking_orders_json_lines(server: SimulatorServer, sim: Simulator) -> None:
    code, out, err = await run_cli(
        "tracking-orders", "--product-type", "usdt-futures", "--json",
        "--base-url", server.base_url, env=BITGET_ENV,
    )  # fmt: skip
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    account = sim.bitget.accounts[BITGET_KEY]
    assert len(rows) == sum(1 for o in account.orders.values() if o.product_type == "USDT-FUTURES")
    # The exchange's own field names, as for CoinW (the models decode straight from them).
    assert isinstance(rows[0]["openTime"], int)
    assert isinstance(rows[0]["openPriceAvg"], str)  # Decimal, exact


async def test_coinw_orders_table_with_many_ids(server: SimulatorServer, sim: Simulator) -> None:
    ids = [str(o) for o in list(sim.coinw.accounts[COINW_KEY].orders)[:25]]
    code, out, err = await run_cli(
        "coinw-orders", "--position-type", "execute", "--ids", ",".join(ids[:10]), *ids[10:],
        "--base-url", server.base_url,
        env={"COINW_API_KEY": COINW_KEY, "COINW_SECRET_KEY": COINW_SECRET},
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines()[0].startswith("id")
    assert sim.count("/v1/perpum/order") == 2


async def test_errors_are_one_line_and_hold_no_secret(server: SimulatorServer) -> None:
    env = BITGET_ENV | {"BITGET_SECRET_KEY": "the-wrong-secret"}
    code, out, err = await run_cli(
        "tracking-orders", "--product-type", "usdt-futures", "--base-url", server.base_url, env=env
    )
    assert code == 1
    assert err.strip().count("\n") == 0
    assert "AuthenticationError" in err
    assert "40009" in err
    assert "the-wrong-secret" not in out + err


async def test_missing_credentials_and_bad_arguments() -> None:
    code, _, err = await run_cli("tracking-orders", "--product-type", "usdt-futures")
    assert code == 2
    assert "BITGET_API_KEY" in err
    code, _, err = await run_cli(
        "tracking-orders", "--product-type", "spot", "--base-url", "http://127.0.0.1:9",
        env=BITGET_ENV,
    )  # fmt: skip
    assert code == 1
    assert "ValidationError" in err
