"""U2A (user-to-app) payments: approve on the first callback, credit and complete on the second.

Both callbacks are retried by the Pi app about every 10 s, so each step is idempotent: approval
re-checks and re-approves; completion returns the recorded outcome once the payment is credited.
Nothing is credited before the transaction is verified on chain; the Pi `complete` call leaves
through the outbox, in the same database transaction as the ledger posting.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy import Connection, text

from chain.pi import errors as chain_errors
from chain.pi.dto import PiPayment
from chain.pi.ids import check_payment_id, check_txid
from chain.pi.verify import ExpectedPayment, verify_payment
from escrow.calendar import from_us
from escrow.ledger import Ledger
from escrow.model import TransferRequest, transfer_id
from settlement.chart import TransferCode
from settlement.outbox import enqueue
from settlement.pi.accounts import CUSTODY, PI, ensure_custody
from settlement.pi.custody import lock_txid
from settlement.pi.deps import PiDeps
from settlement.pi.errors import PiRefusal
from settlement.pi.expectations import (
    Expectation,
    find_by_reference,
    purpose_from_metadata,
    reference_from_metadata,
)
from settlement.suspense import Unbooked, book_to_suspense

log = structlog.get_logger(__name__)
OUTBOX_COMPLETE = "pi.complete"
TRANSFER_NAMESPACE = "pi.payment"


@dataclass(frozen=True)
class U2AOutcome:
    """What a callback achieved."""

    payment_id: str
    status: str
    txid: str | None = None
    transfer_id: uuid.UUID | None = None
    code: str | None = None


def fetch_payment(deps: PiDeps, payment_id: str) -> PiPayment:
    """The payment as Pi reports it, with Pi's errors turned into refusals."""
    try:
        return deps.platform.get_payment(payment_id)
    except chain_errors.PaymentNotFoundError as exc:
        raise PiRefusal("pi_payment_not_found", "Pi does not know this payment") from exc
    except chain_errors.PiError as exc:
        raise PiRefusal(exc.code, str(exc)) from exc


def _check_payment(
    deps: PiDeps, payment: PiPayment, exp: Expectation | None, caller_uid: str | None
) -> Expectation:
    """Every check a U2A payment must pass against its expectation; the first failure refuses."""
    if exp is None:
        raise PiRefusal("pi_expectation_not_found", "the payment names no open expectation")
    if payment.status.any_cancelled:
        raise PiRefusal("pi_payment_cancelled", "the payment was cancelled")
    if payment.direction != "user_to_app":
        raise PiRefusal("pi_direction_mismatch", "expected a user-to-app payment")
    if payment.network != deps.network:
        raise PiRefusal("pi_network_mismatch", f"payment is on {payment.network!r}")
    if caller_uid is not None and payment.user_uid != caller_uid:
        raise PiRefusal("pi_payer_mismatch", "the payment belongs to another Pioneer")
    if exp.payer_uid is not None and payment.user_uid != exp.payer_uid:
        raise PiRefusal("pi_payer_mismatch", "the expectation is for another Pioneer")
    if purpose_from_metadata(payment.metadata) != exp.purpose:
        raise PiRefusal("pi_purpose_mismatch", "the payment's purpose differs")
    if payment.amount_units != exp.amount_units:
        raise PiRefusal("pi_amount_mismatch", "the payment's amount differs from the expectation")
    if payment.to_address and payment.to_address != deps.app_address:
        raise PiRefusal("pi_destination_mismatch", "the payment goes to another wallet")
    return exp


def _expectation_for(conn: Connection, payment: PiPayment) -> Expectation | None:
    reference = reference_from_metadata(payment.metadata)
    return find_by_reference(conn, reference, lock=True) if reference else None


