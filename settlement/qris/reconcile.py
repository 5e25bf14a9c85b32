"""QRIS reconciliation of one WIB business day: the books against the acquirer's report, set-based.

Order of matching: lines already confirmed by a gateway notification (same RRN), then the rule
of ``settlement.qris.matching`` (bill number/reference, then NMID + amount inside the
expectation's time window: static QRIS has no reference). A checkout leg's lines are decided
one by one, in the order paid, by the rule a gateway notification follows too
(``settlement.qris.payment``: a leg's checkout takes what it can and owes the rest back, and the
same payment told by both sources books once). The day's lines are staged once in a
temporary table that carries their state, MDR is priced by ``settlement.qris.mdr.priced`` from
the schedule bands in force that day, every expectation and every report
line is written once (room for that update is kept free in their pages, so it stays a HOT
update), and the receipts are streamed into the ledger in full batches. Everything that does not
fit becomes an actionable exception. The caller's unit of work owns (and commits) the
transaction; its clock says which of the day's expectations have expired.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from escrow.calendar import day_range, from_us
from escrow.errors import InvariantViolation
from escrow.model import TransferRequest
from settlement.expectations import CHECKOUT_PURPOSE
from settlement.qris import exceptions
from settlement.qris.accounts import ensure_rail_accounts
from settlement.qris.driver import psycopg_connection
from settlement.qris.exceptions import ExceptionLine
from settlement.qris.matching import (
    AMOUNT_AGREES,
    BY_REFERENCE,
    IN_WINDOW,
    LATE,
    PAYABLE,
    STATIC_KEY,
    STATIC_ORDER,
    STATIC_PAYABLE,
)
from settlement.qris.mdr import BANDS, MdrScheduleMissing, band_params, load_schedule, priced
from settlement.qris.payment import (
    LegOutcome,
    Listing,
    Payment,
    match_by_reference,
    settle_checkout_leg,
)
from settlement.qris.posting import post_transfer_groups, receipt_transfers
from settlement.unit_of_work import UnitOfWork

fetch_rows_max = 20_000
join_work_mem = "256MB"  # per sort/hash of the day's joins, this transaction only (server side)

_SCOPE = """
    CREATE TEMP TABLE qris_scope ON COMMIT DROP AS
    SELECT l.id, l.acquirer, l.rrn, l.amount_sen, l.fee_sen, l.transacted_at, l.nmid,
        l.reference, l.source_file, l.line_no, NULL::uuid AS expectation_id,
        CASE WHEN l.status = 'refunded' THEN 'refund' WHEN l.status <> 'paid' THEN 'failed'
            WHEN EXISTS (
                SELECT 1 FROM qris_report_lines o
                WHERE o.acquirer = l.acquirer AND o.rrn = l.rrn AND o.status = 'paid'
                  AND o.id < l.id) THEN 'duplicate'
            ELSE 'new' END AS state
    FROM qris_report_lines l
    WHERE l.match_state = 'new' AND l.transacted_at >= %(start)s AND l.transacted_at < %(end)s
"""
_CONFIRMED = """
    WITH confirmed AS (
        UPDATE qris_scope s
        SET state = CASE WHEN e.gross_sen = s.amount_sen THEN 'confirmed' ELSE 'mismatch' END,
            expectation_id = e.id
        FROM qris_expectations e
        WHERE e.matched_rrn = s.rrn AND e.status = 'paid' AND e.matched_source = 'event'
          AND s.state = 'new'
        RETURNING s.state)
    SELECT count(*) FILTER (WHERE state = 'confirmed') AS confirmed FROM confirmed
"""
_CHECKOUT_LEGS = f"""
    UPDATE qris_scope p SET state = 'checkout_leg', expectation_id = e.id
    FROM qris_expectations e
    WHERE p.state = 'new' AND {BY_REFERENCE} AND e.purpose = %(purpose)s
      AND ({PAYABLE} OR e.status = 'paid')
