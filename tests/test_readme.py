"""Every Python block in README.md and the docs pages is real code.

A ```` ```python ```` block is one of:

- an include, ``--8<-- "name.py"``, of a file under ``docs/examples/`` (which
  tests/test_docs_examples.py runs);
- a complete program: it must compile as a module and use no undefined name (ruff's F821);
  preceded by the line ``<!-- runnable -->`` it is also run, like the examples, against a fresh
  simulator, with ``http://127.0.0.1:8080`` replaced by that simulator's address;
- preceded by the line ``<!-- fragment -->``: an excerpt (a call's options, a few lines out of a
  program); it must still compile, top-level ``await`` and ``async with`` allowed.
"""

from __future__ import annotations

import ast
import asyncio
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_docs_examples import EXAMPLES, run_all

ROOT = Path(__file__).resolve().parent.parent
SIMULATOR_DEFAULT = "http://127.0.0.1:8080"
_FENCE = re.compile(r"^```python\b")
_INCLUDE = re.compile(r'^--8<-- "([^"]+)"$')


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    code: str
    marker: str | None  # "runnable", "fragment" or None

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> list[Path]:
    docs = [p for p in (ROOT / "docs").rglob("*.md") if EXAMPLES not in p.parents]
    return [ROOT / "README.md", *sorted(docs)]


def blocks_of(page: Path) -> list[Block]:
    lines = page.read_text().splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        if not _FENCE.match(lines[index]):
            index += 1
            continue
        start = index
        index += 1
        body: list[str] = []
        while index < len(lines) and lines[index].strip() != "```":
            body.append(lines[index])
            index += 1
        previous = next(
            (lines[i].strip() for i in range(start - 1, -1, -1) if lines[i].strip()), ""
        )
        match = re.fullmatch(r"<!-- (runnable|fragment) -->", previous)
        relative = str(page.relative_to(ROOT))
        found.append(Block(relative, start + 1, "\n".join(body) + "\n", match and match.group(1)))
        index += 1
    return found


def all_blocks() -> list[Block]:
    return [block for page in pages() for block in blocks_of(page)]


def is_include(block: Block) -> bool:
    return any(_INCLUDE.match(line.strip()) for line in block.code.splitlines())


BLOCKS = all_blocks()
CODE_BLOCKS = [b for b in BLOCKS if not is_include(b)]


def test_the_pages_have_python_blocks() -> None:
    assert any(b.page == "README.md" for b in CODE_BLOCKS)
    assert any(is_include(b) for b in BLOCKS)


@pytest.mark.parametrize("block", [b for b in BLOCKS if is_include(b)], ids=lambda b: b.name)
def test_an_include_names_an_example_and_nothing_else(block: Block) -> None:
    lines = [line.strip() for line in block.code.splitlines() if line.strip()]
    assert len(lines) == 1, "an included example stands alone in its block"
    match = _INCLUDE.match(lines[0])
    assert match is not None
    assert (EXAMPLES / match.group(1)).is_file(), f"no docs/examples/{match.group(1)}"


@pytest.mark.parametrize("block", CODE_BLOCKS, ids=lambda b: b.name)
def test_a_block_compiles(block: Block) -> None:
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT if block.marker == "fragment" else 0
    compile(block.code, block.name, "exec", flags=flags)


def test_programs_use_no_undefined_name(tmp_path: Path) -> None:
    programs = [b for b in CODE_BLOCKS if b.marker != "fragment"]
    files = {}
    for number, block in enumerate(programs):
        path = tmp_path / f"block_{number}.py"
        path.write_text(block.code)
        files[str(path)] = block
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            "F821",
            "--output-format",
            "json",
            *files,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    problems = [
        f"{files[p['filename']].page}:{files[p['filename']].line + p['location']['row']}: "
        f"{p['message']}"
        for p in json.loads(result.stdout or "[]")
    ]
    assert not problems, "mark excerpts <!-- fragment -->, or define the names:\n" + "\n".join(
        problems
    )


def test_a_program_with_an_undefined_name_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "bad.py"
    path.write_text("print(credentials)\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            "F821",
            "--output-format",
            "json",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "credentials" in result.stdout


RUNNABLE = [b for b in CODE_BLOCKS if b.marker == "runnable"]


@pytest.fixture(scope="module")
def runnable_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runnable")


def test_some_blocks_run() -> None:
    assert any(b.page == "README.md" for b in RUNNABLE)


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: b.name)
def test_a_runnable_block_runs(block: Block, runnable_dir: Path) -> None:
    assert SIMULATOR_DEFAULT in block.code or "EXCHANGE_ASYNC_BASE_URL" in block.code
    path = runnable_dir / (re.sub(r"\W", "_", block.name) + ".py")
    # The runner sets EXCHANGE_ASYNC_BASE_URL; a block that hard-codes the simulator's default
    # address is pointed at the same place.
    code = block.code.replace(
        f'"{SIMULATOR_DEFAULT}"', '__import__("os").environ["EXCHANGE_ASYNC_BASE_URL"]'
    )
    path.write_text(code)
    outcome = asyncio.run(run_all([path]))[path.name]
    report = f"stdout:\n{outcome.stdout[-2000:]}\nstderr:\n{outcome.stderr[-2000:]}"
    assert outcome.returncode == 0, report
    assert "Traceback" not in outcome.stderr, report
    assert outcome.stdout.strip(), report


def test_the_readme_links_to_files_that_exist() -> None:
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [t for t in targets if "://" not in t]
    assert local, "the README links to the docs pages"
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README links to missing files: {missing}"


def test_the_readme_has_no_placeholder() -> None:
    text = (ROOT / "README.md").read_text()
    for placeholder in ("<this repository>", "TODO", "XXX", "example.com"):
        assert placeholder not in text


