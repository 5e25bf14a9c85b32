"""QRIS reconciliation of one WIB business day: report lines against expectations, set-based.

Order of matching: lines already confirmed by a gateway notification (same RRN), then bill
number/reference, then NMID + amount inside the expectation's time window (static QRIS has no
reference). Matched receipts are posted net of MDR through the ledger in batches; everything
that does not fit becomes an actionable exception. The caller owns (and commits) the transaction.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import psycopg
from sqlalchemy import Connection

from escrow.ledger import Ledger
from settlement.qris import exceptions
from settlement.qris.accounts import ensure_rail_accounts
from settlement.qris.exceptions import WIB, business_date
from settlement.qris.mdr import MdrSchedule, load_schedule
from settlement.qris.posting import Receipt, post_receipts

fetch_rows_max = 20_000

_SCOPE = """
    CREATE TEMP TABLE qris_scope ON COMMIT DROP AS
    SELECT id, acquirer, rrn, amount_sen, fee_sen, transacted_at, nmid, reference, status
    FROM qris_report_lines
    WHERE match_state = 'new' AND transacted_at >= %(start)s AND transacted_at < %(end)s;
    CREATE UNIQUE INDEX ON qris_scope (id);
    ANALYZE qris_scope;
    CREATE TEMP TABLE qris_pairs (line_id bigint PRIMARY KEY, expectation_id uuid UNIQUE)
        ON COMMIT DROP;
"""
_NOT_PAID = """
    UPDATE qris_report_lines l SET match_state = CASE s.status WHEN 'refunded' THEN 'refund'
        ELSE 'failed' END
    FROM qris_scope s WHERE l.id = s.id AND s.status <> 'paid';
    DELETE FROM qris_scope WHERE status <> 'paid';
"""
_DUPLICATES = """
    UPDATE qris_report_lines l SET match_state = 'duplicate'
    FROM qris_scope s
    WHERE l.id = s.id AND EXISTS (
        SELECT 1 FROM qris_report_lines o
        WHERE o.acquirer = s.acquirer AND o.rrn = s.rrn AND o.status = 'paid' AND o.id < s.id);
"""
_CONFIRMED = """
    UPDATE qris_report_lines l
    SET match_state = CASE WHEN e.gross_sen = s.amount_sen THEN 'confirmed' ELSE 'mismatch' END,
        expectation_id = e.id
    FROM qris_scope s JOIN qris_expectations e
        ON e.matched_rrn = s.rrn AND e.status = 'paid' AND e.matched_source = 'event'
    WHERE l.id = s.id AND l.match_state = 'new';
"""
_BY_REFERENCE = """
    INSERT INTO qris_pairs (line_id, expectation_id)
    SELECT DISTINCT ON (e.id) s.id, e.id
    FROM qris_scope s JOIN qris_report_lines l ON l.id = s.id AND l.match_state = 'new'
    JOIN qris_expectations e ON e.reference = s.reference AND e.status IN ('open', 'expired')
        AND e.amount_sen = s.amount_sen
    ORDER BY e.id, s.id
    ON CONFLICT DO NOTHING;
    ANALYZE qris_pairs;
    UPDATE qris_report_lines l SET match_state = 'mismatch', expectation_id = e.id
    FROM qris_scope s JOIN qris_expectations e
        ON e.reference = s.reference AND e.status IN ('open', 'expired')
    WHERE l.id = s.id AND l.match_state = 'new' AND e.amount_sen <> s.amount_sen;
