"""The package layout's rules, checked from the source: which subpackage may import which.

docs/ARCHITECTURE.md describes the layout; these tests keep it true as the code moves.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "summarizer"

# What each part may import of ours (besides itself). Lower layers never reach back up.
ALLOWED: dict[str, set[str]] = {
    "schema": set(),
    "errors": {"schema"},
    "config": set(),
    "extract": {"schema", "errors"},
    "inputs": {"schema", "errors"},
    "outputs": {"schema", "errors"},
    "llm": {"schema", "errors", "config", "extract", "outputs"},  # outputs: atomic cassette writes
    "cache": {"schema", "errors", "config"},  # errors: `cache info`/`clear` faults as one line
    "pipeline": {"schema", "errors", "config", "extract", "inputs", "llm", "cache"},
    "golden": {"schema", "errors", "config", "extract", "inputs", "llm", "outputs", "pipeline"},
    "batch": {"schema", "errors", "config", "extract", "inputs", "llm", "outputs", "cache", "pipeline"},
    "slack": {"schema", "errors", "config", "extract", "inputs", "llm", "outputs", "pipeline"},
    "archive": {
        "schema",
        "errors",
        "config",
        "extract",
        "inputs",
        "llm",
        "outputs",
        "cache",
        "pipeline",
        "batch",
    },
    "testing": set(),
}


def _part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _our_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "summarizer" and len(parts) > 1:
                found.add(parts[1])
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "cli" not in p.relative_to(PACKAGE).parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_down_the_data_flow_only(path: Path) -> None:
    part = _part(path)
    if part == "__init__":
        return  # the public API re-exports from everywhere, lazily
    allowed = ALLOWED[part] | {part}
    assert _our_imports(path) <= allowed, f"{path.name} imports {sorted(_our_imports(path) - allowed)}"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_a_giant(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 450, f"{path.relative_to(PACKAGE)} has {lines} lines: split it by what it owns"


def test_every_subpackage_says_what_it_owns() -> None:
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 80, f"{init.parent.name}/__init__.py needs a docstring saying what it owns"


def test_top_level_holds_only_what_a_user_imports_first() -> None:
    top = {p.name for p in PACKAGE.glob("*.py")}
    assert top == {
        "__init__.py",
        "schema.py",
        "pipeline.py",
        "config.py",
        "errors.py",
        "testing.py",
        "cache.py",
    }
