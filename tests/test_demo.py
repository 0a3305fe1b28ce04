"""The demo as a user runs it: a subprocess on a short run, and its views on real data.

The demo polls on the real clock for seconds: the longer runs are marked ``slow`` (run by
``make test-slow`` and CI); the default suite keeps a few short end-to-end runs."""

from __future__ import annotations

import asyncio
import functools
import io
import json
import os
import re
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

import pytest
from support.redis_server import RedisServer, redis_server

from exchange_async.cli.demo import DemoOptions, default_settle, run_demo
from exchange_async.cli.demo.live import render
from exchange_async.cli.demo.report import DemoReport
from exchange_async_sim import FleetAccount, Simulator

__all__ = ["redis_server"]


async def run_demo_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "exchange_async", "demo", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=os.environ | (env or {}),
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def summary_line(out: str, label: str) -> str:
    match = re.search(rf"^  {label}\s+(.*)$", out, re.MULTILINE)
    assert match, out
    return match.group(1)


@pytest.mark.slow  # seconds of real polling in a subprocess
async def test_last_status_line_and_summary_agree() -> None:
    code, out, err = await run_demo_cli(
        "--accounts", "4", "--duration", "4", "--settle", "8", "--no-live"
    )
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[0].startswith("exchange-async demo: 4 accounts (2 Bitget, 2 CoinW)")
    status = [line for line in lines if line.startswith("[")]
    assert "req/s: measuring for 3 s" in status[0]  # no rate before a few seconds of data
    assert "running" in status[0]
    last = status[-1]
    assert last.startswith("[done in ")
    assert summary_line(out, "time") in last  # the same clock, not a later one
    requests = re.search(r"requests (\d+) \((\d+) while running\)", last)
    assert requests
    assert summary_line(out, "requests").startswith(
        f"{requests.group(1)} ({requests.group(2)} while running)"
    )
    assert re.search(r"\d+ s running \+ \d+\.\d s settling", last)
    flowing = " ".join(out.split())  # the summary wraps its long lines
    assert "limit violations 0 at the server" in flowing
    assert "0 by the clients' own send times" in flowing
    assert "who bunched nobody" in flowing
    assert re.search(r"event check\s+4 accounts: 0 orders lost, 0 invented$", out, re.M)


async def test_ctrl_c_prints_the_summary_so_far() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "exchange_async", "demo", "--accounts", "4",
        "--duration", "60", "--no-live",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    first = await asyncio.wait_for(proc.stdout.readline(), 30)
    assert first.startswith(b"exchange-async demo:")
    status = await asyncio.wait_for(proc.stdout.readline(), 30)  # polling is under way
    assert status.startswith(b"[running")
    proc.send_signal(signal.SIGINT)
    rest, err = await asyncio.wait_for(proc.communicate(), 30)
    out = rest.decode()
    assert proc.returncode == 130
    assert "Traceback" not in err.decode()
    assert "summary (INTERRUPTED: the numbers so far)" in out
    assert "[interrupted after " in out
    assert "event check       skipped" in out
    assert "limit violations  0" in out


@pytest.mark.slow  # seconds of real polling in a subprocess
async def test_json_summary_for_scripts() -> None:
    code, out, err = await run_demo_cli(
        "--accounts", "4", "--duration", "3", "--settle", "8", "--json"
    )
    assert code == 0, err
    summary = json.loads(out)  # stdout holds the JSON object alone
    assert summary["schema"] == 1
    assert summary["exit_code"] == 0
    assert summary["interrupted"] is False
    assert summary["accounts"] == {"total": 4, "bitget": 2, "coinw": 2, "bad_key": None}
    assert summary["limit_violations"] == 0
    orders, events = summary["orders"], summary["events"]
    assert orders["initial"] > 0
    # The initial snapshot is counted apart from real opens; together they are the events.
    assert orders["initial"] + orders["opened"] == events["OrderOpened"]
    assert summary["check"] == {
        "done": True, "accounts": 4, "lost": 0, "invented": 0,
        "never_synced": [], "not_caught_up": [],
    }  # fmt: skip
    assert summary["requests"]["total"] >= summary["requests"]["running"] > 0
    assert summary["seconds"]["running"] >= 3
    assert "[done in" in err  # the view went to stderr