def test_the_package_metadata_names_its_licence_file_and_no_address() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License") and "exchange_async developers" in licence
    # The project has no public home, documentation site or issue tracker: no address for them.
    assert "urls" not in project


REAL_ADDRESSES = (
    "http://127.0.0.1",  # the simulator, the local docs server
    "https://api.bitget.com",
    "https://api.coinw.com",
    "https://semver.org/",
    "https://keepachangelog.com/",
    "https://jcristharif.com/msgspec/",
    "https://github.com/ccxt/ccxt",
    "https://github.com/pybotters/pybotters",
)
"""Addresses the pages may name: loopback, the exchanges' hosts and public projects' pages."""


def addresses(text: str) -> list[str]:
    return re.findall(r"https?://[^\s)`\"'<>]+", text)


def test_no_page_names_an_address_that_does_not_exist() -> None:
    unknown = {
        f"{page.relative_to(ROOT)}: {url}"
        for page in [*pages(), ROOT / "pyproject.toml"]
        for url in addresses(page.read_text())
        if not url.startswith(REAL_ADDRESSES) and "user:pass@proxy" not in url
    }
    assert not unknown, sorted(unknown)


def test_the_address_check_sees_an_invented_one() -> None:
    text = "docs: <https://exchange-async.github.io/exchange-async/> and http://127.0.0.1:8080"
    found = [u for u in addresses(text) if not u.startswith(REAL_ADDRESSES)]
    assert found == ["https://exchange-async.github.io/exchange-async/"]


UNPUBLISHED = re.compile(r"pip install [\"']?exchange-async\b")
"""An install line by the package's name: it is not on PyPI, so it cannot work."""


def test_install_lines_work_from_a_clone() -> None:
    # docs/benchmarks.md is written by benchmarks/report.py, which says it its own way.
    checked = [p for p in pages() if p.name != "benchmarks.md"]
    wrong = [
        f"{page.relative_to(ROOT)}:{number}"
        for page in checked
        for number, line in enumerate(page.read_text().splitlines(), 1)
        if UNPUBLISHED.search(line)
    ]
    assert not wrong, wrong
    assert UNPUBLISHED.search('pip install "exchange-async[sim]"')
    assert not UNPUBLISHED.search('pip install -e ".[sim]"')
    readme = (ROOT / "README.md").read_text()
    assert 'pip install -e ".[sim]"' in readme


def test_the_cli_install_hints_work_from_a_clone() -> None:
    sources = ROOT / "exchange_async"
    hints = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((sources / "cli").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "exchange-async[" in line
    ]
    assert not hints, hints


def test_the_pages_say_where_make_puts_the_command() -> None:
    for page in ("README.md", "docs/getting-started.md"):
        text = (ROOT / page).read_text()
        assert ".venv/bin/exchange-async" in text, page
        assert "source .venv/bin/activate" in text, page
    assert "docs-serve" in (ROOT / "README.md").read_text()


def test_docs_programs_read_the_address_simulate_prints() -> None:
    # `exchange-async simulate` prints `export EXCHANGE_ASYNC_BASE_URL=...`; a page's program
    # that only knew 8080 would miss a simulator on another port.
    runnable_docs = [b for b in RUNNABLE if b.page != "README.md"]
    assert runnable_docs
    for block in runnable_docs:
        assert "EXCHANGE_ASYNC_BASE_URL" in block.code, block.name


def test_the_testing_page_sets_pytest_asyncios_mode() -> None:
    import configparser
    import tomllib

    text = (ROOT / "docs" / "testing-your-bot.md").read_text()
    toml = re.search(r"```toml\n(.*?)```", text, re.DOTALL)
    ini = re.search(r"```ini\n(.*?)```", text, re.DOTALL)
    assert toml and ini
    assert tomllib.loads(toml.group(1))["tool"]["pytest"]["ini_options"]["asyncio_mode"] == "auto"
    parser = configparser.ConfigParser()
    parser.read_string(ini.group(1))
    assert parser["pytest"]["asyncio_mode"] == "auto"


def test_the_reference_index_lists_every_documented_name() -> None:
    reference = ROOT / "docs" / "reference"
    index = (reference / "index.md").read_text()
    for page in sorted(reference.glob("*.md")):
        for name in re.findall(r"^::: exchange_async\.(\w+)", page.read_text(), re.MULTILINE):
            assert f"`{name}`" in index or name.endswith(("Error", "Timeout")), (page.name, name)


def _recipe(target: str) -> str:
    makefile = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert match, target
    return match.group(1)


def test_make_clean_leaves_no_cache_behind() -> None:
    recipe = _recipe("clean")
    for cache in (".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"):
        assert cache in recipe.replace("$(VENV)", ".venv"), cache


def test_make_demo_says_where_the_command_is() -> None:
    assert "$(BIN)/activate" in _recipe("demo")


def _third_party_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"benchmarks", "exchange_async", "__future__"}


def test_lint_needs_no_benchmark_peer() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "BENCH_STAMP" not in next(
        line for line in (ROOT / "Makefile").read_text().splitlines() if line.startswith("lint:")
    )
    skipped = {
        module
        for override in config["tool"]["mypy"]["overrides"]
        if override.get("follow_imports") == "skip"
        for module in override["module"]
    }
    dev = " ".join(config["project"]["optional-dependencies"]["dev"])
    dev_modules = {"aiohttp", "msgspec", "exchange_async_sim", "redis", "yarl", *re.findall(
        r"(\w+)[=>]", dev)}  # fmt: skip
    for path in sorted((ROOT / "benchmarks").glob("*.py")):
        for module in _third_party_imports(path) - dev_modules:
            assert module in skipped, f"{path.name} imports {module}: not installed for lint"
