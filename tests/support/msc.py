"""Run the real ``msc`` entry point in a subprocess, as a user would, from any folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MSC = Path(sys.executable).with_name("msc")
msc_timeout_s = 120


def run_msc(
    args: list[str], cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``msc ARGS`` from ``cwd`` with this checkout first on the path and no ``MSC_`` variables
    but those in ``env``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MSC_")}
    environment["PYTHONPATH"] = str(PROJECT_ROOT)
    environment |= dict(env or {})
    return subprocess.run(
        [str(MSC), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=msc_timeout_s,
        check=False,
    )
