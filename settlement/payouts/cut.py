"""Cutting the day's batch: every obligation due by the WIB cut-off, its money held, its file's
checksum recorded; merchants who keep Pi are paid by A2U in the same unit of work.

A business day has one batch, written once: cutting it again answers the stored batch. The
batch's lines are numbered in a fixed order (kind, payee, source), each line's money moves by a
pending transfer from its debit account to ``bank:payouts:IDR`` (so it cannot be paid twice,
nor spent meanwhile), and a line is taken only while its debit account's available balance
covers it and the lines before it.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import text

from chain.bank.transfer_file import batch_id_of, line_reference
from escrow.calendar import WIB, business_day, from_us, to_us
from escrow.errors import InvariantViolation
from escrow.model import TransferFlags, TransferRequest, transfer_id
from settlement import chart
from settlement.chart import TransferCode, open_account
from settlement.payouts import obligations, store
from settlement.payouts.errors import CUTOFF_NOT_REACHED, NOTHING_DUE, PayoutRefused
from settlement.payouts.pi import pay_pi_merchants
from settlement.payouts.store import Batch, StoredLine
from settlement.payouts.transfer_file import write_file
from settlement.pi.deps import PiDeps
from settlement.unit_of_work import UnitOfWork

HOLD_NAMESPACE = "payout.hold"
_CUT_LOCK = "payout-cut"
_UNSET_SHA256 = "0" * 64


@dataclass(frozen=True, slots=True)
class CutPolicy:
    """The treasury's settings for the cut (``MSC_PAYOUT_CUTOFF_WIB``, ``MSC_PAYOUT_LINES_MAX``)."""

    cutoff: time
    lines_max: int

    @classmethod
    def of(cls, cutoff_wib: str, lines_max: int) -> CutPolicy:
        """From the settings' ``HH:MM``."""
        hour, minute = cutoff_wib.split(":")
        return cls(time(int(hour), int(minute)), lines_max)


@dataclass(frozen=True, slots=True)
class CutResult:
    """The day's batch (None when only Pi payouts were due) and the A2U payouts requested."""

    batch: Batch | None
    pi_payouts: int
    written: bool


def hold_id(obligation_id: uuid.UUID) -> uuid.UUID:
    """The pending transfer holding an obligation's money."""
    return transfer_id(HOLD_NAMESPACE, str(obligation_id))


def cutoff_at_us(day: date, cutoff: time) -> int:
    """The cut-off of ``day`` (WIB) in µs."""
    return to_us(datetime.combine(day, cutoff, tzinfo=WIB))


def cut(
    uow: UnitOfWork, day: date | None, policy: CutPolicy, by: str, pi: PiDeps | None
) -> CutResult:
    """Cut the batch of business ``day`` (today's, WIB, when None); refused before its cut-off,
    or when nothing is due."""
    conn = uow.conn
    if day is None:
        day = business_day(from_us(uow.clock.now_us()))
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:lock))"), {"lock": _CUT_LOCK})
    batch_id = batch_id_of(day)
    existing = store.find(conn, batch_id)
    if existing is not None:
        return CutResult(existing, 0, written=False)
    now_us = uow.clock.now_us()
    cutoff_us = cutoff_at_us(day, policy.cutoff)
    if now_us < cutoff_us:
        raise PayoutRefused(
            f"the cut-off of {day} ({policy.cutoff:%H:%M} WIB) has not passed",
            code=CUTOFF_NOT_REACHED,
        )
    open_account(uow.ledger, chart.bank_payouts())
    count, total = _pick(uow, day, cutoff_us, policy.lines_max)
    pi_payouts = pay_pi_merchants(uow, pi, batch_id, cutoff_us, policy.lines_max)
    if count == 0:
        if pi_payouts == 0:
            raise PayoutRefused(f"nothing is due by the cut-off of {day}", code=NOTHING_DUE)
        return CutResult(None, pi_payouts, written=True)
    conn.execute(
        text(
            "INSERT INTO payout_batches (id, business_day, cutoff_at, created_at, created_by,"
            " line_count, total_units, file_sha256, status) VALUES (:id, :day, :cutoff, :now,"
            " :by, :count, :total, :sha, 'held')"
        ),
        {
            "id": batch_id,
            "day": day,
            "cutoff": from_us(cutoff_us),
            "now": from_us(now_us),
            "by": by,
            "count": count,
            "total": total,
            "sha": _UNSET_SHA256,
        },
    )
    _take(uow, batch_id, now_us)
    return CutResult(_hold_and_seal(uow, batch_id), pi_payouts, written=True)


