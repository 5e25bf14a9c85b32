"""Ingesting the bank's confirmation of a batch: each accepted line posts its hold (the money
leaves to the bank), each rejected line voids it (the money is back in its account) with the
bank's reason recorded.

The file is read as a stream into a temporary table; only when every line was read, the control
line checked and every line matched to the batch (each line once, with its amount, all of them)
is anything changed, in the same unit of work. A refused file leaves nothing behind. The same
confirmation again answers the batch as confirmed and changes nothing; another one for a
confirmed batch is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import text

from chain.bank.confirmation import ConfirmationReader
from chain.bank.errors import CONFIRMATION_LINE_UNKNOWN
from chain.bank.transfer_file import line_reference
from escrow.calendar import from_us
from escrow.errors import InvariantViolation
from escrow.model import TransferFlags, TransferRequest, transfer_id
from escrow.rules import batch_transfers_max
from settlement.chart import TransferCode
from settlement.payouts import store
from settlement.payouts.cut import hold_id
from settlement.payouts.errors import (
    BATCH_CONFIRMED,
    CONFIRMATION_BATCH_MISMATCH,
    CONFIRMATION_BATCH_UNKNOWN,
    CONFIRMATION_INCOMPLETE,
    CONFIRMATION_LINE_MISMATCH,
    PayoutRefused,
)
from settlement.payouts.store import Batch
from settlement.unit_of_work import UnitOfWork

PAID_NAMESPACE = "payout.paid"
RETURNED_NAMESPACE = "payout.returned"
_COPY = "COPY payout_answers (line_no, amount_units, accepted, bank_reference, reason) FROM STDIN"


@dataclass(frozen=True, slots=True)
class Confirmed:
    """The batch after its confirmation, and whether this call applied it."""

    batch: Batch
    applied: bool


def confirm(uow: UnitOfWork, stream: BinaryIO, by: str, batch_id: str | None = None) -> Confirmed:
    """Apply the confirmation in ``stream`` (of ``batch_id`` when the caller names one)."""
    reader = ConfirmationReader(stream)
    header = reader.header
    if batch_id is not None and header.batch_id != batch_id:
        raise PayoutRefused(
            f"the file confirms {header.batch_id}, not {batch_id}", code=CONFIRMATION_BATCH_MISMATCH
        )
    batch = store.find(uow.conn, header.batch_id, lock=True)
    if batch is None:
        raise PayoutRefused(f"no payout batch {header.batch_id}", code=CONFIRMATION_BATCH_UNKNOWN)
    if header.file_sha256 != batch.file_sha256:
        raise PayoutRefused(
            f"the file answers another file than {batch.id}'s", code=CONFIRMATION_BATCH_MISMATCH
        )
    _load(uow, reader)
    sha256 = reader.sha256_of_file.hexdigest()
    if batch.status == "confirmed":
        if sha256 == batch.confirmation_sha256:
            return Confirmed(batch, applied=False)
        raise PayoutRefused(f"{batch.id} is confirmed by another file", code=BATCH_CONFIRMED)
    _check(uow, batch)
    _apply(uow, batch)
    return Confirmed(_record(uow, batch, sha256, by), applied=True)


def _load(uow: UnitOfWork, reader: ConfirmationReader) -> None:
    """Every line into ``payout_answers``, streamed by COPY (the reader refuses a bad file)."""
    uow.conn.execute(text("DROP TABLE IF EXISTS payout_answers"))
    uow.conn.execute(
        text(
            "CREATE TEMP TABLE payout_answers ("
            " line_no integer PRIMARY KEY, amount_units bigint NOT NULL, accepted boolean NOT"
            " NULL, bank_reference text NOT NULL, reason text) ON COMMIT DROP"
        )
    )
    raw: Any = uow.conn.connection.driver_connection
    with raw.cursor() as cur, cur.copy(_COPY) as copy:
        for line in reader.lines():
            reason = None if line.accepted else f"{line.reason_code}: {line.reason}".rstrip(": ")
            copy.write_row(
                (line.line_no, line.amount_units, line.accepted, line.bank_reference, reason)
            )
    uow.conn.execute(text("ANALYZE payout_answers"))  # the planner's estimates for the joins


def _check(uow: UnitOfWork, batch: Batch) -> None:
    """Every line of the batch answered once, with its amount, and nothing else."""
    found = uow.conn.execute(
        text(
            "SELECT count(*), count(o.id), count(*) FILTER (WHERE o.amount_units <>"
            " a.amount_units), min(a.line_no) FILTER (WHERE o.id IS NULL), min(a.line_no)"
            " FILTER (WHERE o.amount_units <> a.amount_units) FROM payout_answers a LEFT JOIN"
            " payout_obligations o ON o.batch_id = :batch AND o.line_no = a.line_no"
        ),
        {"batch": batch.id},
    ).one()
    answered, known, wrong, unknown_line, wrong_line = found
    if known != answered:
        raise PayoutRefused(
            f"{batch.id} has no line {line_reference(batch.id, unknown_line)}",
            code=CONFIRMATION_LINE_UNKNOWN,
        )
    if wrong:
        raise PayoutRefused(
            f"line {line_reference(batch.id, wrong_line)}: not the batch's amount",
            code=CONFIRMATION_LINE_MISMATCH,
        )
    if answered != batch.line_count:
        raise PayoutRefused(
            f"{answered} of {batch.line_count} lines answered", code=CONFIRMATION_INCOMPLETE
        )


def _apply(uow: UnitOfWork, batch: Batch) -> None:
    """Resolve the obligations a page of lines at a time, posting or voiding their holds, then
    mark the QRIS refunds and the MSC redemptions paid."""
    now = from_us(uow.clock.now_us())
    raw: Any = uow.conn.connection.driver_connection  # rows as tuples: a page is 8,190 of them
    for first in range(1, batch.line_count + 1, batch_transfers_max):
        with raw.cursor() as cur:
            rows = cur.execute(
                _RESOLVE_PAGE,
                {"batch": batch.id, "now": now, "first": first,
                 "last": first + batch_transfers_max - 1},
            ).fetchall()  # fmt: skip
        requests = [_resolution(batch.id, *row) for row in rows]
        refused = [r for r in uow.ledger.post_batch(requests) if not r.ok]
        if refused:
            raise InvariantViolation(f"a payout hold could not be resolved: {refused[0].code}")
    uow.conn.execute(
        text(
            "UPDATE checkout_refunds r SET status = 'paid' FROM payout_obligations o"
            " WHERE o.batch_id = :batch AND o.kind = 'qris_refund' AND o.status = 'paid'"
            " AND r.transfer_id::text = o.source_ref"
        ),
        {"batch": batch.id},
    )
    uow.conn.execute(
        text(
            "UPDATE msc_redemptions r SET status = 'paid' FROM payout_obligations o"
            " WHERE o.batch_id = :batch AND o.kind = 'redemption' AND o.status = 'paid'"
            " AND r.id::text = o.source_ref"
        ),
        {"batch": batch.id},
    )


_RESOLVE_PAGE = (
    "UPDATE payout_obligations o SET status = CASE WHEN a.accepted THEN 'paid' ELSE 'returned'"
    " END, bank_reference = nullif(a.bank_reference, ''), bank_reason = a.reason,"
    " resolved_at = %(now)s FROM payout_answers a WHERE o.batch_id = %(batch)s"
    " AND o.line_no = a.line_no AND a.line_no BETWEEN %(first)s AND %(last)s"
    " AND o.line_no BETWEEN %(first)s AND %(last)s"  # the page, not the batch, is joined
    " RETURNING o.id, o.line_no, o.amount_units, o.status"
)


def _resolution(
    batch_id: str,
    obligation_id: uuid.UUID,
    line_no: int,
    amount: int,
    status: str,
) -> TransferRequest:
    paid = status == "paid"
    return TransferRequest(
        transfer_id(PAID_NAMESPACE if paid else RETURNED_NAMESPACE, str(obligation_id)),
        "",
        "",
        amount if paid else 0,
        "IDR",
        TransferCode.PAYOUT_PAID if paid else TransferCode.PAYOUT_RETURNED,
        TransferFlags.POST_PENDING if paid else TransferFlags.VOID_PENDING,
        pending_id=hold_id(obligation_id),
        external_ref=line_reference(batch_id, line_no),
    )


def _record(uow: UnitOfWork, batch: Batch, sha256: str, by: str) -> Batch:
    uow.conn.execute(
        text(
            "UPDATE payout_batches b SET status = 'confirmed', confirmed_at = :now,"
            " confirmed_by = :by, confirmation_sha256 = :sha, accepted_count = s.ac,"
            " accepted_units = s.au, rejected_count = s.rc, rejected_units = s.ru FROM (SELECT"
            " count(*) FILTER (WHERE accepted) AS ac, coalesce(sum(amount_units) FILTER (WHERE"
            " accepted), 0) AS au, count(*) FILTER (WHERE NOT accepted) AS rc,"
            " coalesce(sum(amount_units) FILTER (WHERE NOT accepted), 0) AS ru FROM"
            " payout_answers) s WHERE b.id = :id"
        ),
        {"now": from_us(uow.clock.now_us()), "by": by, "sha": sha256, "id": batch.id},
    )
    return store.get(uow.conn, batch.id)
