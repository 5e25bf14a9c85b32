"""The rules of direction between the top-level packages (ARCHITECTURE.md, decision 0002)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "escrow": {"settlement", "api", "chain"},
    "chain": {"settlement", "api"},
    "api": {"chain", "escrow"},
}
"""Package -> packages it must not import. ``api`` reaches the ledger and the rails only through
``settlement``'s use cases."""


def imported_packages(source: Path) -> set[str]:
    """Top-level package names a module imports, at any depth (functions included)."""
    tree = ast.parse(source.read_text(), filename=str(source))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_module_imports_against_the_direction(package: str) -> None:
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules, f"no modules found under {package}/"
    crossings = {
        str(module.relative_to(ROOT)): sorted(imported_packages(module) & FORBIDDEN[package])
        for module in modules
    }
    assert {module: found for module, found in crossings.items() if found} == {}


def test_the_import_reader_sees_nested_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\n\n\ndef f():\n    from chain.pi import errors\n    import api\n")
    assert imported_packages(module) == {"os", "chain", "api"}
