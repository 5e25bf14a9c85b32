"""The daily accrual of open locks: set-based SQL, from each position's start (decision 0029).

For every open position, each whole day elapsed since its start that has no row in
``lock_accruals`` yet gets one: ``accrued(d) = floor(principal x rate x d)`` and the day's
credit ``accrued(d) - accrued(d - 1)``; the position's ``vested_units`` becomes ``accrued`` of
its last day. The primary key (position, day) makes the job idempotent per position per day,
and because every figure is computed from the start, a job that ran every day, twice a day or
once after a week writes the same rows to the unit. One statement serves a chunk of positions,
so 100,000 positions cost a few statements, not 100,000 transactions.

The reward is vested here, not posted: the ledger holds it as the position's one pending
reservation, posted (in full at maturity, the vested part at early unlock) when the position
closes (``settlement.locks.closing``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from escrow.calendar import from_us
from escrow.sql import sql
from settlement.locks.reward import US_PER_DAY
from settlement.unit_of_work import transaction

positions_per_chunk = 20_000
"""Positions one statement (one transaction) accrues; a crash redoes at most one chunk."""

_ELAPSED = (
    "LEAST(p.term_days, (EXTRACT(EPOCH FROM (CAST(:now AS timestamptz) - p.started_at))"
    f" * 1000000)::bigint / {US_PER_DAY})::smallint"
)
"""Whole days from the start to ``:now``, capped at the term: integer microseconds, floored."""

_ACCRUE = """
WITH chunk AS (
    SELECT p.id, p.principal_units, p.rate_per_unit, p.accrued_days, ELAPSED AS upto
    FROM lock_positions p
    WHERE p.status = 'open' AND p.id > :after
      AND (CAST(:ids AS uuid[]) IS NULL OR p.id = ANY(:ids))
    ORDER BY p.id LIMIT :chunk
    FOR UPDATE SKIP LOCKED
), due AS (
    SELECT * FROM chunk WHERE upto > accrued_days
), days AS (
    INSERT INTO lock_accruals (position_id, day, accrued_units, credited_units, booked_at)
    SELECT due.id, g.day,
           floor(due.principal_units * due.rate_per_unit * g.day)::bigint,
           (floor(due.principal_units * due.rate_per_unit * g.day)
            - floor(due.principal_units * due.rate_per_unit * (g.day - 1)))::bigint,
           CAST(:now AS timestamptz)
    FROM due CROSS JOIN LATERAL generate_series(due.accrued_days + 1, due.upto) AS g(day)
    ON CONFLICT DO NOTHING
    RETURNING 1
), moved AS (
    UPDATE lock_positions p
    SET accrued_days = due.upto,
        vested_units = floor(due.principal_units * due.rate_per_unit * due.upto)::bigint
    FROM due WHERE p.id = due.id
    RETURNING 1
)
SELECT (SELECT id FROM chunk ORDER BY id DESC LIMIT 1) AS last,
       (SELECT count(*) FROM chunk) AS scanned,
       (SELECT count(*) FROM days) AS days,
       (SELECT count(*) FROM moved) AS positions
""".replace("ELAPSED", _ELAPSED)


@dataclass(frozen=True, slots=True)
class AccrualRun:
    """What one run did: positions scanned and moved on, and position-days written."""

    scanned: int = 0
    positions: int = 0
    days: int = 0

    def __add__(self, other: AccrualRun) -> AccrualRun:
        return AccrualRun(
            self.scanned + other.scanned, self.positions + other.positions, self.days + other.days
        )


def accrue_chunk(
    conn: Connection,
    now_us: int,
    after: uuid.UUID | None = None,
    ids: Sequence[uuid.UUID] | None = None,
    chunk: int = positions_per_chunk,
) -> tuple[AccrualRun, uuid.UUID | None]:
    """Accrue the open positions after ``after`` (at most ``chunk``; only ``ids`` if given) up to
    ``now_us``, on the caller's transaction; the run and the cursor (None: no more)."""
    row = conn.execute(
        sql(_ACCRUE),
        {
            "now": from_us(now_us),
            "after": after or uuid.UUID(int=0),
            "ids": None if ids is None else list(ids),
            "chunk": chunk,
        },
    ).one()
    done = AccrualRun(int(row.scanned), int(row.positions), int(row.days))
    return done, (row.last if int(row.scanned) == chunk else None)


def accrue_positions(conn: Connection, now_us: int, ids: Sequence[uuid.UUID]) -> AccrualRun:
    """Accrue exactly these positions (before one closes), on the caller's transaction."""
    if not ids:
        return AccrualRun()
    done, _ = accrue_chunk(conn, now_us, ids=ids, chunk=len(ids))
    return done


def accrue_all(engine: Engine, now_us: int, chunk: int = positions_per_chunk) -> AccrualRun:
    """Accrue every open position up to ``now_us``, one transaction per chunk."""
    total, cursor = AccrualRun(), None
    while True:
        with transaction(engine) as conn:
            done, cursor = accrue_chunk(conn, now_us, cursor, chunk=chunk)
        total += done
        if cursor is None:
            return total
