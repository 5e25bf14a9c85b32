"""Points expire after the treasury's term, first in first out; the job books the breakage.

For each Pioneer holding a lot past its expiry, what is left of the expired lots (FIFO, after
what was spent) leaves ``pioneer:{uid}:MSCP`` for ``income:mscp_breakage:MSCP`` in one transfer
(``points.expired``) that the Pioneer's history shows, and the lots record it. The transfer's id
derives from the lots it expires and what they had expired before, so a rerun or a late run
books each point's expiry once.
"""

from __future__ import annotations

from escrow.calendar import to_us
from escrow.errors import InvariantViolation
from escrow.model import TransferRequest, transfer_id
from escrow.sql import sql
from settlement import chart
from settlement.chart import TransferCode
from settlement.mscp.lots import expiring_uids, held
from settlement.unit_of_work import UnitOfWork

EXPIRY_NAMESPACE = "points.expired"
pioneers_per_run_max = 1000


def expire_pioneer(uow: UnitOfWork, uid: str) -> int:
    """Expire what is left of ``uid``'s lots past their expiry; the points expired."""
    now = uow.clock.now_us()
    lots = held(uow, uid, lock=True)
    due = [
        lot for lot in lots
        if lot.expires_at is not None and to_us(lot.expires_at) <= now
        and lot.remaining > 0
    ]  # fmt: skip
    total = sum(lot.remaining for lot in due)
    if total > 0:
        key = ",".join(f"{lot.transfer_id}:{lot.expired}" for lot in due)
        chart.ensure_open(uow.ledger, chart.mscp_breakage())
        result = uow.ledger.post(
            TransferRequest(
                transfer_id(EXPIRY_NAMESPACE, f"{uid}|{key}"),
                chart.pioneer_balance(uid, "MSCP").code, chart.mscp_breakage().code, total,
                "MSCP", TransferCode.POINTS_EXPIRED,
                user_data={"lots": [str(lot.transfer_id) for lot in due]},
            )
        )  # fmt: skip
        if not result.ok:
            raise InvariantViolation(f"the ledger refused expiring {uid}'s points: {result.code}")
    expired = {lot.transfer_id: lot.remaining for lot in due}
    uow.conn.execute(
        sql(
            "UPDATE mscp_lots l SET expired_units = l.expired_units + c.expired,"
            " remaining = c.remaining FROM unnest(CAST(:ids AS uuid[]), CAST(:exp AS bigint[]),"
            " CAST(:rem AS bigint[])) AS c(id, expired, remaining) WHERE l.transfer_id = c.id"
        ),
        {
            "ids": [lot.transfer_id for lot in lots],
            "exp": [expired.get(lot.transfer_id, 0) for lot in lots],
            "rem": [0 if lot.transfer_id in expired else lot.remaining for lot in lots],
        },
    )
    return total


def expire_due(uow: UnitOfWork, limit: int = pioneers_per_run_max) -> int:
    """Expire the due points of up to ``limit`` Pioneers; the points expired."""
    return sum(
        expire_pioneer(uow, uid) for uid in expiring_uids(uow.conn, uow.clock.now_us(), limit)
    )
