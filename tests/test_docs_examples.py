"""Every example under docs/examples/ runs, as a reader would run it, against the simulator.

Each example is a complete program. It runs in its own Python process (``python example.py``)
with ``EXCHANGE_ASYNC_BASE_URL`` pointing at a fresh simulator with the demo accounts, exactly as
after ``exchange-async simulate`` (examples that start their own simulator ignore it). An example
passes when it exits 0 within its time limit, prints something, and writes no traceback.

An example may ask for simulator settings with a line ``# simulator: FLAGS``, in the flags of
``exchange-async simulate`` (for instance ``# simulator: --mutation-interval 0.5``).

The examples run concurrently (a few at a time) once per session; each test reports one.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import shlex
import socket
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from exchange_async_sim import (
    Simulator,
    SimulatorServer,
    add_simulator_arguments,
    config_from_arguments,
)

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
TIME_LIMIT = 60.0
"""Seconds an example may run before it counts as hanging."""
AT_ONCE = 4
"""Examples running at the same time (the CI machine is small; most of them wait on limits)."""
LONG_RUNNING = ("watch_accounts.py",)
"""Examples that run for seconds whatever the machine (a fixed watch): started first."""
DEAD_HOST = "watch_accounts.py against a host that refuses connections"


def example_files() -> list[Path]:
    """The examples: every ``*.py`` except test modules (those run under pytest itself)."""
    return sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("test_"))


@dataclass(frozen=True)
class Outcome:
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float


def simulator_flags(source: str) -> list[str]:
    for line in source.splitlines():
        if line.startswith("# simulator:"):
            return shlex.split(line.partition(":")[2])
    return []


def simulator_for(example: Path) -> Simulator:
    parser = argparse.ArgumentParser()
    add_simulator_arguments(parser)
    args = parser.parse_args(simulator_flags(example.read_text()))
    return Simulator.with_demo_accounts(config_from_arguments(args))


async def run_example(example: Path, slots: asyncio.Semaphore) -> Outcome:
    async with slots, SimulatorServer(simulator_for(example)) as server:
        return await run_program(example, server.base_url)


async def run_program(example: Path, base_url: str) -> Outcome:
    """Run ``example`` in its own Python process with ``EXCHANGE_ASYNC_BASE_URL=base_url``."""
    env = {**os.environ, "EXCHANGE_ASYNC_BASE_URL": base_url, "PYTHONUNBUFFERED": "1"}
    for name in ("BITGET_API_KEY", "BITGET_SECRET_KEY", "BITGET_PASSPHRASE"):
        env.pop(name, None)
    for name in ("COINW_API_KEY", "COINW_SECRET_KEY"):
        env.pop(name, None)
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(example),
        cwd=EXAMPLES,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(TIME_LIMIT):
            stdout, stderr = await process.communicate()
    except TimeoutError:
        process.kill()
        stdout, stderr = await process.communicate()
        return Outcome(None, stdout.decode(), stderr.decode(), time.monotonic() - started)
    seconds = time.monotonic() - started
    return Outcome(process.returncode, stdout.decode(), stderr.decode(), seconds)


async def run_all(examples: list[Path]) -> dict[str, Outcome]:
    slots = asyncio.Semaphore(AT_ONCE)
    examples = sorted(examples, key=lambda p: p.name not in LONG_RUNNING)
    outcomes = await asyncio.gather(*(run_example(example, slots) for example in examples))
    return {example.name: outcome for example, outcome in zip(examples, outcomes, strict=True)}


async def run_all_and_a_dead_host(examples: list[Path]) -> dict[str, Outcome]:
    """`run_all`, and beside it ``watch_accounts.py`` pointed at a port that refuses
    connections (under `DEAD_HOST`): both wait seconds on the clock, so they overlap."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"  # bound, never listening: refused
        outcomes, dead_run = await asyncio.gather(
            run_all(examples), run_program(EXAMPLES / "watch_accounts.py", dead)
        )
    return {**outcomes, DEAD_HOST: dead_run}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Every example's outcome, run once per test run. Under pytest-xdist the first worker to
    ask runs them and leaves the outcomes in the run's shared temporary directory; the other
    workers (and this one, when the module's fixture is set up again after other modules' tests)
    read them instead of running every example again."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the workers' common directory, new for every run
    with open(shared / "docs_examples.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the others wait for the first one's outcomes
        cached = shared / "docs_examples.json"
        if cached.exists():
            saved = json.loads(cached.read_text())
            return {name: Outcome(**fields) for name, fields in saved.items()}
        found = asyncio.run(run_all_and_a_dead_host(example_files()))
        cached.write_text(json.dumps({name: asdict(o) for name, o in found.items()}))
        return found


def test_there_are_examples() -> None:
    assert len(example_files()) >= 5


@pytest.mark.parametrize("name", [p.name for p in example_files()])
def test_example_runs(name: str, outcomes: dict[str, Outcome]) -> None:
    outcome = outcomes[name]
    report = f"stdout:\n{outcome.stdout[-3000:]}\nstderr:\n{outcome.stderr[-3000:]}"
    assert outcome.returncode is not None, f"{name} still ran after {TIME_LIMIT} s\n{report}"
    assert outcome.returncode == 0, f"{name} exited {outcome.returncode}\n{report}"
    assert "Traceback" not in outcome.stderr, report
    assert outcome.stdout.strip(), f"{name} printed nothing\n{report}"


@pytest.mark.parametrize("name", [p.name for p in example_files()])
def test_example_is_shown_on_a_page(name: str) -> None:
    pages = Path(__file__).resolve().parent.parent / "docs"
    included = any(f'--8<-- "{name}"' in page.read_text() for page in pages.rglob("*.md"))
    assert included, f'include {name} in a page with --8<-- "{name}"'


def test_a_failing_example_fails(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise SystemExit('not like this')\n")
    outcome = asyncio.run(run_all([broken]))["broken.py"]
    assert outcome.returncode == 1
    assert "not like this" in outcome.stderr


def test_watching_a_host_that_does_not_answer_prints_the_failures(
    outcomes: dict[str, Outcome],
) -> None:
    # The guide promises it: a poller pointed at the wrong host says so instead of printing
    # nothing forever.
    outcome = outcomes[DEAD_HOST]
    assert outcome.returncode == 0, outcome.stderr
    for account in ("trader-alice", "risk-bob", "typo-carol"):
        assert f"{account}: TransportError" in outcome.stdout, outcome.stdout
    assert "AccountError" in outcome.stdout
