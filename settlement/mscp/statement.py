"""A Pioneer's points as they read them: the balance, what expires when (FIFO), and the history
of every credit, spend and expiry from the ledger."""

from __future__ import annotations

from typing import Any

from escrow.calendar import from_us, iso_or_none
from escrow.errors import AccountNotFound
from escrow.model import TransferFlags
from escrow.sql import sql
from settlement import chart
from settlement.mscp.lots import balance, held
from settlement.unit_of_work import UnitOfWork

history_max = 100


def statement(uow: UnitOfWork, uid: str, after_ts: int = 0) -> dict[str, Any]:
    """``uid``'s points: balance, the expiry schedule of what is held, and a page of history."""
    code = chart.pioneer_balance(uid, "MSCP").code
    schedule = [
        {
            "source": lot.source,
            "points": lot.remaining,
            "issued_at": lot.issued_at.isoformat(),
            "expires_at": iso_or_none(lot.expires_at),
        }
        for lot in held(uow, uid)
        if lot.remaining > 0
    ]
    rows = uow.conn.execute(
        sql(
            "SELECT t.ts, t.code, t.amount, t.flags, t.credit_account_id = a.id AS credit"
            " FROM accounts a JOIN transfers t"
            " ON t.debit_account_id = a.id OR t.credit_account_id = a.id"
            " WHERE a.code = :code AND t.ts > :after ORDER BY t.ts LIMIT :limit"
        ),
        {"code": code, "after": after_ts, "limit": history_max},
    ).all()
    history = [
        {
            "ts": int(r.ts),
            "at": from_us(int(r.ts)).isoformat(),
            "code": str(r.code),
            "points": int(r.amount) if r.credit else -int(r.amount),
            "pending": int(r.flags) == TransferFlags.PENDING,
            "voided": int(r.flags) == TransferFlags.VOID_PENDING,
        }
        for r in rows
    ]
    try:
        promised = uow.ledger.balance(code).pending_in
    except AccountNotFound:
        promised = 0
    return {
        "uid": uid,
        "balance": balance(uow, uid),
        "reserved_for_locks": promised,
        "expiry_schedule": schedule,
        "history": history,
        "next_after_ts": history[-1]["ts"] if len(history) == history_max else None,
    }
