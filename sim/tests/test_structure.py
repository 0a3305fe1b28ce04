"""The simulator's shape: it imports nothing of the SDK it referees, its imports run one way
(no circle; the engine never imports the HTTP adapter), and its modules stay small."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import exchange_async_sim

PACKAGE = Path(exchange_async_sim.__file__).parent
NAME = "exchange_async_sim"


def _modules() -> dict[str, ast.Module]:
    return {
        path.stem: ast.parse(path.read_text(), str(path)) for path in sorted(PACKAGE.glob("*.py"))
    }


def _imports(tree: ast.Module) -> set[str]:
    """Absolute names of every module imported anywhere in ``tree`` (lazy imports too)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = f"{NAME}.{base}" if base else NAME
                found.update(f"{NAME}.{alias.name}" for alias in node.names if not node.module)
            found.add(base)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module → the package's modules it imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, tree in modules.items():
        inner = {dep.split(".")[1] for dep in _imports(tree) if dep.startswith(f"{NAME}.")}
        graph[name] = {dep for dep in inner if dep in modules and dep != name}
    return graph


def test_nothing_imports_the_sdk() -> None:
    for name, tree in _modules().items():
        sdk = {
            m for m in _imports(tree) if m == "exchange_async" or m.startswith("exchange_async.")
        }
        assert not sdk, f"{name} imports {sdk}"


def test_imports_run_one_way() -> None:
    graph = import_graph()
    graph.pop("__init__")  # the package front door re-exports everything
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import circle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for dep in graph[module]:
            visit(dep, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())
    on_top = {"server", "testing", "pytest_plugin"}
    for module, deps in graph.items():
        if module not in on_top:
            assert not deps & on_top, f"{module} imports the adapter layer: {deps & on_top}"


def test_only_the_adapter_imports_aiohttp_web() -> None:
    for name, tree in _modules().items():
        uses_web = any(m.startswith("aiohttp") for m in _imports(tree))
        assert not uses_web or name == "server", name


def _table_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a final ``return Record(name=value, ...)``: a flat table, which the 60-line
    rule lets through."""
    last = function.body[-1]
    if (
        isinstance(last, ast.Return)
        and isinstance(last.value, ast.Call)
        and not last.value.args
        and all(
            isinstance(k.value, ast.Name | ast.Attribute | ast.Constant)
            for k in last.value.keywords[:1]
        )
    ):
        return (last.end_lineno or last.lineno) - last.lineno + 1
    return 0


def test_modules_and_functions_stay_small() -> None:
    for path in PACKAGE.glob("*.py"):
        lines = path.read_text().splitlines()
        assert len(lines) <= 400, f"{path.name} has {len(lines)} lines"
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1 - _table_lines(node)
                assert length <= 60, f"{path.name}:{node.name} has {length} lines"


def test_importing_the_package_loads_neither_the_sdk_nor_aiohttp_web() -> None:
    code = (
        "import sys, exchange_async_sim as s; s.Simulator; "
        "print(sorted(m for m in sys.modules "
        "if m == 'aiohttp.web' or m.split('.')[0] == 'exchange_async'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"