@pytest.mark.slow  # seconds of real polling in a subprocess
async def test_faults_make_one_of_the_accounts_a_bad_key() -> None:
    code, out, err = await run_demo_cli(
        "--accounts", "4", "--duration", "3", "--settle", "8", "--faults",
        "--fault-rate", "0.2", "--json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["accounts"] == {"total": 4, "bitget": 2, "coinw": 1, "bad_key": "bad-key"}
    assert list(summary["stopped"]) == ["bad-key"]
    assert "authentication" in summary["stopped"]["bad-key"].lower()  # the reason
    assert summary["check"]["accounts"] == 3
    assert summary["warnings"] == []
    assert "Traceback" not in err


async def test_accounts_without_a_snapshot_are_a_loud_failure() -> None:
    # Every reply takes longer than the whole run: no account can complete a snapshot.
    code, out, err = await run_demo_cli(
        "--accounts", "4", "--duration", "1", "--settle", "1", "--latency", "5", "--no-live"
    )
    assert code == 4, out + err
    assert "WARNING: 4 accounts never completed a first snapshot" in out
    assert "NOT CHECKED 4" in out


@pytest.mark.slow  # seconds of real polling in a subprocess
async def test_bitget_accounts_starved_by_the_per_ip_cap_are_explained() -> None:
    code, out, err = await run_demo_cli(
        "--accounts", "50", "--duration", "1", "--settle", "1", "--latency", "3", "--json"
    )
    assert code == 4, err
    summary = json.loads(out)
    assert len(summary["check"]["never_synced"]) == 50
    starved = summary["warnings"][0]
    assert starved.startswith("25 of 25 Bitget accounts never completed a first snapshot")
    assert "100 requests/s per IP" in starved
    assert "--duration" in starved
    assert "WARNING: 25 of 25 Bitget accounts" in err


async def test_help_states_the_demo_defaults() -> None:
    code, out, _ = await run_demo_cli("--help")
    assert code == 0
    text = " ".join(out.split())
    assert "mutate the orders this often (default 1)" in text
    assert "default 0; 0.03 with --faults" in text
    assert "(default 20; with --faults one of them has a bad key)" in text
    assert "(default 15, or 0.25 per Bitget account if longer" in text  # --settle
    assert "static data" not in text


async def test_without_rich_it_says_how_to_get_the_live_view(tmp_path: Path) -> None:
    (tmp_path / "rich.py").write_text("raise ImportError('rich is not installed')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    code, out, err = await run_demo_cli(
        "--accounts", "2", "--duration", "1", "--settle", "8", "--live", env=env
    )
    assert code == 0, err
    assert 'pip install -e ".[demo]" in the exchange-async clone' in err
    assert "[done in " in out  # status lines instead
    assert "summary" in out


@pytest.mark.slow  # seconds of real polling in a subprocess
async def test_events_as_lines() -> None:
    code, out, err = await run_demo_cli(
        "--accounts", "2", "--duration", "3", "--settle", "8", "--no-live", "--events",
        "--seed", "3",
    )  # fmt: skip
    assert code == 0, err
    assert re.search(r"^bitget-001 +synced +\d+ orders in the first snapshot$", out, re.M)
    assert re.search(r"^\S+ +(opened|changed|closed) +\d+", out, re.M)
    assert not re.search(r"^\S+ +initial ", out, re.M)  # first snapshots are summed up


# -- the live view on a real run ------------------------------------------------------------------


@pytest.fixture(scope="module")
def faulty_run() -> DemoReport:
    options = DemoOptions(accounts=20, duration=2, settle=8, faults=True, live=False)
    return asyncio.run(run_demo(options, out=io.StringIO(), err=io.StringIO()))


@pytest.mark.slow  # the module fixture runs a demo of 10 s of real time
@pytest.mark.parametrize(("width", "height"), [(80, 24), (120, 40), (60, 12)])
def test_live_view_fits_the_terminal(faulty_run: DemoReport, width: int, height: int) -> None:
    from rich.console import Console

    console = Console(width=width, height=height, record=True, file=io.StringIO())
    console.print(render(faulty_run.frame, width, height))
    lines = console.export_text().splitlines()
    assert len(lines) <= height - 1
    assert max(map(len, lines)) <= width
    text = "\n".join(lines)
    assert ("events" in text) == (height >= 24)
    bad_key = next(line for line in lines if "bad-key" in line)  # stopped: sorted first
    assert "stopped" in bad_key
    assert "Authentication" in bad_key or "authentication" in bad_key  # the reason
    more = re.search(r"\+(\d+) more", text)
    rows = [line for line in lines if re.match(r"(bitget|coinw|bad-key)", line)]
    assert len(rows) + (int(more.group(1)) if more else 0) == 20
    assert bool(more) == (height < 40)


@pytest.mark.slow  # the same 10 s demo run
def test_live_view_puts_problems_first(faulty_run: DemoReport) -> None:
    states = [row.state for row in faulty_run.frame.rows]
    assert states[0] == "stopped"
    assert states == sorted(
        states, key=["stopped", "failing", "rate_limited", "starting", "ok"].index
    )


@pytest.mark.slow  # seconds of real polling in a subprocess
def test_live_view_in_a_real_terminal_of_80x24() -> None:
    import fcntl
    import pty
    import select
    import struct
    import subprocess
    import termios
    import time

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "exchange_async", "demo", "--accounts", "20", "--faults",
         "--duration", "2", "--settle", "8"],
        stdin=slave, stdout=slave, stderr=slave, env=env | {"TERM": "xterm"},
    )  # fmt: skip
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(10) == 0
    output = b"".join(chunks).decode(errors="replace")
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)  # colours and cursor moves
    assert "Traceback" not in text
    assert "exchange-async demo" in text  # the live view's title
    assert "+" in text and " more" in text  # 20 accounts do not fit 24 lines
    assert re.search(r"bad-key\s+coinw\s+stopped", text)
    assert "limit violations  0" in text
    widths = [len(line) for line in re.split(r"[\r\n]+", text)]
    assert max(widths) <= 80


