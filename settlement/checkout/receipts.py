"""Where the rails hand a checkout leg's payment: the one entry for money that reached escrow.

The Pi rail (U2A completion, however it is reached: callback, recovery or the wallet watch) and
the QRIS rail (gateway notification or acquirer report) post the payment to the leg's escrow
account, then call ``leg_paid`` in the same unit of work; so the receipt, the hold (or the
refund of money the leg cannot take) and the checkout's new state commit together or not at all.
"""

from __future__ import annotations

from escrow.errors import InvariantViolation
from settlement.checkout import repository, rules
from settlement.checkout.apply import apply, discount_void
from settlement.merchants.model import MerchantRefused
from settlement.unit_of_work import UnitOfWork

__all__ = ["leg_paid", "lock_leg", "require_payable"]


def lock_leg(uow: UnitOfWork, reference: str) -> None:
    """Lock the checkout of leg ``reference`` before its payment is posted, so that a rail takes
    the checkout's row before the escrow account's, in the order every checkout use case does
    (no deadlock between a payment and an expiry or a hand-over)."""
    repository.lock_of_leg(uow.conn, reference)


def require_payable(uow: UnitOfWork, reference: str) -> None:
    """Refuse a payment of leg ``reference`` where a rail can still refuse it, before any money
    is sent (Pi's approval): ``merchant_suspended`` when its merchant is (decision 0021)."""
    if repository.merchant_suspended_of_leg(uow.conn, reference):
        raise MerchantRefused(
            f"the merchant of {reference} is suspended", code="merchant_suspended"
        )


def leg_paid(
    uow: UnitOfWork,
    reference: str,
    amount_units: int,
    payer: str | None,
    external_ref: str,
    paid_at_us: int | None = None,
) -> None:
    """``amount_units`` for leg ``reference`` reached its escrow account, paid by ``payer``
    (a Pioneer's uid; None for QRIS) in the payment ``external_ref`` at ``paid_at_us`` (the
    payment's own time, if the rail knows it; else now); the checkout decides."""
    before = repository.load_of_leg(uow.conn, reference, lock=True)
    if before is None:
        raise InvariantViolation(f"a checkout payment for {reference}, which is no checkout leg")
    now_us = uow.clock.now_us()
    decision = rules.receive(
        before, reference, amount_units, payer, external_ref, now_us,
        discount_void(uow.conn, before), paid_at_us=min(paid_at_us or now_us, now_us),
    )  # fmt: skip
    apply(uow, before, decision, f"payment:{external_ref}"[:128])
