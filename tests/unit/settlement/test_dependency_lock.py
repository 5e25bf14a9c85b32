"""requirements/*.lock stay in step with pyproject.toml: every declared dependency is pinned to a
release its range admits, and every pin carries hashes, so a fresh machine installs what was
tested (``scripts/lock`` regenerates both files)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[3]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def declared(extra: str | None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"])
    if extra is not None:
        names += project["optional-dependencies"][extra]
    return [Requirement(name) for name in names]


def pins(lock: Path) -> dict[str, Version]:
    """Package name -> pinned version; fails when a pin has no hash on its continuation lines."""
    found: dict[str, Version] = {}
    lines = lock.read_text().splitlines()
    for number, line in enumerate(lines):
        match = PIN.match(line)
        if match is None:
            continue
        following = lines[number + 1] if number + 1 < len(lines) else ""
        assert "--hash=sha256:" in following, f"{lock.name}: {match[1]} has no hash"
        found[canonicalize_name(match[1])] = Version(match[2])
    return found


@pytest.mark.parametrize(("lock_name", "extra"), [("run.lock", None), ("dev.lock", "dev")])
def test_every_declared_dependency_is_pinned_within_its_range(
    lock_name: str, extra: str | None
) -> None:
    locked = pins(ROOT / "requirements" / lock_name)
    for requirement in declared(extra):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is declared but not in {lock_name}"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{lock_name} pins {requirement.name}=={locked[name]}, outside {requirement.specifier}"
            " (run scripts/lock)"
        )


def test_the_run_lock_holds_no_dev_tool() -> None:
    locked = pins(ROOT / "requirements" / "run.lock")
    for tool in ("pytest", "mypy", "ruff", "hypothesis"):
        assert tool not in locked
