"""Shared by the benches (standard library only): run under the project's virtualenv.

A bench started with any ``python3`` (its shebang) re-executes itself with ``.venv/bin/python``,
whose packages it imports, and finds the project's modules.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"


def use_project_venv(script: str) -> None:
    """Re-execute ``script`` under ``.venv`` unless already there; put the project on the path."""
    python = VENV / "bin" / "python"
    if python.exists() and Path(sys.prefix).resolve() != VENV.resolve():
        os.execv(python, [str(python), script, *sys.argv[1:]])
    if not python.exists() and sys.prefix == sys.base_prefix:
        sys.exit(f"no virtualenv at {VENV}: scripts/test creates it (or run with a venv's python)")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
