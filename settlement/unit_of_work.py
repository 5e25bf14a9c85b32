"""One command = one database transaction, retried whole when a concurrent writer raced it."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

import structlog
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from escrow.errors import LedgerConflict

T = TypeVar("T")
log = structlog.get_logger(__name__)
attempts_max = 5
retry_delay_max_s = 0.05


def in_transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in a transaction that commits when it returns and rolls back when it raises.

    A ``LedgerConflict`` (two writers raced for the same new id, or a deadlock) rolls back and
    runs ``work`` again from the start, at most ``attempts_max`` times; ``work`` must therefore
    be free of side effects outside the database (those go through the outbox).
    """
    for attempt in range(1, attempts_max + 1):
        try:
            with engine.begin() as conn:
                return work(conn)
        except (LedgerConflict, OperationalError) as conflict:
            if not _retryable(conflict) or attempt == attempts_max:
                raise
            log.info("transaction_retry", attempt=attempt, reason=type(conflict).__name__)
            time.sleep(random.uniform(0, retry_delay_max_s))  # noqa: S311 - jitter, not secrecy
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _retryable(error: Exception) -> bool:
    if isinstance(error, LedgerConflict):
        return True
    code = getattr(getattr(error, "orig", None), "sqlstate", None)
    return code in {"40001", "40P01"}  # serialization_failure, deadlock_detected
