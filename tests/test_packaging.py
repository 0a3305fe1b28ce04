"""The SDK and the simulator are two distributions: the SDK neither ships nor loads the
simulator's server, its CLI says how to get the simulator when it is missing, and the
"Testing your bot" example runs as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import exchange_async

ROOT = Path(__file__).resolve().parent.parent


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


def test_importing_the_sdk_loads_no_server_and_no_simulator() -> None:
    code = (
        "import sys, exchange_async; "
        "print(sorted(m for m in sys.modules "
        "if m == 'aiohttp.web' or m.split('.')[0] == 'exchange_async_sim'))"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_cli_loads_no_server_until_it_serves() -> None:
    code = "import sys, exchange_async.cli; print('aiohttp.web' in sys.modules)"
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_the_sdk_package_holds_no_simulator() -> None:
    package = Path(exchange_async.__file__).parent
    assert not (package / "simulator").exists()
    sources = "\n".join(path.read_text() for path in package.rglob("*.py"))
    assert "aiohttp.web" not in sources.replace("`aiohttp.web`", "")


def test_simulate_without_the_simulator_is_one_line_and_exit_2() -> None:
    code = (
        "import sys; sys.modules['exchange_async_sim'] = None; "
        "from exchange_async.cli import main; sys.exit(main(['simulate', '--port', '0']))"
    )
    result = _run(code)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "exchange-async simulate: error: the simulator is not installed: "
        'pip install -e ".[sim]" in the exchange-async clone'
    ]


def test_testing_your_bot_example_runs() -> None:
    example = ROOT / "docs" / "examples" / "test_bot_example.py"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(example),
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=strict",  # what a user's project gets by default
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
