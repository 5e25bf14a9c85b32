"""The pilot's fixtures (``pilot.json``, ``incentives.json``) the demo reads as its data.

They live outside the repository (``../shared/fixtures`` beside a clone); ``--fixtures`` or
``MSC_FIXTURES_DIR`` names another folder. The demo never carries their values in code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from settlement.db import PROJECT_ROOT

FIXTURE_FILES = ("pilot.json", "incentives.json")


class FixturesMissing(FileNotFoundError):
    """No folder named or found holds the pilot's fixtures."""


def fixtures_dir(named: Path | None) -> Path:
    """``named``, else ``MSC_FIXTURES_DIR``, else ``../shared/fixtures`` beside the project."""
    places = [named] if named is not None else []
    if not places and os.environ.get("MSC_FIXTURES_DIR"):
        places.append(Path(os.environ["MSC_FIXTURES_DIR"]))
    if not places:
        places.append(PROJECT_ROOT.parent / "shared" / "fixtures")
    for place in places:
        if all((place / name).is_file() for name in FIXTURE_FILES):
            return place
    raise FixturesMissing(
        f"no pilot fixtures ({', '.join(FIXTURE_FILES)}) in {', '.join(map(str, places))}:"
        " pass --fixtures DIR or set MSC_FIXTURES_DIR"
    )


def read_fixture(folder: Path, name: str) -> dict[str, Any]:
    """One fixture file, parsed."""
    document: dict[str, Any] = json.loads((folder / name).read_text(encoding="utf-8"))
    return document