"""  # noqa: S608 - constant SQL
"""A checkout leg's lines leave the set-based matching: each is decided, in the order paid, by
the rule a notification follows too (``settlement.qris.payment``), whatever its amount."""
_REFERENCE_MISMATCH = f"""
    UPDATE qris_scope p SET state = 'mismatch', expectation_id = e.id
    FROM qris_expectations e
    WHERE p.state = 'new' AND {BY_REFERENCE} AND {PAYABLE} AND NOT ({AMOUNT_AGREES})
"""  # noqa: S608 - constant SQL
_MDR_DAY = f"CREATE TEMP TABLE qris_mdr_day ON COMMIT DROP AS {BANDS}"
# One pairing per line and per expectation (the matching rule, applied to the whole day): by
# reference first, then the k-th static line of an (NMID, amount) meets the k-th open expectation
# of that (NMID, amount), accepted inside its window. The created_at/expires_at bounds only narrow
# the scan to expectations whose window can meet the day. Each pair is priced by ``priced``.
_PAIRS = f"""
    CREATE TEMP TABLE qris_pairs ON COMMIT DROP AS
    WITH by_reference AS MATERIALIZED (
        SELECT DISTINCT ON (e.id) p.id AS line_id, e.id AS expectation_id, e.criteria
        FROM qris_scope p JOIN qris_expectations e ON {BY_REFERENCE}
            AND {PAYABLE} AND {AMOUNT_AGREES}
        WHERE p.state = 'new'
        ORDER BY e.id, p.id
    ), static AS (
        SELECT p.id AS line_id, e.id AS expectation_id, e.criteria FROM (
            SELECT s.id, s.nmid, s.amount_sen, s.transacted_at, row_number() OVER (
                PARTITION BY s.nmid, s.amount_sen ORDER BY s.transacted_at, s.id) AS rank
            FROM qris_scope s
            WHERE s.state = 'new' AND s.nmid IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM by_reference r WHERE r.line_id = s.id)
        ) p JOIN (
            SELECT e.id, e.nmid, e.amount_sen, e.criteria, e.created_at, e.expires_at,
                row_number() OVER (PARTITION BY e.nmid, e.amount_sen ORDER BY {STATIC_ORDER})
                    AS rank
            FROM qris_expectations e
            WHERE {STATIC_PAYABLE} AND e.created_at < %(end)s AND e.expires_at >= %(window_start)s
              AND NOT EXISTS (SELECT 1 FROM by_reference r WHERE r.expectation_id = e.id)
        ) e ON {STATIC_KEY} AND e.rank = p.rank
        WHERE {IN_WINDOW}
    ), pairs AS (
        SELECT p.line_id, p.expectation_id, p.criteria, s.rrn, s.transacted_at,
            s.amount_sen AS gross_sen, s.fee_sen AS reported_sen
        FROM (SELECT * FROM by_reference UNION ALL SELECT * FROM static) p
        JOIN qris_scope s ON s.id = p.line_id
    )
    {priced("SELECT * FROM pairs", "qris_mdr_day")}
"""  # noqa: S608 - constant SQL
_UNPRICED = "SELECT criteria, gross_sen FROM qris_pairs WHERE rate_ppm IS NULL LIMIT 1"
_CLAIM = f"""
    CREATE TEMP TABLE qris_claimed ON COMMIT DROP AS
    WITH claimed AS (
        UPDATE qris_expectations e SET status = 'paid', matched_source = 'report',
            matched_rrn = p.rrn, paid_at = p.transacted_at, gross_sen = p.gross_sen,
            fee_sen = p.fee_sen
        FROM qris_pairs p
        WHERE e.id = p.expectation_id AND {PAYABLE}
        RETURNING e.id AS expectation_id, e.transfer_id, p.line_id, e.credit_account,
            e.expires_at, e.reference, e.nmid, p.rrn, p.transacted_at, p.gross_sen, p.fee_sen,
            p.reported_sen, p.floor_sen, p.fee_disputed, {LATE} AS late
    ) SELECT * FROM claimed
