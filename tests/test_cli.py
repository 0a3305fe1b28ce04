"""The exchange-async command against a real simulator (on a local port).

Most tests call the command's ``main()`` in a worker thread with its own stdout, stderr and
environment (`run_cli`): the same code from the parser to the exit code, without the half
second of interpreter start-up each. What only a process shows (``python -m``, the exit
status, Ctrl-C, paste-ready ``simulate`` output) runs as a real subprocess (`run_cli_process`).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import re
import shlex
import signal
import sys
import tomllib
from pathlib import Path
from unittest import mock

import pytest
from conftest import BITGET_KEY, BITGET_PASS, BITGET_SECRET, COINW_KEY, COINW_SECRET

from exchange_async.cli import main
from exchange_async_sim import Simulator, SimulatorConfig, SimulatorServer


@pytest.fixture
def exchange_simulator_config() -> SimulatorConfig:
    """Each command run has its own limiter, as separate processes would: back to back, the
    runs of one account would meet Bitget's real 5/s and wait a second out, which is not what
    these tests are about (test_bitget_client.py is)."""
    return SimulatorConfig(seed=7, bitget_rate_limit=100)


def _clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("BITGET_", "COINW_"))}
    return keep | (extra or {})


def _main_here(args: tuple[str, ...], env: dict[str, str]) -> tuple[int, str, str]:
    """``main(args)`` as a process would run it: this environment, fresh stdout and stderr
    (not terminals: 80 columns, as behind a pipe), and the log handler it installs removed."""
    out, err = io.StringIO(), io.StringIO()
    logger = logging.getLogger("exchange_async")
    saved = logger.handlers[:], logger.level, logger.propagate
    pipe_size = {"COLUMNS": "80", "LINES": "24"}
    try:
        with (
            mock.patch.dict(os.environ, pipe_size | env, clear=True),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            code = main(list(args))
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
    return code, out.getvalue(), err.getvalue()


async def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """The command in this process (its own event loop in a worker thread, so the simulator
    serving on this test's loop answers it)."""
    return await asyncio.wait_for(asyncio.to_thread(_main_here, args, _clean_env(env)), 60)


async def run_cli_process(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """``python -m exchange_async ARGS`` as a real subprocess."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "exchange_async",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_clean_env(env),
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


BITGET_ENV = {
    "BITGET_API_KEY": BITGET_KEY,
    "BITGET_SECRET_KEY": BITGET_SECRET,
    "BITGET_PASSPHRASE": BITGET_PASS,
}
COINW_ENV = {"COINW_API_KEY": COINW_KEY, "COINW_SECRET_KEY": COINW_SECRET}


PROJECT_VERSION = tomllib.loads(
    (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
)["project"]["version"]


def one_line(err: str) -> str:
    assert "Traceback" not in err
    assert err.strip().count("\n") == 0, err
    return err.strip()


# -- tables and JSON ----------------------------------------------------------------------------


async def test_tracking_orders_json_lines(server: SimulatorServer, sim: Simulator) -> None:
    code, out, err = await run_cli(
        "tracking-orders", "--product-type", "usdt-futures", "--json",
        "--base-url", server.base_url, env=BITGET_ENV,
    )  # fmt: skip
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    account = sim.bitget.accounts[BITGET_KEY]
    assert len(rows) == sum(1 for o in account.orders.values() if o.product_type == "USDT-FUTURES")
    assert isinstance(rows[0]["open_time"], int)
    assert isinstance(rows[0]["open_price_avg"], str)  # Decimal, exact


async def test_coinw_json_uses_the_models_field_names(
    server: SimulatorServer, sim: Simulator
) -> None:
    code, out, err = await run_cli(
        "coinw-orders", "--position-type", "plan", "--json", "--base-url", server.base_url,
        env=COINW_ENV,
    )  # fmt: skip
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows
    for row in rows:
        assert all(re.fullmatch(r"[a-z0-9_]+", key) for key in row), sorted(row)
        assert {"user_id", "created_date", "order_price", "pos_type"} <= set(row)
        assert isinstance(row["id"], int)  # exact, even above 2**53
        assert isinstance(row["order_price"], str)
    assert {row["id"] for row in rows} <= set(sim.coinw.accounts[COINW_KEY].orders)
    assert any(row["id"] > 2**53 for row in rows)


async def test_tables_are_readable_and_raw_keeps_the_wire_values(
    server: SimulatorServer,
) -> None:
    args = ["tracking-orders", "--product-type", "usdt-futures", "--page-size", "50"]
    args += ["--base-url", server.base_url]
    code, out, err = await run_cli(*args, env=BITGET_ENV)
    assert code == 0, err
    lines = out.splitlines()
    assert max(map(len, lines)) <= 100
    assert "openTime (UTC)" in lines[0]
    assert re.search(r"\b20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ\b", lines[1])
    assert not re.search(r"\.\d*0\b", out)  # no trailing zeros in any decimal
    assert "hidden to fit the width" in err
    code, raw, err = await run_cli(*args, "--raw", env=BITGET_ENV)
    assert code == 0, err
    assert re.search(r"\b1\d{12}\b", raw)  # ms times as sent
    assert "followers" in raw.splitlines()[0]
    assert len(raw.splitlines()) == len(lines)


async def test_coinw_orders_table_with_many_ids(server: SimulatorServer, sim: Simulator) -> None:
    ids = [str(o) for o in list(sim.coinw.accounts[COINW_KEY].orders)[:25]]
    code, out, err = await run_cli(
        "coinw-orders", "--position-type", "execute", "--ids", ",".join(ids[:10]), *ids[10:],
        "--base-url", server.base_url, env=COINW_ENV,
    )  # fmt: skip
    assert code == 0, err
    assert out.splitlines()[0].startswith("id")
    assert max(map(len, out.splitlines())) <= 100
    assert sim.count("/v1/perpum/order") == 2


# -- spellings and help -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spellings", "option", "command", "env"),
    [
        (
            ["stop-profit-loss", "stopProfitLoss", "stop_profit_loss", "STOPPROFITLOSS"],
            "--position-type",
            "coinw-orders",
            COINW_ENV,
        ),
        (["move-stop", "moveStop"], "--position-type", "coinw-orders", COINW_ENV),
        (
            ["usdt-futures", "USDT-FUTURES", "usdt_futures"],
            "--product-type",
            "tracking-orders",
            BITGET_ENV,
        ),
    ],
)
async def test_dashed_and_camel_spellings_are_alike(
    server: SimulatorServer,
    spellings: list[str],
    option: str,
    command: str,
    env: dict[str, str],
) -> None:
    outputs = set()
    page_size = ["--page-size", "50"] if command == "tracking-orders" else []  # fewer waits
    for spelling in spellings:
        code, out, err = await run_cli(
            command,
            option,
            spelling,
            "--json",
            "--base-url",
            server.base_url,
            *page_size,
            env=env,
        )
        assert code == 0, err
        outputs.add(out)
    assert len(outputs) == 1


async def test_help_lists_every_choice() -> None:
    code, out, _ = await run_cli("coinw-orders", "--help")
    assert code == 0
    assert "execute, plan, move-stop, stop-profit-loss" in out
    assert ", ..." not in out
    code, out, _ = await run_cli("tracking-orders", "--help")
    assert code == 0
    assert "usdt-futures, coin-futures, usdc-futures" in out
    assert ", ..." not in out


# -- errors -------------------------------------------------------------------------------------


async def test_errors_are_one_line_and_hold_no_secret(server: SimulatorServer) -> None:
    env = BITGET_ENV | {"BITGET_SECRET_KEY": "the-wrong-secret"}
    code, out, err = await run_cli(
        "tracking-orders", "--product-type", "usdt-futures", "--base-url", server.base_url, env=env
    )
    assert code == 1
    line = one_line(err)
    assert "AuthenticationError" in line
    assert "40009" in line
    assert "the-wrong-secret" not in out + err


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["tracking-orders", "--product-type", "spot"], "--product-type"),
        (["tracking-orders", "--product-type", "usdt-futures", "--page-size", "0"], "--page-size"),
        (["tracking-orders", "--product-type", "usdt-futures", "--symbol", "a b"], "--symbol"),
        (["tracking-orders", "--product-type", "usdt-futures", "--base-url", "x"], "--base-url"),
        (["coinw-orders", "--position-type", "limit"], "--position-type"),
        (["coinw-orders", "--position-type", "plan", "--ids", "12,x"], "--ids"),
        (["coinw-orders", "--position-type", "plan", "--instrument", "B/C"], "--instrument"),
        (["simulate", "--port", "70000"], "--port"),
        (["simulate", "--port", "http"], "--port"),
        (["demo", "--accounts", "0"], "--accounts"),
        (["demo", "--duration", "-1"], "--duration"),
        (["demo", "--faults", "--accounts", "1"], "--faults"),
        (["no-such-command"], "COMMAND"),
    ],
)  # fmt: skip
async def test_usage_mistakes_exit_2_in_one_line_naming_the_option(
    args: list[str], names: str
) -> None:
    env = BITGET_ENV | COINW_ENV | {"BITGET_API_KEY": "k"}
    code, out, err = await run_cli(*args, env=env)
    assert code == 2, err
    line = one_line(err)
    assert names in line or names.lower() in line
    assert not re.search(r"\b(product_type|page_size|position_type|base_url|source_ids)\b", line)
    assert out == ""


async def test_missing_credentials_is_a_usage_error() -> None:
    code, _, err = await run_cli("tracking-orders", "--product-type", "usdt-futures")
    assert code == 2
    assert "BITGET_API_KEY" in one_line(err)


async def test_unreachable_host_is_one_line_with_a_hint() -> None:
    code, _, err = await run_cli(
        "coinw-orders", "--position-type", "plan", "--base-url", "http://127.0.0.1:9",
        env=COINW_ENV,
    )  # fmt: skip
    assert code == 1
    assert "TransportError" in err
    assert "--base-url http://127.0.0.1:9" in err
    assert "Traceback" not in err


# -- simulate -----------------------------------------------------------------------------------


async def _start_simulate(*args: str) -> tuple[asyncio.subprocess.Process, list[str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "exchange_async", "simulate", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=_clean_env(),
    )  # fmt: skip
    assert proc.stdout is not None
    lines: list[str] = []
    while not lines or not lines[-1].startswith("From Python"):
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line, "simulate ended before it was ready"
        lines.append(line.decode().rstrip("\n"))
    return proc, lines


def _paste(lines: list[str]) -> list[tuple[dict[str, str], list[str]]]:
    """The (environment, command) pairs a user would paste from simulate's output."""
    pairs = []
    env: dict[str, str] = {}
    for line in (raw.strip() for raw in lines):
        if line.startswith("export "):
            env = dict(word.split("=", 1) for word in shlex.split(line)[1:])
        elif line.startswith("exchange-async "):
            pairs.append((env, shlex.split(line)[1:]))
    return pairs


async def test_simulate_prints_commands_that_hit_the_simulator() -> None:
    proc, lines = await _start_simulate("--port", "0")
    try:
        base_url = re.search(r"http://127\.0\.0\.1:\d+", lines[0])
        assert base_url
        pairs = _paste(lines)
        assert [args[0] for _, args in pairs] == ["tracking-orders", "coinw-orders"]
        for env, args in pairs:
            assert args[-2:] == ["--base-url", base_url.group()]
            code, out, err = await run_cli_process(*args, env=env)
            assert code == 0, err
            assert len(out.splitlines()) > 1  # a header and orders

        port = base_url.group().rsplit(":", 1)[1]
        code, out, err = await run_cli_process("simulate", "--port", port)
        assert code == 2
        assert "address already in use" in one_line(err).lower()
        assert "--port 0" in err
    finally:
        proc.send_signal(signal.SIGINT)
        _, err_bytes = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0  # Ctrl-C is how a simulator ends
    assert err_bytes.decode().strip() == "exchange-async simulate: stopped"


async def test_simulate_serves_more_accounts_and_prints_the_docs_address() -> None:
    proc, lines = await _start_simulate("--port", "0", "--accounts", "3")
    try:
        base_url = re.search(r"http://127\.0\.0\.1:\d+", lines[0])
        assert base_url
        # The line every documentation example reads, ready to paste.
        assert f"  export EXCHANGE_ASYNC_BASE_URL={base_url.group()}" in lines
        assert lines[1].startswith("3 accounts per exchange")
        assert "demo-bitget-002" in lines[1] and "demo-bitget-003" not in lines[1]
        extra = {  # the second extra Bitget account, named as the output says
            "BITGET_API_KEY": "demo-bitget-002",
            "BITGET_SECRET_KEY": "demo-bitget-002-secret",
            "BITGET_PASSPHRASE": "demo-bitget-002-pass",
        }
        args = ("tracking-orders", "--product-type", "usdt-futures", "--json")
        code, out, err = await run_cli_process(*args, "--base-url", base_url.group(), env=extra)
        assert code == 0, err
        assert out.strip()
        coinw = {"COINW_API_KEY": "demo-coinw-002", "COINW_SECRET_KEY": "demo-coinw-002-secret"}
        code, _, err = await run_cli_process(
            "coinw-orders", "--position-type", "plan", "--base-url", base_url.group(), env=coinw
        )
        assert code == 0, err
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 30)


# -- packaging ----------------------------------------------------------------------------------


async def test_python_m_exchange_async_and_a_light_import() -> None:
    code, out, _ = await run_cli_process("--version")
    assert code == 0
    # What pip installed (the package metadata), not a constant that can drift from it.
    assert out.strip() == f"exchange-async {PROJECT_VERSION}"
    probe = (
        "import sys, exchange_async, exchange_async.cli; "
        "print(sorted(m for m in sys.modules if m == 'aiohttp.web' or 'simulator' in m "
        "or m.startswith('exchange_async_sim') or m == 'rich'))"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", probe, stdout=asyncio.subprocess.PIPE
    )
    out_bytes, _ = await proc.communicate()
    assert out_bytes.decode().strip() == "[]"


async def test_plain_http_to_a_remote_host_needs_the_flag() -> None:
    # Signed requests over plain http:// only to loopback, unless explicitly allowed.
    code, _out, err = await run_cli(
        "tracking-orders", "--product-type", "usdt-futures",
        "--base-url", "http://exchange.invalid:9", env=BITGET_ENV,
    )  # fmt: skip
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "--allow-insecure-http" in err
    assert "allow_insecure_http" not in err
