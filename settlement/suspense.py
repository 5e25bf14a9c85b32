"""Money that verifiably arrived (or left) but the ledger refused to book: suspense, never lost.

The one path for that case on every rail (decision 0011). The refused transfer is replaced by a
transfer of the same amount between the account where the money really is (custody, clearing,
the on-chain float) and the asset's suspense account (``suspense:{asset}`` in the chart), and a
``suspense_items`` row records why. Both are written in the caller's transaction, which then
goes on as if the booking succeeded: nothing is raised, so no retry loop treats a bookkeeping
problem as a network failure. The alarm is the log event ``money_in_suspense`` (error level)
and the counter ``msc_money_in_suspense`` (settlement/metrics.py). An operator resolves each
item by a correcting transfer out of suspense.

If even the suspense posting is refused (a closed period), the ``suspense_items`` row alone
keeps the arrival, with no ``suspense_transfer_id``, and the alarm says so.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import Connection, text

from escrow.model import ResultCode, TransferRequest, transfer_id
from escrow.ports import LedgerProtocol
from settlement import chart
from settlement.chart import TransferCode

log = structlog.get_logger(__name__)
SUSPENSE_NAMESPACE = "suspense"
reason_chars_max = 256


@dataclass(frozen=True, slots=True)
class Unbooked:
    """A movement of real money the ledger refused: the transfer it should have been.

    ``leaving`` is False for money that came in (it sits on ``debit``, e.g. custody) and True
    for money that went out (it left ``credit``, e.g. custody).
    """

    rail: str
    transfer_id: uuid.UUID
    asset: str
    amount: int
    debit: str
    credit: str
    external_ref: str | None
    leaving: bool = False


@dataclass(frozen=True, slots=True)
class SuspenseBooking:
    """What ``book_to_suspense`` did; ``transfer_id`` is None when suspense refused too."""

    transfer_id: uuid.UUID | None
    suspense_account: str
    reason: str


def suspense_transfer_id(refused: uuid.UUID) -> uuid.UUID:
    """The suspense transfer of a refused transfer: the same refusal books once."""
    return transfer_id(SUSPENSE_NAMESPACE, str(refused))


def book_to_suspense(
    conn: Connection, ledger: LedgerProtocol, unbooked: Unbooked, why: ResultCode | str
) -> SuspenseBooking:
    """Book ``unbooked`` to its asset's suspense account, record it, raise the alarm; never
    raises for a ledger refusal (see the module docstring)."""
    reason = f"{unbooked.rail}: ledger refused {unbooked.transfer_id}: {why}"[:reason_chars_max]
    spec = chart.suspense(unbooked.asset)
    chart.ensure_open(ledger, spec)
    sid = suspense_transfer_id(unbooked.transfer_id)
    debit, credit = (
        (spec.code, unbooked.credit) if unbooked.leaving else (unbooked.debit, spec.code)
    )
    result = ledger.post(
        TransferRequest(
            id=sid,
            debit=debit,
            credit=credit,
            amount=unbooked.amount,
            asset=unbooked.asset,
            code=TransferCode.SUSPENSE,
            external_ref=unbooked.external_ref,
            user_data={
                "refused": str(unbooked.transfer_id),
                "debit": unbooked.debit,
                "credit": unbooked.credit,
                "reason": str(why),
            },
        )
    )
    posted = sid if result.ok else None
    conn.execute(
        text(
            "INSERT INTO suspense_items (transfer_id, rail, asset, amount, debit, credit,"
            " external_ref, reason, suspense_transfer_id) VALUES (:tid, :rail, :asset, :amount,"
            " :debit, :credit, :ref, :reason, :sid) ON CONFLICT (transfer_id) DO NOTHING"
        ),
        {
            "tid": unbooked.transfer_id,
            "rail": unbooked.rail,
            "asset": unbooked.asset,
            "amount": unbooked.amount,
            "debit": unbooked.debit,
            "credit": unbooked.credit,
            "ref": unbooked.external_ref,
            "reason": reason,
            "sid": posted,
        },
    )
    log.error(
        "money_in_suspense",
        rail=unbooked.rail,
        asset=unbooked.asset,
        amount=unbooked.amount,
        refused_transfer_id=str(unbooked.transfer_id),
        suspense_transfer_id=str(posted) if posted else None,
        reason=reason,
        suspense_result=str(result.code),
    )
    return SuspenseBooking(posted, spec.code, reason)
