"""One command = one database transaction, retried whole when a concurrent writer raced it.

A use case receives a ``UnitOfWork``: the transaction's connection, the ledger on it, the outbox
on it and the clock. ``run`` (retried) and ``unit_of_work`` (once) are where one is opened;
``bind`` wraps a transaction a caller already holds (a test's rolled-back connection, a use case
calling another). A use case never opens a transaction or constructs a ledger itself.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from escrow.clock import Clock
from escrow.errors import LedgerConflict
from escrow.known_accounts import known_accounts
from escrow.ledger import Ledger
from escrow.ports import LedgerProtocol
from settlement import outbox
from settlement.chart import CHART

T = TypeVar("T")
log = structlog.get_logger(__name__)
attempts_max = 5
retry_delay_max_s = 0.05


@dataclass(frozen=True, slots=True)
class Outbox:
    """The outbox inside the unit of work's transaction: a message exists iff the work commits."""

    conn: Connection

    def enqueue(self, kind: str, key: str, payload: dict[str, Any]) -> bool:
        """Record a side effect; False when (kind, key) already was (``settlement.outbox``)."""
        return outbox.enqueue(self.conn, kind, key, payload)


@dataclass(frozen=True, slots=True)
class UnitOfWork:
    """What one command works with, all on one database transaction."""

    conn: Connection
    ledger: LedgerProtocol
    outbox: Outbox
    clock: Clock


def bind(conn: Connection, clock: Clock) -> UnitOfWork:
    """The unit of work over a transaction the caller already holds (it commits or rolls back)."""
    ledger = Ledger(conn, clock, policy=CHART, known=known_accounts(conn.engine))
    return UnitOfWork(conn, ledger, Outbox(conn), clock)


@contextmanager
def unit_of_work(engine: Engine, clock: Clock) -> Iterator[UnitOfWork]:
    """One transaction as a unit of work, not retried: commits on exit, rolls back on a raise."""
    with transaction(engine) as conn:
        yield bind(conn, clock)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One plain transaction, not retried, for work beside the ledger (the outbox's claim, the
    EVM sender's records, a metrics read): commits on exit, rolls back on a raise.

    The accounts its ledgers found or opened are known to be open once it committed
    (``escrow.known_accounts``)."""
    known = known_accounts(engine)
    with engine.begin() as conn:
        pending = known.begin(conn)
        yield conn
    known.committed(pending)


def run(engine: Engine, clock: Clock, work: Callable[[UnitOfWork], T]) -> T:
    """Run ``work`` in one unit of work, rerun whole on a race (``in_transaction``'s rules)."""
    return in_transaction(engine, lambda conn: work(bind(conn, clock)))


def in_transaction(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in a transaction that commits when it returns and rolls back when it raises.

    A ``LedgerConflict`` (two writers raced for the same new id, or a deadlock) rolls back and
    runs ``work`` again from the start, at most ``attempts_max`` times; ``work`` must therefore
    be free of side effects outside the database (those go through the outbox).
    """
    for attempt in range(1, attempts_max + 1):
        try:
            with transaction(engine) as conn:
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
