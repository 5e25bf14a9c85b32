"""Merchants who keep Pi are paid by A2U at the cut, through the Pi rail's own payout path.

Each merchant with a Pi uid is paid its available ``merchant:{id}:PI`` less what was credited
after the cut-off; ``a2u.request_payout`` reserves it (pending) in the cut's unit of work and
queues the payout's steps on the outbox. The payout's key is ``payout:<batch id>:<merchant>``,
so a day pays a merchant at most once, and a retried cut requests the same payout.
"""

from __future__ import annotations

from sqlalchemy import text

from settlement.pi import a2u
from settlement.pi.deps import PiDeps
from settlement.unit_of_work import UnitOfWork

_DUE = """
    WITH later AS (
        SELECT credit_account_id AS account_id, sum(amount) AS units FROM transfers
         WHERE ts > :cutoff_us AND flags IN (0, 4) GROUP BY 1
    )
    SELECT m.id, m.pi_uid, a.code, due.units
      FROM merchants m
      JOIN accounts a ON a.code = 'merchant:' || m.id || '\\:PI'
      LEFT JOIN later ON later.account_id = a.id
      CROSS JOIN LATERAL (SELECT a.credits_posted - a.debits_posted - a.debits_pending
          - coalesce(later.units, 0) AS units) AS due
     WHERE m.pi_uid IS NOT NULL AND due.units > 0
       AND NOT EXISTS (SELECT 1 FROM pi_payouts p WHERE p.key = :prefix || m.id)
     ORDER BY m.id LIMIT :limit
"""
"""Each merchant with a Pi uid is owed its available Pi less what was credited after the
cut-off."""


def payout_key(batch_id: str, merchant_id: str) -> str:
    """The A2U payout's idempotency key."""
    return f"payout:{batch_id}:{merchant_id}"


def pay_pi_merchants(
    uow: UnitOfWork, pi: PiDeps | None, batch_id: str, cutoff_us: int, limit: int
) -> int:
    """Request the day's A2U payouts; how many (none when the Pi rail is not configured)."""
    if pi is None:
        return 0
    rows = uow.conn.execute(
        text(_DUE),
        {"cutoff_us": cutoff_us, "prefix": payout_key(batch_id, ""), "limit": limit},
    ).all()
    for merchant_id, uid, account, units in rows:
        a2u.request_payout(
            uow,
            pi,
            key=payout_key(batch_id, merchant_id),
            uid=uid,
            amount_units=int(units),
            memo=f"Payout {batch_id} {merchant_id}",
            debit_account=account,
        )
    return len(rows)
