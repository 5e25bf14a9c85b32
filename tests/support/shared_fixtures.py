"""The pilot's fixtures (``../shared/fixtures``, read-only, outside the repository): where to find
them from a worktree, a fresh clone or CI on this machine."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
_PLACES = (
    os.environ.get("MSC_FIXTURES_DIR", ""),
    str(ROOT.parent / "shared" / "fixtures"),
    "/work/shared/fixtures",
)


def fixtures_dir() -> Path | None:
    """The first place that holds the shared fixtures, if any."""
    return next((Path(p) for p in _PLACES if p and (Path(p) / "pilot.json").is_file()), None)


def shared_fixture(name: str) -> dict[str, Any]:
    """One shared fixture file (``pilot.json``, ``incentives.json``), parsed."""
    found = fixtures_dir()
    if found is None:
        raise FileNotFoundError(f"no shared fixtures in {[p for p in _PLACES if p]}")
    document: dict[str, Any] = json.loads((found / name).read_text(encoding="utf-8"))
    return document