"""  # noqa: S608 - constant SQL
_CLAIM_EXCEPTIONS = """
    INSERT INTO qris_exceptions (business_date, kind, source, source_id, expectation_id, rrn,
        reference, nmid, expected_sen, actual_sen, detail, action)
    SELECT %(day)s, 'fee_mismatch', 'report', line_id::text, expectation_id, rrn, reference,
        nmid, floor_sen, reported_sen,
        format('RRN %%s: MDR %%s sen reported, %%s sen scheduled', rrn, reported_sen, floor_sen),
        %(fee_mismatch)s
    FROM qris_claimed WHERE fee_disputed
    UNION ALL
    SELECT %(day)s, 'late', 'report', line_id::text, expectation_id, rrn, reference, nmid,
        gross_sen, gross_sen,
        format('RRN %%s paid %%s, expired %%s', rrn, transacted_at, expires_at),
        %(late)s
    FROM qris_claimed WHERE late
    ON CONFLICT DO NOTHING
"""
_CLAIMED_ROWS = """
    SELECT expectation_id, transfer_id, credit_account, gross_sen, fee_sen, rrn FROM qris_claimed
"""
_LOCK_CHECKOUT_LEGS = """
    SELECT e.id FROM qris_expectations e
    WHERE e.id IN (SELECT expectation_id FROM qris_scope WHERE state = 'checkout_leg')
    ORDER BY e.id FOR UPDATE OF e
"""
_LOCK_LEG_CHECKOUTS = """
    SELECT k.id FROM checkouts k JOIN checkout_legs l ON l.checkout_id = k.id
    WHERE l.reference IN (SELECT reference FROM qris_scope WHERE state = 'checkout_leg')
    ORDER BY k.id FOR UPDATE OF k
"""
_CHECKOUT_LEG_LINES = """
    SELECT id, rrn, amount_sen, fee_sen, transacted_at, nmid, reference FROM qris_scope
    WHERE state = 'checkout_leg' ORDER BY transacted_at, id
"""
_LEG_STATES = {
    LegOutcome.RECEIPT: "matched",
    LegOutcome.REFUND: "matched",
    LegOutcome.SEEN: "confirmed",
    LegOutcome.UNCLEAR: "duplicate",
}
"""A checkout leg's line as the day's other lines are written: a booked one (the leg's receipt
or a payment owed back) is matched, the same payment told before is confirmed, and one that
cannot be told apart from the leg's payment is listed as a duplicate."""
# Each line of the day is written once with its final state; the exceptional ones are listed.
_DECIDE_LINES = """
    WITH decided AS (
        UPDATE qris_report_lines l
        SET match_state = CASE WHEN c.line_id IS NOT NULL THEN 'matched'
                WHEN s.state = 'new' THEN 'unmatched' ELSE s.state END,
            expectation_id = coalesce(c.expectation_id, s.expectation_id)
        FROM qris_scope s LEFT JOIN qris_claimed c ON c.line_id = s.id
        WHERE l.id = s.id
        RETURNING l.id, l.match_state, l.expectation_id, l.acquirer, l.line_no, l.source_file,
            l.rrn, l.reference, l.nmid, l.amount_sen)
    INSERT INTO qris_exceptions (business_date, kind, source, source_id, expectation_id, rrn,
        reference, nmid, expected_sen, actual_sen, detail, action)
    SELECT %(day)s, k.kind, 'report', u.id::text, u.expectation_id, u.rrn, u.reference, u.nmid,
        e.amount_sen, u.amount_sen,
        format('%%s line %%s of %%s: RRN %%s, %%s sen', u.acquirer, u.line_no, u.source_file,
               u.rrn, u.amount_sen),
        k.action
    FROM decided u
    JOIN (VALUES ('duplicate', 'duplicate', %(duplicate)s), ('mismatch', 'amount_mismatch',
                  %(amount_mismatch)s), ('refund', 'refund', %(refund)s),
                 ('unmatched', 'unmatched_report', %(unmatched_report)s))
        AS k(state, kind, action) ON k.state = u.match_state
    LEFT JOIN qris_expectations e ON e.id = u.expectation_id
    ON CONFLICT DO NOTHING
"""
_EXPIRE = """
    WITH expired AS (
        UPDATE qris_expectations SET status = 'expired'
        WHERE status = 'open' AND expires_at >= %(start)s AND expires_at < %(end)s
          AND expires_at < %(now)s
        RETURNING id, reference, nmid, amount_sen, expires_at)
    INSERT INTO qris_exceptions (business_date, kind, source, source_id, expectation_id,
        reference, nmid, expected_sen, detail, action)
    SELECT %(day)s, 'unmatched_expectation', 'expectation', id::text, id, reference, nmid,
        amount_sen, format('expected %%s sen to %%s, expired %%s', amount_sen, nmid, expires_at),
        %(unmatched_expectation)s
    FROM expired ON CONFLICT DO NOTHING
"""
_UNREPORTED = """
    INSERT INTO qris_exceptions (business_date, kind, source, source_id, expectation_id, rrn,
        reference, nmid, expected_sen, detail, action)
    SELECT %(day)s, 'unreported_payment', 'expectation', e.id::text, e.id, e.matched_rrn,
        e.reference, e.nmid, e.gross_sen,
        format('gateway payment %%s (RRN %%s) not in any report', e.matched_tx_id, e.matched_rrn),
        %(unreported_payment)s
    FROM qris_expectations e
    WHERE e.status = 'paid' AND e.matched_source = 'event'
      AND e.paid_at >= %(start)s AND e.paid_at < %(end)s
      AND EXISTS (SELECT 1 FROM qris_scope)
      AND NOT EXISTS (SELECT 1 FROM qris_report_lines l
                      WHERE l.expectation_id = e.id AND l.rrn = e.matched_rrn)
    ON CONFLICT DO NOTHING
"""
_TEMP_TABLES = ("qris_claimed", "qris_pairs", "qris_mdr_day", "qris_scope")


