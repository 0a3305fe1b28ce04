"""Every public name has a docstring, and the API reference shows every public name.

mkdocstrings renders whatever docstrings exist and says nothing about missing ones, so this test
is what makes a missing docstring fail CI. Public means: every name in ``exchange_async.__all__``,
and every method and property (not starting with ``_``) that a public class defines or inherits
from a class of this package.
"""

from __future__ import annotations

import enum
import inspect
import re
from pathlib import Path

import exchange_async as ea

REFERENCE = Path(__file__).resolve().parent.parent / "docs" / "reference"

# Known gaps at the time this test was written, in files other helpers were editing. Each entry
# is "Class.member" (or a top-level name). Remove an entry when its docstring lands; the test
# fails on an entry that no longer needs to be here, so the list only shrinks.
KNOWN_GAPS: frozenset[str] = frozenset()


def _public_names() -> list[str]:
    return [name for name in ea.__all__ if not name.startswith("_")]


def _own_doc(obj: object) -> str | None:
    doc = getattr(obj, "__doc__", None)
    return doc if isinstance(doc, str) and doc.strip() else None


def _members_needing_docs(cls: type) -> dict[str, object]:
    """Public methods and properties of ``cls`` from this package's classes, nearest first."""
    found: dict[str, object] = {}
    for klass in cls.__mro__:
        if not klass.__module__.startswith("exchange_async"):
            continue
        for name, value in vars(klass).items():
            if name.startswith("_") or name in found:
                continue
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if inspect.isfunction(value) or isinstance(value, property):
                found[name] = value
    return found


def _gaps() -> set[str]:
    gaps: set[str] = set()
    for name in _public_names():
        obj = getattr(ea, name)
        if not inspect.isclass(obj) and not callable(obj):
            continue
        if _own_doc(obj) is None:
            gaps.add(name)
        if inspect.isclass(obj) and not issubclass(obj, enum.Enum):
            for member, value in _members_needing_docs(obj).items():
                if _own_doc(value) is None:
                    gaps.add(f"{name}.{member}")
    return gaps


def test_every_public_name_method_and_property_has_a_docstring() -> None:
    gaps = _gaps()
    missing = sorted(gaps - KNOWN_GAPS)
    assert not missing, f"public names without a docstring: {missing}"


def test_the_known_gaps_list_only_shrinks() -> None:
    fixed = sorted(KNOWN_GAPS - _gaps())
    assert not fixed, f"these have docstrings now; remove them from KNOWN_GAPS: {fixed}"


def test_the_checker_sees_a_missing_docstring() -> None:
    class Undocumented:
        def method(self) -> None:
            pass

    Undocumented.__module__ = "exchange_async.fake"
    assert "method" in _members_needing_docs(Undocumented)
    assert _own_doc(Undocumented.method) is None


def test_every_public_name_is_on_a_reference_page() -> None:
    shown: set[str] = set()
    for page in REFERENCE.glob("*.md"):
        shown.update(re.findall(r"^::: exchange_async\.(\w+)", page.read_text(), re.MULTILINE))
    values = {name for name in _public_names() if inspect.isclass(getattr(ea, name))}
    shown_objects = {id(getattr(ea, name)) for name in shown if hasattr(ea, name)}
    # A compatibility alias (SessionStats = PipelineStats) is covered by its target's entry.
    missing = sorted(n for n in values - shown if id(getattr(ea, n)) not in shown_objects)
    assert not missing, f"add these to a page under docs/reference/: {missing}"
    unknown = sorted(shown - set(_public_names()))
    assert not unknown, f"reference pages name things that are not public: {unknown}"
