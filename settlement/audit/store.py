"""The audit's reads of the ledger tables and its record of published digests.

Read-only over the ledger (a closed month's transfers never change); writes only
``audit_digests``. The caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import Connection, text

rows_per_fetch = 10_000
"""Transfers are streamed from a server-side cursor in pages of this many rows."""

_MONTH_TRANSFERS = """
    SELECT t.id::text, t.ts, d.code AS debit, d.owner AS debit_owner, c.code AS credit,
           c.owner AS credit_owner, t.amount, t.asset, t.code, t.flags, t.pending_id::text,
           coalesce(p.amount, 0) AS released
    FROM transfers t
    JOIN accounts d ON d.id = t.debit_account_id
    JOIN accounts c ON c.id = t.credit_account_id
    LEFT JOIN pending_transfers p ON p.id = t.pending_id
    WHERE t.ts BETWEEN :start AND :end
    ORDER BY t.ts
"""
_BALANCES_AT = """
    WITH legs AS (
        SELECT t.debit_account_id AS account_id,
               CASE WHEN t.flags IN (0, 4) THEN t.amount ELSE 0 END AS dpo, 0 AS cpo,
               CASE WHEN t.flags = 2 THEN t.amount WHEN t.flags IN (4, 8) THEN -p.amount
                    ELSE 0 END AS dp, 0 AS cp
        FROM transfers t LEFT JOIN pending_transfers p ON p.id = t.pending_id
        WHERE t.ts > :end
        UNION ALL
        SELECT t.credit_account_id, 0, CASE WHEN t.flags IN (0, 4) THEN t.amount ELSE 0 END,
               0, CASE WHEN t.flags = 2 THEN t.amount WHEN t.flags IN (4, 8) THEN -p.amount
                       ELSE 0 END
        FROM transfers t LEFT JOIN pending_transfers p ON p.id = t.pending_id
        WHERE t.ts > :end
    ), later AS (
        SELECT account_id, sum(dpo) AS dpo, sum(cpo) AS cpo, sum(dp) AS dp, sum(cp) AS cp
        FROM legs GROUP BY account_id
    )
    SELECT a.code, a.owner, a.asset, a.kind,
           a.debits_posted - coalesce(x.dpo, 0) AS debits_posted,
           a.credits_posted - coalesce(x.cpo, 0) AS credits_posted,
           a.debits_pending - coalesce(x.dp, 0) AS debits_pending,
           a.credits_pending - coalesce(x.cp, 0) AS credits_pending
    FROM accounts a LEFT JOIN later x ON x.account_id = a.id
    WHERE (SELECT t.debit_account_id = a.id AND t.ts <= :end FROM transfers t
           WHERE t.debit_account_id >= a.id ORDER BY t.debit_account_id, t.ts LIMIT 1)
       OR (SELECT t.credit_account_id = a.id AND t.ts <= :end FROM transfers t
           WHERE t.credit_account_id >= a.id ORDER BY t.credit_account_id, t.ts LIMIT 1)
"""
"""Each account's totals now (the ledger's running totals), minus what transfers after the
month's end changed: only the transfers since then are read, not the whole history. Whether an
account had a transfer by then is whether its first entry in each history index is dated by
then: one probe of each index, written as a range (``>= a.id``) in the index's order so that
no other plan can serve it. An ``EXISTS`` there (or ``min(ts)``, or an equality on the account)
is planned as a walk of the ``ts`` index filtered by account, which reads every transfer for
each account that has none on that side: with one hot account paying everyone, 49 s of a
1,000,000 transfer export (decision 0032)."""


class TransferRow(NamedTuple):
    """A transfer with its accounts' codes and owners, and the pending amount it resolves (a
    tuple: a month's million are made from the cursor's rows as they come)."""

    id: str
    ts: int
    debit: str
    debit_owner: str | None
    credit: str
    credit_owner: str | None
    amount: int
    asset: str
    code: str
    flags: int
    pending_id: str | None
    released: int


@dataclass(frozen=True, slots=True)
class BalanceRow:
    """An account's four totals as they stood at the end of a month."""

    code: str
    owner: str | None
    asset: str
    kind: str
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int


def closed_transfer_count(conn: Connection, period: str) -> int | None:
    """How many transfers the month had when it was closed, or None if it is not closed."""
    count = conn.execute(
        text("SELECT transfer_count FROM ledger_periods WHERE period = :p"), {"p": period}
    ).scalar_one_or_none()
    return None if count is None else int(count)


def month_transfers(conn: Connection, start_us: int, end_us: int) -> Iterator[TransferRow]:
    """The month's transfers in ledger-timestamp order, streamed."""
    result = conn.execute(
        text(_MONTH_TRANSFERS),
        {"start": start_us, "end": end_us},
        execution_options={"stream_results": True, "yield_per": rows_per_fetch},
    )
    make = TransferRow._make
    for fields in result:
        yield make(fields)


def balances_at(conn: Connection, end_us: int) -> list[BalanceRow]:
    """Every account with a transfer at or before ``end_us``, with its totals as of then."""
    rows = conn.execute(text(_BALANCES_AT), {"end": end_us}).all()
    return [
        BalanceRow(
            code=r.code,
            owner=r.owner,
            asset=r.asset,
            kind=r.kind,
            debits_posted=int(r.debits_posted),
            credits_posted=int(r.credits_posted),
            debits_pending=int(r.debits_pending),
            credits_pending=int(r.credits_pending),
        )
        for r in rows
    ]


def recorded_digest(conn: Connection, period: str) -> str | None:
    """The digest published for ``period``, if any."""
    value = conn.execute(
        text("SELECT digest FROM audit_digests WHERE period = :p"), {"p": period}
    ).scalar_one_or_none()
    return None if value is None else str(value)


def recorded_manifest(conn: Connection, period: str) -> str | None:
    """The exact canonical manifest recorded for ``period``, if any."""
    value = conn.execute(
        text("SELECT manifest FROM audit_digests WHERE period = :p"), {"p": period}
    ).scalar_one_or_none()
    return None if value is None else str(value)


def latest_digest_before(conn: Connection, period: str) -> tuple[str, str] | None:
    """The newest published (period, digest) before ``period``: the link of the chain."""
    row = conn.execute(
        text(
            "SELECT period, digest FROM audit_digests WHERE period < :p"
            " ORDER BY period DESC LIMIT 1"
        ),
        {"p": period},
    ).one_or_none()
    return None if row is None else (str(row.period), str(row.digest))


def closed_unpublished_between(conn: Connection, after: str | None, before: str) -> list[str]:
    """Closed months strictly between ``after`` and ``before`` that have no digest yet."""
    rows = conn.execute(
        text(
            "SELECT l.period FROM ledger_periods l"
            " LEFT JOIN audit_digests d ON d.period = l.period"
            " WHERE d.period IS NULL AND l.period < :before AND l.period > :after"
            " ORDER BY l.period"
        ),
        {"before": before, "after": after or ""},
    ).all()
    return [str(row.period) for row in rows]


def record_digest(
    conn: Connection, period: str, digest: str, previous: str | None, manifest: str
) -> None:
    """Record a month's published digest and the exact manifest it hashes."""
    conn.execute(
        text(
            "INSERT INTO audit_digests (period, digest, previous_period, manifest)"
            " VALUES (:p, :d, :prev, :m)"
        ),
        {"p": period, "d": digest, "prev": previous, "m": manifest},
    )
