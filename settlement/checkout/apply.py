"""Applying a checkout decision in the unit of work: one linked batch on the ledger, then the
rows that record it, the expectations it cancels and the Pi refunds it queues.

If the ledger refuses any transfer of the batch, nothing of it is posted and the refusal (the
ledger's own result code) is raised, so the unit of work rolls back whole: nothing half-written.
"""

from __future__ import annotations

from sqlalchemy import Connection

from escrow.model import ResultCode, TransferRequest
from settlement import chart
from settlement.campaigns import service as campaigns
from settlement.chart import TransferCode
from settlement.checkout import repository
from settlement.checkout.errors import CheckoutRefused
from settlement.checkout.model import Checkout, CheckoutStatus
from settlement.checkout.rules import Decision, accounts_to_open, linked
from settlement.mscp import lots
from settlement.pi.expectations import PI_EXPECTATIONS
from settlement.tenders import Tender
from settlement.unit_of_work import UnitOfWork

OUTBOX_PI_REFUND = "checkout.pi_refund"
"""The outbox message that pays a Pi refund back to its Pioneer by A2U."""
_VOIDED = (CheckoutStatus.EXPIRED, CheckoutStatus.REFUNDED)


def load_locked(uow: UnitOfWork, checkout_id: str, merchant_id: str | None) -> Checkout:
    """The checkout, locked for this unit of work, if ``merchant_id`` (None: any) may act on it:
    ``checkout_unknown`` if there is none, ``forbidden`` if it is another merchant's."""
    return in_scope(repository.load(uow.conn, checkout_id, lock=True), checkout_id, merchant_id)


def in_scope(found: Checkout | None, checkout_id: str, merchant_id: str | None) -> Checkout:
    """``found`` if it exists and ``merchant_id`` (None: the treasury) may see it."""
    if found is None:
        raise CheckoutRefused("checkout_unknown", f"no checkout {checkout_id}")
    if merchant_id not in (None, found.merchant_id):
        raise CheckoutRefused("forbidden", f"{checkout_id} is another merchant's")
    return found


def discount_void(conn: Connection, checkout: Checkout) -> TransferRequest | None:
    """The void of the checkout's campaign discount, if a campaign reserved one."""
    if checkout.discount_units == 0:
        return None
    reservation = campaigns.reservation(conn, checkout.id)
    return campaigns.void_discount_request(reservation) if reservation else None


def apply(
    uow: UnitOfWork,
    before: Checkout,
    decision: Decision,
    actor: str,
    *,
    balance_payment: bool = False,
) -> None:
    """Post the decision's transfers as one linked batch and record it (see the module doc).

    ``balance_payment``: the batch starts with the Pioneer's own debit, so a ledger refusal is
    the Pioneer's balance falling short (``checkout_insufficient_balance``).
    """
    if decision.transfers:
        for spec in accounts_to_open(decision):
            chart.ensure_open(uow.ledger, spec)
        results = uow.ledger.post_batch(linked(decision.transfers))
        refused = next((result for result in results if not result.ok), None)
        if refused is not None:
            short = refused.code in (ResultCode.EXCEEDS_CREDITS, ResultCode.EXCEEDS_DEBITS)
            if balance_payment and short:
                raise CheckoutRefused("checkout_insufficient_balance", "the balance is too low")
            failed = next(
                result
                for result in results
                if result.code is not ResultCode.OK
                and result.code is not ResultCode.LINKED_EVENT_FAILED
            )
            raise CheckoutRefused(
                str(failed.code), f"the ledger refused {failed.id}: {failed.code}"
            )
    cashback = [t for t in decision.transfers if t.code == TransferCode.CHECKOUT_CASHBACK]
    lots.record_credits(uow, cashback, "cashback")  # the points' lots, for FIFO expiry
    now_us = uow.clock.now_us()
    repository.store(uow.conn, before, decision, actor, now_us)
    for reference in decision.cancelled_legs:
        PI_EXPECTATIONS.cancel(uow.conn, reference)
    for refund in decision.refunds:
        if refund.tender is Tender.PI and refund.payer is not None:
            uow.outbox.enqueue(
                OUTBOX_PI_REFUND,
                str(refund.transfer_id),
                {
                    "transfer_id": str(refund.transfer_id),
                    "uid": refund.payer,
                    "amount_units": refund.amount_units,
                    "checkout": refund.checkout_id,
                },
            )
    _mark_discount(uow.conn, before, decision.checkout)


def _mark_discount(conn: Connection, before: Checkout, after: Checkout) -> None:
    if after.discount_units == 0 or after.status is before.status:
        return
    if after.status is CheckoutStatus.RELEASED:
        campaigns.mark_reservation(conn, after.id, "paid")
    elif after.status in _VOIDED:
        campaigns.mark_reservation(conn, after.id, "voided")
