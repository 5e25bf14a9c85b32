"""The ledger's own invariants, recomputed from its rows rather than read from its totals."""

from __future__ import annotations

from sqlalchemy import Connection

from escrow.sql import sql
from settlement.check.model import CheckResult, failed, held, some

_TRIAL = sql(
    "SELECT a.code, coalesce(sum(x.debits_posted), 0) - coalesce(sum(x.credits_posted), 0),"
    " coalesce(sum(x.debits_pending), 0) - coalesce(sum(x.credits_pending), 0)"
    " FROM assets a LEFT JOIN accounts x ON x.asset = a.code GROUP BY a.code ORDER BY a.code"
)


def double_entry(conn: Connection) -> CheckResult:
    """Per asset, the accounts' debits equal their credits, posted and pending alike."""
    rows = [(asset, int(posted), int(pending)) for asset, posted, pending in conn.execute(_TRIAL)]
    off = [f"{asset} posted {posted:+d} pending {pending:+d}" for asset, posted, pending in rows
           if posted or pending]  # fmt: skip
    if off:
        return failed("double_entry", f"unbalanced: {some(off)}")
    return held("double_entry", f"{len(rows)} assets balance")


_FLAGS = sql(
    "SELECT code FROM accounts WHERE ((flags & 1) <> 0"
    " AND debits_pending + debits_posted > credits_posted)"
    " OR ((flags & 2) <> 0 AND credits_pending + credits_posted > debits_posted) ORDER BY code"
)


def account_flags(conn: Connection) -> CheckResult:
    """No account is past what its flags allow (a never-negative account is not negative)."""
    over = [row[0] for row in conn.execute(_FLAGS)]
    if over:
        return failed("account_flags", f"{len(over)} accounts past their flags: {some(over)}")
    return held("account_flags", "every account within its flags")


_TOTALS = sql(
    """
    WITH moved AS (
        SELECT debit_account_id AS id, amount AS dpo, 0::bigint AS cpo FROM transfers
         WHERE flags IN (0, 4)
        UNION ALL
        SELECT credit_account_id, 0, amount FROM transfers WHERE flags IN (0, 4)
    ), posted AS (
        SELECT id, sum(dpo) AS dpo, sum(cpo) AS cpo FROM moved GROUP BY id
    ), held AS (
        SELECT id, sum(dp) AS dp, sum(cp) AS cp FROM (
            SELECT debit_account_id AS id, amount AS dp, 0::bigint AS cp FROM pending_transfers
             WHERE status = 'pending'
            UNION ALL
            SELECT credit_account_id, 0, amount FROM pending_transfers WHERE status = 'pending'
        ) legs GROUP BY id
    )
    SELECT a.code FROM accounts a
      LEFT JOIN posted p ON p.id = a.id LEFT JOIN held h ON h.id = a.id
     WHERE a.debits_posted <> coalesce(p.dpo, 0) OR a.credits_posted <> coalesce(p.cpo, 0)
        OR a.debits_pending <> coalesce(h.dp, 0) OR a.credits_pending <> coalesce(h.cp, 0)
     ORDER BY a.code
    """
)


def running_totals(conn: Connection) -> CheckResult:
    """Every account's running totals equal the sums of its transfers (posted: plain transfers
    and posted holds; pending: the holds still pending). One pass over ``transfers``."""
    off = [row[0] for row in conn.execute(_TOTALS)]
    if off:
        return failed("running_totals", f"{len(off)} accounts disagree with their transfers:"
                      f" {some(off)}")  # fmt: skip
    return held("running_totals", "every account's totals equal the sums of its transfers")


_RESERVATIONS = sql(
    """
    SELECT coalesce(p.id, t.id)::text FROM pending_transfers p
      FULL JOIN (SELECT * FROM transfers WHERE flags = 2) t ON t.id = p.id
      LEFT JOIN transfers r ON r.id = p.resolved_by
     WHERE t.id IS NULL OR p.id IS NULL
        OR (p.debit_account_id, p.credit_account_id, p.amount, p.asset)
           IS DISTINCT FROM (t.debit_account_id, t.credit_account_id, t.amount, t.asset)
        OR (p.status = 'pending') <> (p.resolved_by IS NULL)
        OR (p.resolved_by IS NOT NULL AND (r.id IS NULL OR r.pending_id IS DISTINCT FROM p.id))
     ORDER BY 1
    """
)


def pending_reservations(conn: Connection) -> CheckResult:
    """Every pending transfer has its reservation and every reservation its pending transfer,
    with the same accounts, amount and asset; a resolved one names the transfer resolving it
    (what foreign keys would say, recomputed from the rows: the ledger's trigger writes them)."""
    off = [row[0] for row in conn.execute(_RESERVATIONS)]
    if off:
        return failed("pending_reservations", f"{len(off)} pending transfers disagree with"
                      f" their reservations: {some(off)}")  # fmt: skip
    return held("pending_reservations", "every pending transfer has its reservation, and back")


_PERIODS = sql(
    "SELECT p.period, p.transfer_count, (SELECT count(*) FROM transfers t"
    " WHERE t.ts >= p.starts_at_us AND t.ts <= p.ends_at_us) AS now_count"
    " FROM ledger_periods p WHERE p.closed_at IS NOT NULL ORDER BY p.period"
)


def closed_periods(conn: Connection) -> CheckResult:
    """Nothing was posted in a closed month after its close: each holds the transfers it held
    when it closed."""
    rows = conn.execute(_PERIODS).all()
    grown = [f"{period} ({was} then, {now} now)" for period, was, now in rows if was != now]
    if grown:
        return failed("closed_periods", f"changed after closing: {some(grown)}")
    return held("closed_periods", f"{len(rows)} closed months unchanged")
