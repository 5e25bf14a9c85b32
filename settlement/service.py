"""Running the whole service: database (embedded or configured), migrations, worker, HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from settlement.bootstrap import Container, build_container
from settlement.config import Settings
from settlement.db import migrate
from settlement.embedded import EmbeddedPostgres
from settlement.outbox import BackgroundDispatcher
from settlement.schedule import Throttle, periodic_interval_s, run_periodic

log = structlog.get_logger(__name__)


@contextmanager
def running_database(settings: Settings) -> Iterator[str]:
    """The configured database URL, or an embedded PostgreSQL in ``data_dir/pg`` while in use."""
    if settings.database_url is not None:
        yield settings.database_url
        return
    embedded = EmbeddedPostgres(settings.data_dir / "pg")
    url = embedded.start()
    log.info("embedded_postgres_started", pgdata=str(settings.data_dir / "pg"))
    try:
        yield url
    finally:
        embedded.stop()
        log.info("embedded_postgres_stopped")


@contextmanager
def running_container(settings: Settings, in_process_worker: bool) -> Iterator[Container]:
    """A migrated database and a wired container; with the in-process worker when asked."""
    with running_database(settings) as url:
        migrate(url)
        container = build_container(settings, url)
        worker = (
            BackgroundDispatcher(
                container.dispatcher,
                tick=Throttle(lambda: run_periodic(container), periodic_interval_s),
            )
            if in_process_worker
            else None
        )
        if worker is not None:
            worker.start()
        try:
            yield container
        finally:
            if worker is not None:
                worker.stop()
            container.engine.dispose()