# -- demo --processes N: workers sharing limits through Redis ---------------------------------


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def redis_keys(port: int, pattern: str) -> list[str]:
    """``KEYS pattern`` over a raw socket (RESP array of bulk strings)."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        command = f"*2\r\n$4\r\nKEYS\r\n${len(pattern)}\r\n{pattern}\r\n"
        sock.sendall(command.encode())
        time.sleep(0.2)
        reply = sock.recv(1 << 16).decode()
    return [line for line in reply.split("\r\n")[1:] if line and line[0] not in "*$"]


def needs_redis_server() -> None:
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.mark.slow  # several seconds of real demo time in subprocesses
async def test_processes_share_limits_through_a_redis_they_start_and_stop() -> None:
    needs_redis_server()
    code, out, err = await run_demo_cli(
        "--processes", "2", "--accounts", "6", "--duration", "4", "--settle", "10", "--json"
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["processes"] == 2
    assert summary["accounts"] == {"total": 6, "bitget": 3, "coinw": 3, "bad_key": None}
    assert summary["limit_violations"] == 0
    assert summary["check"]["accounts"] == 6  # every worker's accounts, checked in the parent
    assert summary["check"]["lost"] == summary["check"]["invented"] == 0
    orders, events = summary["orders"], summary["events"]
    assert events["AccountSynced"] == 6
    assert orders["initial"] + orders["opened"] == events["OrderOpened"]
    assert 0 < summary["requests"]["per_second"] <= summary["requests"]["allowed_per_second"]
    opening = re.search(r"2 processes share the rate limits through Redis at (\S+)/0\.", err)
    assert opening, err
    port = int(opening.group(1).rsplit(":", 1)[1])
    assert not redis_answers(port)  # the demo's own redis-server is gone


@pytest.mark.slow  # several seconds of real demo time in subprocesses
async def test_processes_with_a_given_redis_and_faults(redis_server: RedisServer) -> None:
    code, out, err = await run_demo_cli(
        "--processes", "2", "--redis", redis_server.url, "--accounts", "5", "--duration", "3",
        "--settle", "10", "--faults", "--fault-rate", "0.1", "--json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out)
    assert summary["accounts"] == {"total": 5, "bitget": 2, "coinw": 2, "bad_key": "bad-key"}
    assert list(summary["stopped"]) == ["bad-key"]
    assert summary["check"]["accounts"] == 4
    assert summary["limit_violations"] == 0
    assert redis_server.url in err
    assert redis_keys(redis_server.port, "ea:*")  # the limits really went through it
    assert redis_answers(redis_server.port)  # and the demo left it running


async def test_processes_need_redis_or_say_so_in_one_line(tmp_path: Path) -> None:
    code, out, err = await run_demo_cli("--processes", "2", env={"PATH": str(tmp_path)})
    assert code == 2
    assert out == ""
    assert err.strip().count("\n") == 0
    assert "--processes needs Redis" in err and "--redis" in err and "redis-server" in err
    code, _, err = await run_demo_cli("--redis", "redis://127.0.0.1:1/0")
    assert code == 2 and "--redis needs --processes" in err


async def test_processes_ctrl_c_prints_the_summary_so_far() -> None:
    needs_redis_server()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "exchange_async", "demo", "--processes", "2", "--accounts", "4",
        "--duration", "60", "--no-live",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    first = await asyncio.wait_for(proc.stdout.readline(), 30)
    assert b"2 processes share the rate limits" in first
    status = await asyncio.wait_for(proc.stdout.readline(), 30)  # polling is under way
    assert status.startswith(b"[running")
    proc.send_signal(signal.SIGINT)
    rest, err = await asyncio.wait_for(proc.communicate(), 30)
    out = rest.decode()
    assert proc.returncode == 130
    assert "Traceback" not in err.decode()
    assert "summary (INTERRUPTED: the numbers so far)" in out
    assert "processes         2, rate limits shared through Redis" in out
    interrupted = re.search(r"\[interrupted after (\d+\.\d) s", out)
    assert interrupted and float(interrupted.group(1)) < 10  # the workers stopped at once


@functools.cache
def demo_fleet(accounts: int) -> list[FleetAccount]:
    """The demo fleet of ``accounts`` accounts (built once: 600 take a second or two)."""
    return Simulator.with_demo_fleet(accounts)[1]


@pytest.mark.parametrize(("accounts", "parts"), [(600, 2), (600, 4), (7, 3), (3, 3)])
def test_processes_each_get_a_fair_share_of_both_exchanges(accounts: int, parts: int) -> None:
    from exchange_async.cli.demo.procs import split

    fleet = demo_fleet(accounts)
    dealt = split(fleet, parts)
    assert sorted(a.name for part in dealt for a in part) == sorted(a.name for a in fleet)
    for exchange in ("bitget", "coinw"):
        counts = [sum(1 for a in part if a.exchange == exchange) for part in dealt]
        assert max(counts) - min(counts) <= 1, (exchange, counts)
    sizes = [len(part) for part in dealt]
    assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1, sizes


def test_the_settling_phase_grows_with_the_bitget_accounts() -> None:
    # 300 Bitget accounts share Bitget's 100 requests/s per IP: every one of them completing a
    # snapshot of the frozen data took 44 s at --accounts 600 (15 s left them all unchecked).
    assert default_settle(20) == 15.0
    assert default_settle(600) == 75.0
