"""Incomplete payments: finish what can be proven, cancel what never happened, flag the rest.

Runs at start and on a schedule for A2U (`incomplete_server_payments`), and on demand for a U2A
payment the Pioneer's SDK reports through `onIncompletePaymentFound`. Nothing is posted twice:
every posting goes through the same idempotent steps as the normal flow. A2U recovery commits
each payout step on its own, exactly as the outbox does: a step that signed or broadcast a
transaction is never rolled back by a later step's failure.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import structlog
from sqlalchemy import Connection, text

from chain.pi import errors as chain_errors
from chain.pi.dto import PiPayment
from settlement.pi import a2u
from settlement.pi.deps import PiDeps
from settlement.pi.errors import RETRYABLE_CODES, PiRefusal
from settlement.pi.flags import flag
from settlement.pi.u2a import U2AOutcome, complete, fetch_payment
from settlement.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)
steps_per_payout_max = 4
_TERMINAL = ("completed", "failed")
Units = Callable[[], AbstractContextManager[UnitOfWork]]
"""Opens one unit of work that commits on exit, e.g. ``lambda: unit_of_work(engine, clock)``."""


@dataclass(frozen=True)
class RecoveryAction:
    """What recovery did with one incomplete payment."""

    payment_id: str
    action: str
    detail: str = ""


def _payout_for(conn: Connection, payment: PiPayment) -> uuid.UUID | None:
    row = conn.execute(
        text("SELECT id FROM pi_payouts WHERE payment_id = :payment_id"),
        {"payment_id": payment.payment_id},
    ).first()
    if row is not None:
        return uuid.UUID(str(row.id))
    claimed = payment.metadata.get(a2u.PAYOUT_KEY)
    if not isinstance(claimed, str):
        return None
    row = conn.execute(
        text("SELECT id FROM pi_payouts WHERE id::text = :id"), {"id": claimed}
    ).first()
    return uuid.UUID(str(row.id)) if row else None


def recover_a2u(units: Units, deps: PiDeps) -> list[RecoveryAction]:
    """Decide every incomplete A2U payment Pi reports, each step in its own transaction."""
    payments = deps.platform.incomplete_server_payments()
    return [_recover(units, deps, payment) for payment in payments]


def _recover(units: Units, deps: PiDeps, payment: PiPayment) -> RecoveryAction:
    """Decide one payment; a Pi error leaves the payout at its last committed step (the outbox
    and the next run carry on from there)."""
    try:
        with units() as uow:
            decided = _decide(uow, deps, payment)
        if isinstance(decided, RecoveryAction):
            return decided
        return _advance(units, deps, payment.payment_id, decided)
    except (chain_errors.PiError, a2u.PayoutBusy) as exc:
        log.warning("pi_recovery_deferred", payment_id=payment.payment_id, error=str(exc))
        return RecoveryAction(payment.payment_id, "deferred", str(exc))


def _advance(units: Units, deps: PiDeps, payment_id: str, payout_id: uuid.UUID) -> RecoveryAction:
    """Run the payout's steps one committed transaction each: what a step records (the envelope,
    its hash) is committed before the next step acts on it on the network."""
    status = ""
    for _ in range(steps_per_payout_max):
        with units() as uow:
            status = a2u.advance(uow, deps, payout_id)
        if status in _TERMINAL:
            break
    return RecoveryAction(payment_id, status)


def _decide(uow: UnitOfWork, deps: PiDeps, payment: PiPayment) -> RecoveryAction | uuid.UUID:
    """What to do with the payment: an action taken here, or the payout to advance."""
    payment_id, conn = payment.payment_id, uow.conn
    payout_id = _payout_for(conn, payment)
    txid = payment.transaction.txid if payment.transaction else None
    if payout_id is None:
        if txid is None:
            deps.platform.cancel(payment_id)
            return RecoveryAction(payment_id, "cancelled", "not ours, no transaction")
        flag(conn, payment_id, txid, "a2u_unknown_with_tx", {})
        return RecoveryAction(payment_id, "flagged", "not ours, has a transaction")
    payout = a2u.load(uow, payout_id)
    if txid is not None and payout.txid != txid:
        flag(conn, payment_id, txid, "a2u_txid_mismatch", {"ours": payout.txid})
        return RecoveryAction(payment_id, "flagged", "transaction is not the one we signed")
    if payout.status == "failed":
        if txid is None:
            deps.platform.cancel(payment_id)
            return RecoveryAction(payment_id, "cancelled", "payout failed")
        flag(conn, payment_id, txid, "a2u_failed_with_tx", {})
        return RecoveryAction(payment_id, "flagged", "failed payout has a transaction")
    return payout_id


def recover_u2a(
    uow: UnitOfWork, deps: PiDeps, payment_id: str, caller_uid: str | None
) -> U2AOutcome:
    """A U2A payment the Pioneer's SDK found incomplete: complete it if the chain proves it."""
    conn = uow.conn
    payment = fetch_payment(deps, payment_id)
    if payment.transaction is None:
        return U2AOutcome(payment.payment_id, "awaiting_transaction")
    txid = payment.transaction.txid
    try:
        with conn.begin_nested():
            return complete(uow, deps, payment.payment_id, txid, caller_uid)
    except PiRefusal as refusal:
        if refusal.code in (*RETRYABLE_CODES, "pi_payer_mismatch", "pi_not_approved"):
            raise  # not yet, not the caller's, or never approved by us: nothing to flag
        flag(conn, payment.payment_id, txid, refusal.code, {"detail": refusal.detail})
        log.warning("pi_u2a_flagged", payment_id=payment.payment_id, code=refusal.code)
        return U2AOutcome(payment.payment_id, "flagged", txid, code=refusal.code)


def recover_all(units: Units, deps: PiDeps) -> list[RecoveryAction]:
    """The scheduled job (and the first run at start): A2U recovery, tolerant of a Pi outage
    (retried next time)."""
    try:
        return recover_a2u(units, deps)
    except chain_errors.PiTransientError as exc:
        log.warning("pi_recovery_deferred", error=str(exc))
        return []