@dataclass(frozen=True, slots=True)
class ReconcileSummary:
    """What one run did."""

    business_date: date
    lines: int
    matched: int
    confirmed: int
    postings: int
    exceptions: int


def reconcile_day(uow: UnitOfWork, day: date, *, expectation_ttl_max_us: int) -> ReconcileSummary:
    """Match, post and report one business day; re-running it changes nothing more.

    ``expectation_ttl_max_us`` bounds how long before the day an expectation can have opened.
    """
    start, end = day_range(day)
    params: dict[str, Any] = {
        "start": start,
        "end": end,
        "window_start": start - timedelta(microseconds=expectation_ttl_max_us),
        "now": from_us(uow.clock.now_us()),
        "day": day,
        **band_params(load_schedule(uow.conn).bands_on(day)),
        **exceptions.ACTIONS,
    }
    raw = psycopg_connection(uow.conn)
    before = _count_exceptions(raw, day)
    with raw.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT set_config('work_mem', %s, true)", (join_work_mem,))
        lines = _run(cur, _SCOPE, params)
        cur.execute("ANALYZE qris_scope")
        confirmed = _confirmed(cur)
        cur.execute(_CHECKOUT_LEGS, {"purpose": CHECKOUT_PURPOSE})
        cur.execute(_REFERENCE_MISMATCH)
        cur.execute(_MDR_DAY, params)
        cur.execute(_PAIRS, params)
        unpriced = _unpriced(cur)
        if unpriced is not None:
            raise MdrScheduleMissing(f"no MDR for {unpriced} sen on {day}")
        cur.execute("ANALYZE qris_pairs")
        matched = _run(cur, _CLAIM)
        cur.execute("ANALYZE qris_claimed")
        cur.execute(_CLAIM_EXCEPTIONS, params)
    ensure_rail_accounts(uow.ledger)
    with raw.cursor() as cur:  # every row lock before the ledger's: legs' expectations, their
        cur.execute(_LOCK_CHECKOUT_LEGS)  # checkouts (as every checkout use case), then accounts
        cur.execute(_LOCK_LEG_CHECKOUTS)
    postings = post_transfer_groups(uow, _claimed_transfers(raw))
    _settle_checkout_legs(uow, raw, day)
    with raw.cursor() as cur:
        cur.execute(_DECIDE_LINES, params)
        cur.execute(_EXPIRE, params)
        cur.execute(_UNREPORTED, params)
        for table in _TEMP_TABLES:
            cur.execute(f"DROP TABLE {table}")
        new_exceptions = _count_exceptions(raw, day) - before
        cur.execute(
            "INSERT INTO qris_reconciliation_runs (business_date, lines_matched, lines_confirmed,"
            " exceptions, postings) VALUES (%s, %s, %s, %s, %s)",
            (day, matched, confirmed, new_exceptions, postings),
        )
    return ReconcileSummary(day, lines, matched, confirmed, postings, new_exceptions)