def approve(conn: Connection, deps: PiDeps, payment_id: str, caller_uid: str | None) -> U2AOutcome:
    """Check the payment against its expectation, record it, and approve it with Pi."""
    pid = _checked_id(payment_id)
    payment = fetch_payment(deps, pid)
    _lock_payment(conn, pid)
    exp = _check_payment(deps, payment, _expectation_for(conn, payment), caller_uid)
    bound = conn.execute(
        text("SELECT expectation_id FROM pi_payments WHERE payment_id = :pid"), {"pid": pid}
    ).scalar_one_or_none()
    _refuse_other_binding(exp, bound)
    if exp.payment_id not in (None, pid):
        raise PiRefusal("pi_expectation_fulfilled", "another payment already took this expectation")
    if exp.payment_id is None:
        if from_us(deps.clock.now_us()) >= exp.expires_at:
            raise PiRefusal("pi_expectation_expired", "the expectation has expired")
        _record_approval(conn, exp, payment)
    if not payment.status.developer_approved:
        try:
            deps.platform.approve(pid)
        except chain_errors.CancelledPaymentError as exc:
            raise PiRefusal("pi_payment_cancelled", "the payment was cancelled") from exc
        except chain_errors.PiError as exc:
            raise PiRefusal(exc.code, str(exc)) from exc
    log.info("pi_u2a_approved", payment_id=pid, reference=exp.reference)
    return U2AOutcome(pid, "approved")


def _lock_payment(conn: Connection, pid: str) -> None:
    """Serialise the first approvals of one payment: its binding is checked, then recorded."""
    conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:pid, 7305003))"), {"pid": pid}
    )


def _refuse_other_binding(exp: Expectation, bound: uuid.UUID | None) -> None:
    """A payment stays bound to the expectation it was first approved for.

    Pi's metadata is fixed at creation; if Pi now reports it naming another expectation, trust
    neither: nothing is recorded, nothing posted.
    """
    if bound is not None and bound != exp.id:
        raise PiRefusal(
            "pi_expectation_mismatch", "the payment is bound to another expectation than it names"
        )


def _record_approval(conn: Connection, exp: Expectation, payment: PiPayment) -> None:
    conn.execute(
        text("UPDATE pi_expectations SET status = 'approved', payment_id = :pid WHERE id = :id"),
        {"pid": payment.identifier, "id": exp.id},
    )
    conn.execute(
        text(
            "INSERT INTO pi_payments (payment_id, expectation_id, user_uid, from_address,"
            " amount_units, status) VALUES (:pid, :eid, :uid, :from_, :amount, 'approved')"
        ),
        {
            "pid": payment.identifier,
            "eid": exp.id,
            "uid": payment.user_uid,
            "from_": payment.from_address,
            "amount": payment.amount_units,
        },
    )


def _checked_id(payment_id: str) -> str:
    try:
        return check_payment_id(payment_id)
    except chain_errors.PiInputError as exc:
        raise PiRefusal(exc.code, str(exc)) from exc


def _checked_txid(txid: str) -> str:
    try:
        return check_txid(txid)
    except chain_errors.PiInputError as exc:
        raise PiRefusal(exc.code, str(exc)) from exc


