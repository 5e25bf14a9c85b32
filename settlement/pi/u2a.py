"""U2A (user-to-app) payments: approve on the first callback, post and complete on the second.

Both callbacks are retried by the Pi app about every 10 s, so each step is idempotent: approval
re-checks and re-approves; completion returns the recorded outcome once the payment is posted.
Nothing is posted before the transaction is verified on chain; the Pi `complete` call leaves
through the outbox, in the same unit of work as the ledger posting.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import Connection, Row

from chain.pi import errors as chain_errors
from chain.pi.dto import PiPayment
from chain.pi.ids import check_payment_id, check_txid
from chain.pi.verify import ExpectedPayment, verify_payment
from escrow.calendar import from_us
from escrow.model import TransferRequest, transfer_id
from escrow.sql import sql
from settlement.chart import TransferCode
from settlement.checkout.receipts import leg_paid, lock_leg, require_payable
from settlement.conversions.receipt import conversion_paid, lock_conversion, requote
from settlement.expectations import CHECKOUT_PURPOSE, CONVERT_PURPOSE, LOCK_PURPOSE
from settlement.locks.opening import lock_paid, lock_position
from settlement.mscp.bonuses import referral_on_payment
from settlement.pi.accounts import CUSTODY, PI, ensure_custody
from settlement.pi.custody import lock_txid
from settlement.pi.deps import PiDeps
from settlement.pi.errors import PiRefusal
from settlement.pi.expectations import (
    PI_EXPECTATIONS,
    Expectation,
    find_by_reference,
    purpose_from_metadata,
    reference_from_metadata,
)
from settlement.suspense import Unbooked, book_to_suspense
from settlement.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)
OUTBOX_COMPLETE = "pi.complete"
TRANSFER_NAMESPACE = "pi.payment"
STATUS_POSTED = "credited"
"""The stored (and HTTP) status of a U2A payment the ledger posted. The glossary's word is
"posted"; the value stays "credited" because rows and API clients hold it (decision 0010)."""


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


def _expectation_for(conn: Connection, payment: PiPayment, *, lock: bool) -> Expectation | None:
    reference = reference_from_metadata(payment.metadata)
    return find_by_reference(conn, reference, lock=lock) if reference else None


def approve(uow: UnitOfWork, deps: PiDeps, payment_id: str, caller_uid: str | None) -> U2AOutcome:
    """Check the payment against its expectation, record it, and approve it with Pi.

    Pi is asked for the payment before any lock is taken; the binding is then checked and
    recorded under the payment's advisory lock.
    """
    payment_id = _checked_id(payment_id)
    payment = fetch_payment(deps, payment_id)
    conn = uow.conn
    _lock_payment(conn, payment_id)
    exp = _check_payment(deps, payment, _expectation_for(conn, payment, lock=True), caller_uid)
    bound = conn.execute(
        sql("SELECT expectation_id FROM pi_payments WHERE payment_id = :payment_id"),
        {"payment_id": payment_id},
    ).scalar_one_or_none()
    _refuse_other_binding(exp, bound)
    if exp.payment_id not in (None, payment_id):
        raise PiRefusal("pi_expectation_fulfilled", "another payment already took this expectation")
    if exp.purpose == CHECKOUT_PURPOSE:
        require_payable(uow, exp.reference)  # before Pi is told: no Pi leaves the wallet
    if exp.payment_id is None:
        if exp.status == "cancelled" or from_us(uow.clock.now_us()) >= exp.expires_at:
            raise PiRefusal("pi_expectation_expired", "the expectation has expired")
        _record_approval(conn, exp, payment)
    if not payment.status.developer_approved:
        try:
            deps.platform.approve(payment_id)
        except chain_errors.CancelledPaymentError as exc:
            raise PiRefusal("pi_payment_cancelled", "the payment was cancelled") from exc
        except chain_errors.PiError as exc:
            raise PiRefusal(exc.code, str(exc)) from exc
    log.info("pi_u2a_approved", payment_id=payment_id, reference=exp.reference)
    return U2AOutcome(payment_id, "approved")


def _lock_payment(conn: Connection, payment_id: str) -> None:
    """Serialise the first approvals of one payment: its binding is checked, then recorded."""
    conn.execute(
        sql("SELECT pg_advisory_xact_lock(hashtextextended(:payment_id, 7305003))"),
        {"payment_id": payment_id},
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
        sql(
            "UPDATE pi_expectations SET status = 'approved', payment_id = :payment_id"
            " WHERE id = :id"
        ),
        {"payment_id": payment.payment_id, "id": exp.id},
    )
    conn.execute(
        sql(
            "INSERT INTO pi_payments (payment_id, expectation_id, user_uid, from_address,"
            " amount_units, status) VALUES (:payment_id, :eid, :uid, :from_, :amount, 'approved')"
        ),
        {
            "payment_id": payment.payment_id,
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


def _recorded(conn: Connection, payment_id: str, *, lock: bool) -> Row[Any] | None:
    """Our row of the payment (status, txid, transfer_id, user_uid, expectation_id)."""
    suffix = " FOR UPDATE" if lock else ""
    return conn.execute(
        sql(
            "SELECT status, txid, transfer_id, user_uid, expectation_id FROM pi_payments"  # noqa: S608 - constant suffix
            f" WHERE payment_id = :payment_id{suffix}"
        ),
        {"payment_id": payment_id},
    ).first()


def _approved(conn: Connection, payment_id: str, *, lock: bool) -> Row[Any]:
    """Our row of the payment; ``pi_not_approved`` when approval never recorded one."""
    row = _recorded(conn, payment_id, lock=lock)
    if row is None:
        raise PiRefusal("pi_not_approved", "this payment was never approved by us")
    return row


def _settled(
    row: Row[Any], payment_id: str, txid: str, caller_uid: str | None
) -> U2AOutcome | None:
    """The recorded outcome when the payment is already posted; refusals of what cannot go on."""
    if caller_uid is not None and row.user_uid != caller_uid:
        raise PiRefusal("pi_payer_mismatch", "the payment belongs to another Pioneer")
    if row.status in (STATUS_POSTED, "completed"):
        if row.txid != txid:
            raise PiRefusal("pi_txid_mismatch", "the payment was credited with another txid")
        return U2AOutcome(payment_id, str(row.status), txid, row.transfer_id)
    if row.status == "cancelled":
        raise PiRefusal("pi_payment_cancelled", "the payment was cancelled")
    return None


def complete(
    uow: UnitOfWork, deps: PiDeps, payment_id: str, txid: str, caller_uid: str | None
) -> U2AOutcome:
    """Verify the transaction on chain, post it once to the ledger, queue Pi `complete`.

    Pi and Horizon are asked first, with no lock held; then the payment's row, its expectation
    and the txid are locked, everything is checked again and decided.
    """
    payment_id, txid = _checked_id(payment_id), _checked_txid(txid)
    conn = uow.conn
    row = _approved(conn, payment_id, lock=False)
    settled = _settled(row, payment_id, txid, caller_uid)
    if settled is not None:
        return settled
    payment = fetch_payment(deps, payment_id)
    _check_linked(deps, conn, payment, txid, caller_uid, row.expectation_id, lock=False)
    _refuse_reused_txid(conn, payment_id, txid)
    _verify_on_chain(deps, payment, txid)
    fresh = requote(uow, deps.rates, reference_from_metadata(payment.metadata) or "")
    row = _approved(conn, payment_id, lock=True)
    settled = _settled(row, payment_id, txid, caller_uid)
    if settled is not None:
        return settled
    exp = _check_linked(deps, conn, payment, txid, caller_uid, row.expectation_id, lock=True)
    lock_txid(conn, txid)
    _refuse_reused_txid(conn, payment_id, txid)
    if exp.purpose == CHECKOUT_PURPOSE:
        lock_leg(uow, exp.reference)  # the checkout's row before the escrow account's
    if exp.purpose == CONVERT_PURPOSE:
        lock_conversion(uow, exp.reference)
    if exp.purpose == LOCK_PURPOSE:
        lock_position(uow, exp.reference)
    transfer_id = _post_receipt(uow, exp, payment, txid)
    if transfer_id is None:  # even suspense refused: suspense_items alone holds it (decision 0011)
        return U2AOutcome(payment_id, "suspense", txid, None)
    conn.execute(
        sql(
            "UPDATE pi_payments SET status = :posted, txid = :txid, transfer_id = :transfer_id,"
            " updated_at = now() WHERE payment_id = :payment_id"
        ),
        {
            "posted": STATUS_POSTED,
            "txid": txid,
            "transfer_id": transfer_id,
            "payment_id": payment_id,
        },
    )
    PI_EXPECTATIONS.mark_paid(conn, exp.reference, paid_at_us=uow.clock.now_us(), by=payment_id)
    if exp.purpose == CHECKOUT_PURPOSE and transfer_id == receipt_transfer_id(payment_id):
        leg_paid(uow, exp.reference, payment.amount_units, payment.user_uid, payment_id)
    if exp.purpose == CONVERT_PURPOSE and transfer_id == receipt_transfer_id(payment_id):
        conversion_paid(uow, exp.reference, payment.amount_units, payment_id, fresh)
    if exp.purpose == LOCK_PURPOSE and transfer_id == receipt_transfer_id(payment_id):
        lock_paid(uow, exp.reference, payment.amount_units, payment_id)
    if transfer_id == receipt_transfer_id(payment_id):
        referral_on_payment(uow, payment.user_uid)  # a referred Pioneer's first payment
    uow.outbox.enqueue(OUTBOX_COMPLETE, payment_id, {"payment_id": payment_id, "txid": txid})
    log.info("pi_u2a_posted", payment_id=payment_id, txid=txid, amount_units=payment.amount_units)
    return U2AOutcome(payment_id, STATUS_POSTED, txid, transfer_id)


def _check_linked(
    deps: PiDeps,
    conn: Connection,
    payment: PiPayment,
    txid: str,
    caller_uid: str | None,
    bound: uuid.UUID | None,
    *,
    lock: bool,
) -> Expectation:
    """The payment against its expectation (still the one it was approved for), and Pi links no
    other transaction to it."""
    exp = _check_payment(deps, payment, _expectation_for(conn, payment, lock=lock), caller_uid)
    _refuse_other_binding(exp, bound)
    if payment.transaction is not None and payment.transaction.txid != txid:
        raise PiRefusal("pi_txid_mismatch", "Pi links another transaction to this payment")
    return exp


def _refuse_reused_txid(conn: Connection, payment_id: str, txid: str) -> None:
    used = conn.execute(
        sql(
            "SELECT 1 FROM pi_payments WHERE txid = :txid AND payment_id <> :payment_id"
            " UNION ALL SELECT 1 FROM pi_payouts WHERE tx_hash = :txid"
            " UNION ALL SELECT 1 FROM pi_custody_deposits WHERE txid = :txid"
        ),
        {"txid": txid, "payment_id": payment_id},
    ).first()
    if used is not None:
        raise PiRefusal("pi_txid_reused", "this transaction already paid for something else")


def _verify_on_chain(deps: PiDeps, payment: PiPayment, txid: str) -> None:
    try:
        horizon_tx = deps.chain.transaction(txid)
        verify_payment(
            horizon_tx,
            ExpectedPayment(
                txid=txid,
                payment_id=payment.payment_id,
                from_address=payment.from_address,
                to_address=deps.app_address,
                amount_units=payment.amount_units,
                network_passphrase=deps.network,
            ),
        )
    except chain_errors.TxVerificationError as exc:
        log.warning("pi_u2a_refused", payment_id=payment.payment_id, txid=txid, code=exc.code)
        raise PiRefusal(exc.code, str(exc)) from exc
    except chain_errors.PiError as exc:
        raise PiRefusal(exc.code, str(exc)) from exc


def _post_receipt(
    uow: UnitOfWork, exp: Expectation, payment: PiPayment, txid: str
) -> uuid.UUID | None:
    """Post the receipt; a ledger refusal books the Pi to suspense (None if that failed too)."""
    ensure_custody(uow.ledger)
    receipt_id = receipt_transfer_id(payment.payment_id)
    result = uow.ledger.post(
        TransferRequest(
            id=receipt_id,
            debit=CUSTODY,
            credit=exp.credit_account,
            amount=payment.amount_units,
            asset=PI,
            code=TransferCode.PI_RECEIVED,
            external_ref=txid,
            user_data={"payment_id": payment.payment_id, "reference": exp.reference},
        )
    )
    if not result.ok:
        arrived = Unbooked("pi", receipt_id, PI, payment.amount_units, CUSTODY,
                           exp.credit_account, txid)  # fmt: skip
        return book_to_suspense(uow.conn, uow.ledger, arrived, result.code).transfer_id
    return receipt_id


def receipt_transfer_id(payment_id: str) -> uuid.UUID:
    """The ledger transfer that posts a U2A payment where its expectation says (not suspense)."""
    return transfer_id(TRANSFER_NAMESPACE, payment_id)


def mark_completed(uow: UnitOfWork, payment_id: str) -> None:
    """Pi acknowledged our completion."""
    uow.conn.execute(
        sql(
            "UPDATE pi_payments SET status = 'completed', updated_at = now()"
            " WHERE payment_id = :payment_id AND status = :posted"
        ),
        {"payment_id": payment_id, "posted": STATUS_POSTED},
    )