"""
_STATIC = """
    INSERT INTO qris_pairs (line_id, expectation_id)
    SELECT l.id, e.id FROM (
        SELECT s.id, s.nmid, s.amount_sen, s.transacted_at, row_number() OVER (
            PARTITION BY s.nmid, s.amount_sen ORDER BY s.transacted_at, s.id) AS rank
        FROM qris_scope s JOIN qris_report_lines r ON r.id = s.id AND r.match_state = 'new'
        WHERE s.nmid IS NOT NULL AND NOT EXISTS (SELECT 1 FROM qris_pairs p WHERE p.line_id = s.id)
    ) l JOIN (
        SELECT e.id, e.nmid, e.amount_sen, e.created_at, e.expires_at, row_number() OVER (
            PARTITION BY e.nmid, e.amount_sen ORDER BY e.created_at, e.id) AS rank
        FROM qris_expectations e
        WHERE e.status = 'open' AND e.created_at < %(end)s AND e.expires_at >= %(window_start)s
          AND NOT EXISTS (SELECT 1 FROM qris_pairs p WHERE p.expectation_id = e.id)
    ) e ON e.nmid = l.nmid AND e.amount_sen = l.amount_sen AND e.rank = l.rank
    WHERE e.created_at <= l.transacted_at AND l.transacted_at <= e.expires_at
    ON CONFLICT DO NOTHING;
    ANALYZE qris_pairs;
"""
_CLAIM = """
    CREATE TEMP TABLE qris_claimed ON COMMIT DROP AS
    WITH claimed AS (
        UPDATE qris_expectations e SET status = 'paid', matched_source = 'report',
            matched_rrn = s.rrn, paid_at = s.transacted_at, gross_sen = s.amount_sen
        FROM qris_pairs p JOIN qris_scope s ON s.id = p.line_id
        WHERE e.id = p.expectation_id AND e.status IN ('open', 'expired')
        RETURNING e.id AS expectation_id, p.line_id, e.credit_account, e.criteria,
            e.expires_at, e.reference, e.nmid, s.amount_sen, s.fee_sen, s.rrn, s.transacted_at
    ) SELECT * FROM claimed;
    ANALYZE qris_claimed;
    UPDATE qris_report_lines l SET match_state = 'matched', expectation_id = c.expectation_id
    FROM qris_claimed c WHERE l.id = c.line_id;
    CREATE TEMP TABLE qris_fees (expectation_id uuid PRIMARY KEY, fee_sen bigint NOT NULL)
        ON COMMIT DROP;
    CREATE TEMP TABLE qris_new_exceptions (LIKE qris_exceptions INCLUDING DEFAULTS)
        ON COMMIT DROP;
"""
_CLAIMED_ROWS = """
    SELECT expectation_id, line_id, credit_account, criteria, expires_at, amount_sen, fee_sen,
        rrn, transacted_at, reference, nmid
    FROM qris_claimed ORDER BY line_id
"""
_EXCEPTION_COLUMNS = (
    "business_date, kind, source, source_id, expectation_id, rrn, reference, nmid,"
    " expected_sen, actual_sen, detail, action"
)
_FINISH = """
    ANALYZE qris_fees;
    UPDATE qris_expectations e SET fee_sen = f.fee_sen FROM qris_fees f
    WHERE e.id = f.expectation_id;
    INSERT INTO qris_exceptions (business_date, kind, source, source_id, expectation_id, rrn,
        reference, nmid, expected_sen, actual_sen, detail, action)
    SELECT business_date, kind, source, source_id, expectation_id, rrn, reference, nmid,
        expected_sen, actual_sen, detail, action
    FROM qris_new_exceptions ON CONFLICT DO NOTHING;
"""
_LINE_EXCEPTIONS = """
    INSERT INTO qris_exceptions (business_date, kind, source, source_id, expectation_id, rrn,
        reference, nmid, expected_sen, actual_sen, detail, action)
    SELECT %(day)s, k.kind, 'report', l.id::text, l.expectation_id, l.rrn, l.reference, l.nmid,
        e.amount_sen, l.amount_sen,
        format('%%s line %%s of %%s: RRN %%s, %%s sen', l.acquirer, l.line_no, l.source_file,
               l.rrn, l.amount_sen),
        k.action
    FROM qris_report_lines l
    JOIN (VALUES ('duplicate', 'duplicate', %(duplicate)s), ('mismatch', 'amount_mismatch',
                  %(amount_mismatch)s), ('refund', 'refund', %(refund)s),
                 ('unmatched', 'unmatched_report', %(unmatched_report)s))
        AS k(state, kind, action) ON k.state = l.match_state
    LEFT JOIN qris_expectations e ON e.id = l.expectation_id
    WHERE l.id IN (SELECT id FROM qris_scope_all)
    ON CONFLICT DO NOTHING;
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
        %(action)s
    FROM expired ON CONFLICT DO NOTHING;