_PICK = f"""
    CREATE TEMP TABLE payout_pick ON COMMIT DROP AS
    WITH due AS ({obligations.DUE}), ordered AS (
        SELECT due.*, sum(due.amount_units) OVER (PARTITION BY due.debit_account
                   ORDER BY due.kind, due.payee, due.source_ref) AS running,
               a.credits_posted - a.debits_posted - a.debits_pending AS available
          FROM due JOIN accounts a ON a.code = due.debit_account WHERE a.asset = 'IDR'
    )
    SELECT id, kind, source_ref, payee, bank_code, account_number, holder_name, amount_units,
           debit_account, due_at,
           row_number() OVER (ORDER BY kind, payee, source_ref)::integer AS line_no
      FROM ordered WHERE running <= available
     ORDER BY kind, payee, source_ref LIMIT :lines_max
"""  # noqa: S608 - composed of constant SQL
"""The lines of the batch: what is due by the cut-off, in the file's order, each only while its
debit account covers it with those before it. (kind, payee, source_ref) is unique among what is
due, so the order is total."""


def _pick(uow: UnitOfWork, day: date, cutoff_us: int, lines_max: int) -> tuple[int, int]:
    uow.conn.execute(text("DROP TABLE IF EXISTS payout_pick"))
    uow.conn.execute(
        text(_PICK),
        {
            "day": day.isoformat(),
            "cutoff": from_us(cutoff_us),
            "cutoff_us": cutoff_us,
            "refunds": chart.qris_refunds().code,
            "redemptions": chart.redemptions_payable().code,
            "lines_max": lines_max,
        },
    )
    uow.conn.execute(text("ANALYZE payout_pick"))  # the planner's estimates for the writes
    row = uow.conn.execute(
        text("SELECT count(*), coalesce(sum(amount_units), 0) FROM payout_pick")
    ).one()
    return int(row[0]), int(row[1])


def _take(uow: UnitOfWork, batch_id: str, now_us: int) -> None:
    """Record the lines the cut found (held at once) and take the recorded ones into the batch."""
    params = {"batch": batch_id, "now": from_us(now_us)}
    uow.conn.execute(
        text(
            "INSERT INTO payout_obligations (id, kind, source_ref, payee, bank_code,"
            " account_number, holder_name, amount_units, debit_account, due_at, created_at,"
            " status, batch_id, line_no) SELECT gen_random_uuid(), kind, source_ref, payee,"
            " bank_code, account_number, holder_name, amount_units, debit_account, due_at, :now,"
            " 'held', :batch, line_no FROM payout_pick WHERE id IS NULL"
        ),
        params,
    )
    uow.conn.execute(
        text(
            "UPDATE payout_obligations o SET status = 'held', batch_id = :batch,"
            " line_no = p.line_no FROM payout_pick p WHERE p.id IS NOT NULL AND o.id = p.id"
        ),
        params,
    )


_REDEMPTIONS_PAYABLE = chart.redemptions_payable().code
_RESERVE_BANK = chart.reserve_bank().code
_BANK_PAYOUTS = chart.bank_payouts().code


def paid_from(debit_account: str) -> str:
    """The bank account a line's Rupiah leaves by: what is owed on ``payable:redemptions:IDR``
    (MSC redeemed) from the reserve's own account (``reserve:bank:IDR``, so the reserve shrinks
    by what the bank paid), everything else from the treasury's payouts account
    (``bank:payouts:IDR``)."""
    return _RESERVE_BANK if debit_account == _REDEMPTIONS_PAYABLE else _BANK_PAYOUTS


def _hold_and_seal(uow: UnitOfWork, batch_id: str) -> Batch:
    """Write the file once to a digest, holding each page's money as it is written (one pending
    transfer per line, a ledger batch per page), and record the file's checksum."""
    batch = store.get(uow.conn, batch_id)

    def hold(rows: list[StoredLine]) -> None:
        requests = [
            TransferRequest(
                hold_id(row.id),
                row.debit_account,
                paid_from(row.debit_account),
                row.amount_units,
                "IDR",
                TransferCode.PAYOUT_HOLD,
                TransferFlags.PENDING,
                external_ref=line_reference(batch_id, row.line_no),
            )
            for row in rows
        ]
        refused = [r for r in uow.ledger.post_batch(requests) if not r.ok]
        if refused:
            raise InvariantViolation(f"a payout hold was refused: {refused[0].code}")

    digest = hashlib.sha256()
    summary = write_file(uow.conn, batch, digest.update, each_page=hold)
    if (summary.line_count, summary.total_units) != (batch.line_count, batch.total_units):
        raise InvariantViolation(f"batch {batch_id} does not add up to its control figures")
    uow.conn.execute(
        text("UPDATE payout_batches SET file_sha256 = :sha WHERE id = :id"),
        {"sha": summary.sha256, "id": batch_id},
    )
    return store.get(uow.conn, batch_id)