def complete(
    conn: Connection, deps: PiDeps, payment_id: str, txid: str, caller_uid: str | None
) -> U2AOutcome:
    """Verify the transaction on chain, post it once to the ledger, queue Pi `complete`."""
    pid, tx = _checked_id(payment_id), _checked_txid(txid)
    row = conn.execute(
        text(
            "SELECT status, txid, transfer_id, user_uid, expectation_id FROM pi_payments"
            " WHERE payment_id = :pid FOR UPDATE"
        ),
        {"pid": pid},
    ).first()
    if row is None:
        raise PiRefusal("pi_not_approved", "this payment was never approved by us")
    if caller_uid is not None and row[3] != caller_uid:
        raise PiRefusal("pi_payer_mismatch", "the payment belongs to another Pioneer")
    if row[0] in ("credited", "completed"):
        if row[1] != tx:
            raise PiRefusal("pi_txid_mismatch", "the payment was credited with another txid")
        return U2AOutcome(pid, str(row[0]), tx, row[2])
    if row[0] == "cancelled":
        raise PiRefusal("pi_payment_cancelled", "the payment was cancelled")
    payment = fetch_payment(deps, pid)
    exp = _check_payment(deps, payment, _expectation_for(conn, payment), caller_uid)
    _refuse_other_binding(exp, row[4])
    if payment.transaction is not None and payment.transaction.txid != tx:
        raise PiRefusal("pi_txid_mismatch", "Pi links another transaction to this payment")
    _refuse_reused_txid(conn, pid, tx)
    _verify_on_chain(deps, payment, tx)
    posted = _post_receipt(conn, exp, payment, tx)
    if posted is None:  # even suspense refused: suspense_items alone holds it (decision 0011)
        return U2AOutcome(pid, "suspense", tx, None)
    conn.execute(
        text(
            "UPDATE pi_payments SET status = 'credited', txid = :tx, transfer_id = :tid,"
            " updated_at = now() WHERE payment_id = :pid"
        ),
        {"tx": tx, "tid": posted, "pid": pid},
    )
    conn.execute(
        text("UPDATE pi_expectations SET status = 'fulfilled' WHERE id = :id"), {"id": exp.id}
    )
    enqueue(conn, OUTBOX_COMPLETE, pid, {"payment_id": pid, "txid": tx})
    log.info("pi_u2a_credited", payment_id=pid, txid=tx, amount_units=payment.amount_units)
    return U2AOutcome(pid, "credited", tx, posted)


def _refuse_reused_txid(conn: Connection, pid: str, tx: str) -> None:
    lock_txid(conn, tx)
    used = conn.execute(
        text(
            "SELECT 1 FROM pi_payments WHERE txid = :tx AND payment_id <> :pid"
            " UNION ALL SELECT 1 FROM pi_payouts WHERE tx_hash = :tx"
            " UNION ALL SELECT 1 FROM pi_custody_deposits WHERE txid = :tx"
        ),
        {"tx": tx, "pid": pid},
    ).first()
    if used is not None:
        raise PiRefusal("pi_txid_reused", "this transaction already paid for something else")


def _verify_on_chain(deps: PiDeps, payment: PiPayment, tx: str) -> None:
    try:
        horizon_tx = deps.chain.transaction(tx)
        verify_payment(
            horizon_tx,
            ExpectedPayment(
                txid=tx,
                payment_id=payment.identifier,
                from_address=payment.from_address,
                to_address=deps.app_address,
                amount_units=payment.amount_units,
                network_passphrase=deps.network,
            ),
        )
    except chain_errors.TxVerificationError as exc:
        log.warning("pi_u2a_refused", payment_id=payment.identifier, txid=tx, code=exc.code)
        raise PiRefusal(exc.code, str(exc)) from exc
    except chain_errors.PiError as exc:
        raise PiRefusal(exc.code, str(exc)) from exc


def _post_receipt(
    conn: Connection, exp: Expectation, payment: PiPayment, tx: str
) -> uuid.UUID | None:
    """Post the receipt; a ledger refusal books the Pi to suspense (None if that failed too)."""
    ledger = Ledger(conn)
    ensure_custody(ledger)
    tid = transfer_id(TRANSFER_NAMESPACE, payment.identifier)
    result = ledger.post(
        TransferRequest(
            id=tid,
            debit=CUSTODY,
            credit=exp.credit_account,
            amount=payment.amount_units,
            asset=PI,
            code=TransferCode.PI_RECEIVED,
            external_ref=tx,
            user_data={"payment_id": payment.identifier, "reference": exp.reference},
        )
    )
    if not result.ok:
        arrived = Unbooked("pi", tid, PI, payment.amount_units, CUSTODY, exp.credit_account, tx)
        return book_to_suspense(conn, ledger, arrived, result.code).transfer_id
    return tid


def mark_completed(conn: Connection, payment_id: str) -> None:
    """Pi acknowledged our completion."""
    conn.execute(
        text(
            "UPDATE pi_payments SET status = 'completed', updated_at = now()"
            " WHERE payment_id = :pid AND status = 'credited'"
        ),
        {"pid": payment_id},
    )