def _claimed_transfers(raw: psycopg.Connection[Any]) -> Iterator[list[TransferRequest]]:
    """The claimed receipts' transfers, streamed from a server-side cursor (memory stays flat)."""
    with raw.cursor(name="qris_claimed_rows", row_factory=dict_row) as rows:
        rows.itersize = fetch_rows_max
        rows.execute(_CLAIMED_ROWS)
        for row in rows:
            yield receipt_transfers(row["expectation_id"], row["transfer_id"],
                                    row["credit_account"], row["gross_sen"], row["fee_sen"],
                                    row["rrn"], "report")  # fmt: skip


def _settle_checkout_legs(uow: UnitOfWork, raw: psycopg.Connection[Any], day: date) -> None:
    """Decide each checkout leg's line of the day, in the order paid, by the rule both sources
    follow, and set the state the line is written with."""
    with raw.cursor(row_factory=dict_row) as cur:
        cur.execute(_CHECKOUT_LEG_LINES)
        lines = cur.fetchall()
    for line in lines:
        payment = Payment(
            "report",
            line["rrn"],
            None,
            f"qris:report-line:{line['id']}",
            line["reference"],
            line["nmid"],
            line["amount_sen"],
            line["fee_sen"],
            line["transacted_at"],
        )
        row = match_by_reference(uow, payment)
        if row is None:
            raise InvariantViolation(f"report line {line['id']} lost its locked expectation")
        outcome = settle_checkout_leg(uow, payment, row, _listing(uow, line, day))
        with raw.cursor() as cur:
            cur.execute(
                "UPDATE qris_scope SET state = %s WHERE id = %s", (_LEG_STATES[outcome], line["id"])
            )


def _listing(uow: UnitOfWork, line: dict[str, Any], day: date) -> Listing:
    """How a checkout leg's line lists an exception: as the day's other lines do."""

    def listing(
        kind: str, expectation: uuid.UUID | None, expected: int | None, detail: str
    ) -> None:
        exceptions.record(
            uow.conn,
            ExceptionLine(
                kind=kind,
                source="report",
                source_id=str(line["id"]),
                business_date=day,
                detail=f"RRN {line['rrn']}: {detail}",
                action=exceptions.ACTIONS[kind],
                expectation_id=expectation,
                rrn=line["rrn"],
                reference=line["reference"],
                nmid=line["nmid"],
                expected_sen=expected,
                actual_sen=line["fee_sen"] if kind == "fee_mismatch" else line["amount_sen"],
            ),
        )

    return listing


def _unpriced(cur: psycopg.Cursor[dict[str, Any]]) -> str | None:
    """A pair no band of the day prices ("UMI 1500000"), if any."""
    cur.execute(_UNPRICED)
    row = cur.fetchone()
    return None if row is None else f"{row['criteria']} {row['gross_sen']}"


def _run(cur: psycopg.Cursor[Any], statement: str, params: dict[str, Any] | None = None) -> int:
    """Execute; the rows a CREATE TABLE AS stored (its command tag is SELECT n)."""
    cur.execute(statement, params)
    return max(cur.rowcount, 0)


def _confirmed(cur: psycopg.Cursor[dict[str, Any]]) -> int:
    """Lines a gateway notification had already paid (same RRN and amount): confirmed."""
    cur.execute(_CONFIRMED)
    row = cur.fetchone()
    return int(row["confirmed"]) if row else 0


def _count_exceptions(raw: psycopg.Connection[Any], day: date) -> int:
    with raw.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT count(*) AS listed FROM qris_exceptions WHERE business_date = %s", (day,)
        )
        row = cur.fetchone()
        return int(row["listed"]) if row else 0