"""
_UNREPORTED = """
    INSERT INTO qris_exceptions (business_date, kind, source, source_id, expectation_id, rrn,
        reference, nmid, expected_sen, detail, action)
    SELECT %(day)s, 'unreported_payment', 'expectation', e.id::text, e.id, e.matched_rrn,
        e.reference, e.nmid, e.gross_sen,
        format('gateway payment %%s (RRN %%s) not in any report', e.matched_tx_id, e.matched_rrn),
        %(action)s
    FROM qris_expectations e
    WHERE e.status = 'paid' AND e.matched_source = 'event'
      AND e.paid_at >= %(start)s AND e.paid_at < %(end)s
      AND EXISTS (SELECT 1 FROM qris_scope_all)
      AND NOT EXISTS (SELECT 1 FROM qris_report_lines l WHERE l.expectation_id = e.id)
    ON CONFLICT DO NOTHING;
"""


@dataclass(frozen=True, slots=True)
class ReconcileSummary:
    """What one run did."""

    business_date: date
    lines: int
    matched: int
    confirmed: int
    postings: int
    exceptions: int


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[00:00, 24:00) WIB of ``day``, as aware datetimes."""
    start = datetime.combine(day, time(0), tzinfo=WIB)
    return start, start + timedelta(days=1)


def reconcile_day(
    conn: Connection, day: date, *, now: datetime, expectation_ttl_max: timedelta
) -> ReconcileSummary:
    """Match, post and report one business day; re-running it changes nothing more."""
    start, end = day_bounds(day)
    params = {"start": start, "end": end, "window_start": start - expectation_ttl_max}
    raw = _driver(conn)
    before = _count_exceptions(raw, day)
    with raw.cursor() as cur:
        _run(cur, _SCOPE, params)
        _run(cur, "CREATE TEMP TABLE qris_scope_all ON COMMIT DROP AS SELECT id FROM qris_scope")
        lines = _scalar(cur, "SELECT count(*) FROM qris_scope")
        _run(cur, _NOT_PAID)
        _run(cur, _DUPLICATES)
        confirmed = _run(cur, _CONFIRMED)
        _run(cur, _BY_REFERENCE)
        _run(cur, _STATIC, params)
        _run(cur, _CLAIM)
    postings = _post_claimed(conn, raw, load_schedule(conn))
    with raw.cursor() as cur:
        _run(cur, _FINISH)
        cur.execute(
            "UPDATE qris_report_lines l SET match_state = 'unmatched' FROM qris_scope s"
            " WHERE l.id = s.id AND l.match_state = 'new'"
        )
        actions = {kind: exceptions.ACTIONS[kind] for kind in exceptions.ACTIONS}
        cur.execute(_LINE_EXCEPTIONS, {"day": day, **actions})
        cur.execute(_EXPIRE, params | {"day": day, "now": now,
                                       "action": actions["unmatched_expectation"]})  # fmt: skip
        cur.execute(_UNREPORTED, params | {"day": day, "action": actions["unreported_payment"]})
        matched = _scalar(cur, "SELECT count(*) FROM qris_claimed")
        for table in ("qris_claimed", "qris_fees", "qris_new_exceptions", "qris_scope",
                      "qris_scope_all", "qris_pairs"):  # fmt: skip
            cur.execute(f"DROP TABLE {table}")
        new_exceptions = _count_exceptions(raw, day) - before
        cur.execute(
            "INSERT INTO qris_reconciliation_runs (business_date, lines_matched, lines_confirmed,"
            " exceptions, postings) VALUES (%s, %s, %s, %s, %s)",
            (day, matched, confirmed, new_exceptions, postings),
        )
    return ReconcileSummary(day, lines, matched, confirmed, postings, new_exceptions)


