"""The SDK's shape: its imports run one way (no circle, lazy imports inside functions
included; the core never imports an exchange package), its modules stay under 400 lines and
its functions under 60 (unless a flat table), and it never imports the simulator it is judged by.

A module on an allowlist below is a known debt, each with the reason; the list only shrinks.
"""

from __future__ import annotations

import ast
from pathlib import Path

import exchange_async

PACKAGE = Path(exchange_async.__file__).parent
NAME = "exchange_async"

# Known debts (owned by helper "path", who regroups the rest of `_core`): modules over 400
# lines. Nothing of `_core/limits` may ever be listed here.
TOO_LONG_ALLOWED: set[str] = set()
# Known import circles, each as the sorted tuple of its modules (same owner, same rule).
CIRCLES_ALLOWED: set[tuple[str, ...]] = set()
# Known functions over 60 lines that are not flat tables, as "module:qualified name".
TOO_LONG_FUNCTIONS_ALLOWED: set[str] = set()
# The exchange packages and what is built on them; `_core` imports none of them.
ABOVE_THE_CORE = ("bitget", "coinw", "poller", "fleet", "cli")
# The demo command hosts the bundled simulator next to the SDK it drives; the SDK proper
# (everything else) never imports it.
SIM_IMPORT_ALLOWED = {
    "exchange_async.cli._sim",  # the demo's one door to the simulator (an optional extra)
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, tuple[Path, ast.Module]]:
    return {
        _module_name(path): (path, ast.parse(path.read_text(), str(path)))
        for path in sorted(PACKAGE.rglob("*.py"))
    }


def _imports(name: str, path: Path, tree: ast.Module) -> set[str]:
    """Absolute names of every module ``tree`` imports anywhere (inside functions too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (a package counts as its ``__init__``)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, (path, tree) in modules.items():
        graph[name] = {dep for dep in _imports(name, path, tree) if dep in modules} - {name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[tuple[str, ...]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[tuple[str, ...]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in graph[node]:
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(tuple(sorted(group)))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def _without_package_fronts(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """A package's ``__init__`` re-exports its modules: a module importing a sibling through
    the package front is not a circle of the code, so the fronts' own edges are dropped."""
    fronts = {name for name in graph if (PACKAGE.parent / name.replace(".", "/")).is_dir()}
    return {name: (set() if name in fronts else deps) for name, deps in graph.items()}


def test_no_import_circles() -> None:
    circles = _circles(_without_package_fronts(import_graph()))
    unexpected = [c for c in circles if c not in CIRCLES_ALLOWED]
    assert not unexpected, f"import circles: {unexpected}"
    assert not any("._core.limits" in m for c in circles for m in c)


def test_the_structure_test_finds_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [("a", "b", "c")]


def test_modules_stay_under_400_lines() -> None:
    too_long = {
        name for name, (path, _) in _modules().items() if len(path.read_text().splitlines()) > 400
    }
    assert too_long <= TOO_LONG_ALLOWED, sorted(too_long - TOO_LONG_ALLOWED)
    assert not any(name.startswith(f"{NAME}._core.limits") for name in TOO_LONG_ALLOWED)


def test_the_sdk_never_imports_the_simulator() -> None:
    for name, (path, tree) in _modules().items():
        if name in SIM_IMPORT_ALLOWED:
            continue
        sim = {m for m in _imports(name, path, tree) if m.split(".")[0] == "exchange_async_sim"}
        assert not sim, f"{name} imports {sim}"


def test_the_limits_package_imports_no_backend_from_its_seam() -> None:
    graph = import_graph()
    for seam in ("declarations", "seam"):
        deps = graph[f"{NAME}._core.limits.{seam}"]
        assert not {d for d in deps if d.startswith(f"{NAME}._core.limits.")} - {
            f"{NAME}._core.limits.declarations"
        }, deps


def test_the_core_imports_no_exchange_package() -> None:
    above = tuple(f"{NAME}.{package}" for package in ABOVE_THE_CORE)
    for name, deps in import_graph().items():
        if name.startswith(f"{NAME}._core"):
            wrong = {dep for dep in deps if dep.startswith(above)}
            assert not wrong, f"{name} imports {sorted(wrong)}"


_NOT_FLAT = (
    ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With, ast.AsyncWith, ast.Match,
    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.IfExp, ast.Raise,
    ast.comprehension, ast.Await, ast.Yield, ast.YieldFrom,
)  # fmt: skip


def is_flat_table(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A function that only declares data: straight-line statements (calls, assignments, a
    return) with no branch, loop, handler, nested function, lambda, comprehension or await,
    like a run of ``parser.add_argument(...)`` or one ``return {...}``."""
    return not any(isinstance(node, _NOT_FLAT) for stmt in function.body for node in ast.walk(stmt))


def _functions() -> dict[str, int]:
    """ "module:qualified name" -> lines, of every function that is not a flat table."""
    found: dict[str, int] = {}

    def visit(module: str, node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                if not is_flat_table(child):
                    found[f"{module}:{name}"] = (
                        (child.end_lineno or child.lineno) - child.lineno + 1
                    )
                visit(module, child, f"{name}.<locals>.")
            elif isinstance(child, ast.ClassDef):
                visit(module, child, f"{prefix}{child.name}.")

    for name, (_, tree) in _modules().items():
        visit(name, tree, "")
    return found


def test_functions_stay_under_60_lines_unless_a_flat_table() -> None:
    too_long = {name for name, lines in _functions().items() if lines > 60}
    assert too_long <= TOO_LONG_FUNCTIONS_ALLOWED, sorted(too_long - TOO_LONG_FUNCTIONS_ALLOWED)


def test_the_structure_test_tells_a_table_from_a_procedure() -> None:
    table = ast.parse("def f():\n    x = {'a': 1}\n    p.add(x, help='h')\n    return x\n")
    procedure = ast.parse("def f(y):\n    if y:\n        return 1\n    return 2\n")
    assert isinstance(table.body[0], ast.FunctionDef)
    assert isinstance(procedure.body[0], ast.FunctionDef)
    assert is_flat_table(table.body[0])
    assert not is_flat_table(procedure.body[0])
