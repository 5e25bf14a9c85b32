"""A Pioneer's points as they read them: the balance, what expires when (FIFO), and the history
of every credit, spend and expiry from the ledger."""

from __future__ import annotations

from typing import Any

from escrow.calendar import from_us
from escrow.errors import AccountNotFound
from escrow.ledger import Ledger
from escrow.model import TransferFlags
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
            "expires_at": None if lot.expires_at is None else lot.expires_at.isoformat(),
        }
        for lot in held(uow, uid)
        if lot.remaining > 0
    ]
    try:
        records = Ledger(uow.conn).history(code, after_ts=after_ts, limit=history_max)  # a read
        promised = uow.ledger.balance(code).pending_in
    except AccountNotFound:
        records, promised = [], 0
    history = [
        {
            "ts": r.timestamp,
            "at": from_us(r.timestamp).isoformat(),
            "code": r.code,
            "points": r.amount if r.credit == code else -r.amount,
            "pending": bool(r.flags & TransferFlags.PENDING),
        }
        for r in records
    ]
    return {
        "uid": uid,
        "balance": balance(uow, uid),
        "reserved_for_locks": promised,
        "expiry_schedule": schedule,
        "history": history,
        "next_after_ts": records[-1].timestamp if len(records) == history_max else None,
    }