def _post_claimed(conn: Connection, raw: psycopg.Connection[Any], schedule: MdrSchedule) -> int:
    """Stream the claimed pairs, price MDR, post receipts and stage fees and exceptions."""
    ledger = Ledger(conn)
    ensure_rail_accounts(ledger)
    postings = 0
    with raw.cursor(name="qris_claimed_rows") as rows:
        rows.itersize = fetch_rows_max
        rows.execute(_CLAIMED_ROWS)
        while chunk := rows.fetchmany(fetch_rows_max):
            receipts, fees, problems = _price(chunk, schedule)
            postings += post_receipts(ledger, receipts)
            _copy(raw, "qris_fees (expectation_id, fee_sen)", fees)
            _copy(raw, f"qris_new_exceptions ({_EXCEPTION_COLUMNS})", problems)
    return postings


def _price(
    chunk: list[tuple[Any, ...]], schedule: MdrSchedule
) -> tuple[list[Receipt], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    receipts: list[Receipt] = []
    fees: list[tuple[Any, ...]] = []
    problems: list[tuple[Any, ...]] = []
    for (expectation_id, line_id, account, criteria, expires_at, gross, reported, rrn, at,
         reference, nmid) in chunk:  # fmt: skip
        day = business_date(at)
        quote = schedule.quote(criteria, gross, day)
        fee = quote.floor_sen if reported is None else min(reported, gross)
        if reported is not None and not quote.accepts(reported):
            problems.append(_problem(day, "fee_mismatch", line_id, expectation_id, rrn, reference,
                                     nmid, quote.floor_sen, reported,
                                     f"RRN {rrn}: MDR {reported} sen reported, "
                                     f"{quote.floor_sen} sen scheduled"))  # fmt: skip
        if at > expires_at:
            problems.append(_problem(day, "late", line_id, expectation_id, rrn, reference, nmid,
                                     gross, gross, f"RRN {rrn} paid {at.isoformat()}, "
                                     f"expired {expires_at.isoformat()}"))  # fmt: skip
        receipts.append(Receipt(expectation_id, account, gross, fee, rrn, "report"))
        fees.append((expectation_id, fee))
    return receipts, fees, problems


def _problem(
    day: date,
    kind: str,
    line_id: int,
    expectation_id: uuid.UUID,
    rrn: str,
    reference: str | None,
    nmid: str | None,
    expected: int,
    actual: int,
    detail: str,
) -> tuple[Any, ...]:
    return (day, kind, "report", str(line_id), expectation_id, rrn, reference, nmid, expected,
            actual, detail, exceptions.ACTIONS[kind])  # fmt: skip


def _copy(raw: psycopg.Connection[Any], target: str, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    with raw.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _run(cur: psycopg.Cursor[Any], script: str, params: dict[str, Any] | None = None) -> int:
    """Run a constant multi-statement script one statement at a time; rows of the last."""
    rowcount = 0
    for statement in script.split(";"):
        if statement.strip():
            cur.execute(statement, params if "%(" in statement else None)
            rowcount = cur.rowcount
    return rowcount


def _scalar(cur: psycopg.Cursor[Any], query: str) -> int:
    cur.execute(query)
    row = cur.fetchone()
    return int(row[0]) if row else 0


def _count_exceptions(raw: psycopg.Connection[Any], day: date) -> int:
    with raw.cursor() as cur:
        cur.execute("SELECT count(*) FROM qris_exceptions WHERE business_date = %s", (day,))
        row = cur.fetchone()
        return int(row[0]) if row else 0


def _driver(conn: Connection) -> psycopg.Connection[Any]:
    driver = conn.connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise TypeError("QRIS reconciliation needs the psycopg 3 driver")
    return driver
