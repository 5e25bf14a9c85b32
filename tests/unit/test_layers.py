"""The rules of direction between the top-level packages (ARCHITECTURE.md, decisions 0002, 0015)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("escrow", "chain", "settlement", "api")
FORBIDDEN = {
    "escrow": {"settlement", "api", "chain"},
    "chain": {"settlement", "api"},
    "settlement": {"api"},
    "api": {"chain", "escrow"},
}
"""Package -> packages it must not import. ``api`` reaches the ledger and the rails only through
``settlement``'s use cases; ``settlement`` never depends on its HTTP entrypoint."""
ENTRYPOINT_CROSSINGS = {"settlement/cli/serve.py": {"api"}, "settlement/cli/demo.py": {"api"}}
"""The modules allowed across a rule: ``msc serve`` and ``msc demo`` compose the service with its
HTTP app, importing ``api`` lazily inside the command."""
FORBIDDEN_MODULES = {
    "api": ("settlement.bootstrap", "settlement.service", "settlement.cli", "settlement.worker"),
}
"""Modules a package must not import even where its package is allowed: ``api`` gets the wiring
through the ``settlement.services.Services`` interface only."""


def imported_modules(source: Path, *, top_level_only: bool = False) -> set[str]:
    """Absolute module names a module imports, at any depth (functions included) or only at its
    top level."""
    tree = ast.parse(source.read_text(), filename=str(source))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def imported_packages(source: Path) -> set[str]:
    """Top-level package names a module imports, at any depth (functions included)."""
    return {name.split(".")[0] for name in imported_modules(source)}


def _modules(package: str) -> list[Path]:
    modules = sorted((ROOT / package).rglob("*.py"))
    assert modules, f"no modules found under {package}/"
    return modules


def test_every_package_has_a_rule() -> None:
    assert set(FORBIDDEN) == set(PACKAGES)
    assert {path.name for path in ROOT.iterdir() if (path / "__init__.py").is_file()} >= set(
        PACKAGES
    )


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_module_imports_against_the_direction(package: str) -> None:
    crossings = {}
    for module in _modules(package):
        name = str(module.relative_to(ROOT))
        allowed = ENTRYPOINT_CROSSINGS.get(name, set())
        crossings[name] = sorted(imported_packages(module) & FORBIDDEN[package] - allowed)
    assert {module: found for module, found in crossings.items() if found} == {}


@pytest.mark.parametrize("package", sorted(FORBIDDEN_MODULES))
def test_no_module_imports_a_forbidden_module(package: str) -> None:
    banned = FORBIDDEN_MODULES[package]
    crossings = {
        str(module.relative_to(ROOT)): sorted(
            name
            for name in imported_modules(module)
            if any(name == ban or name.startswith(ban + ".") for ban in banned)
        )
        for module in _modules(package)
    }
    assert {module: found for module, found in crossings.items() if found} == {}


@pytest.mark.parametrize("module", sorted(ENTRYPOINT_CROSSINGS))
def test_the_entrypoint_crosses_only_lazily(module: str) -> None:
    path = ROOT / module
    crossing = ENTRYPOINT_CROSSINGS[module]
    at_import = {name.split(".")[0] for name in imported_modules(path, top_level_only=True)}
    assert at_import & crossing == set()
    assert imported_packages(path) & crossing == crossing, "the exception is still needed"


def test_the_import_reader_sees_nested_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import os\n\n\ndef f():\n    from chain.pi import errors\n    import api\n")
    assert imported_packages(module) == {"os", "chain", "api"}
    assert imported_modules(module, top_level_only=True) == {"os"}
