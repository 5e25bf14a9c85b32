"""One transaction of a one-shot command, on the configured database (or the embedded one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Connection

from settlement.config import Settings
from settlement.db import make_engine, migrate
from settlement.service import running_database
from settlement.unit_of_work import in_transaction

T = TypeVar("T")


def run_in_database(work: Callable[[Connection], T]) -> T:
    """Migrate the database to head, then run ``work`` in one transaction (rerun on a race)."""
    with running_database(Settings()) as url:
        migrate(url)
        engine = make_engine(url)
        try:
            return in_transaction(engine, work)
        finally:
            engine.dispose()
