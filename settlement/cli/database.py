"""The database of a one-shot command: the configured one (or the embedded one), at head."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import typer
from sqlalchemy import Connection, Engine

from escrow.clock import SystemClock
from escrow.refusals import Refusal
from settlement.cli.output import EXIT_REFUSED
from settlement.config import Settings
from settlement.db import make_engine, require_migrated
from settlement.service import running_database
from settlement.unit_of_work import UnitOfWork, in_transaction, run

T = TypeVar("T")


@contextmanager
def migrated_engine(settings: Settings) -> Iterator[Engine]:
    """An engine on the database, disposed (and an embedded server stopped) when the command is
    done; an embedded database that does not exist yet, or one not at head, is refused (only
    ``msc db upgrade`` migrates)."""
    with running_database(settings, create=False) as url:
        engine = make_engine(url)
        try:
            require_migrated(engine)
            yield engine
        finally:
            engine.dispose()


def run_in_database(work: Callable[[Connection], T], settings: Settings | None = None) -> T:
    """Run ``work`` in one transaction on the migrated database (rerun on a race)."""
    with migrated_engine(settings or Settings()) as engine:
        return in_transaction(engine, work)


def run_refusing(work: Callable[[UnitOfWork], T]) -> T:
    """``run_work``, a refusal told as one line on stderr and exit status ``EXIT_REFUSED``."""
    try:
        return run_work(work)
    except Refusal as refused:
        typer.echo(f"refused: {refused.detail} ({refused.code})", err=True)
        raise typer.Exit(EXIT_REFUSED) from None


def run_work(work: Callable[[UnitOfWork], T], settings: Settings | None = None) -> T:
    """Run ``work`` in one unit of work on the migrated database, on the system clock."""
    with migrated_engine(settings or Settings()) as engine:
        return run(engine, SystemClock(), work)
