"""The checkout's transitions as pure functions: (checkout, event) -> ``Decision``.

A decision is the checkout after the event, the ledger transfers that move its money (posted by
the caller as one linked batch: all or nothing), the refunds among them and the events to record.
No function here reads a clock, a database or a network; the use cases (``service.py``) load,
decide, post and store in one unit of work, and the state machine test drives these functions
against the in-memory ledger.

Where the money is, by status (``escrow:checkout:{asset}`` is the escrow):
- a paid leg is in the escrow, held for its merchant by a pending transfer (``checkout.hold``);
- at release each hold is posted for the merchant's part and the shares leave the escrow to the
  platform fee and the community fund, with the discount and the cashback, in one linked batch;
- at refund (or expiry, or a dispute decided for the payer) each hold is voided and the leg's
  money goes from the escrow to its payer: a Pioneer's account (Pi then leaves by A2U) or the
  QRIS refunds owed (paid in the payout batch).
Money that arrives for a leg that cannot take it (late, a duplicate, an under-payment, the
excess of an over-payment) is refunded the same way, in the same transaction that sees it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from escrow.calendar import US_PER_S
from escrow.errors import InvariantViolation
from escrow.model import TransferFlags, TransferRequest, transfer_id
from settlement import chart
from settlement.chart import TransferCode
from settlement.checkout.errors import CheckoutRefused
from settlement.checkout.model import (
    Checkout,
    CheckoutStatus,
    Leg,
    LegStatus,
    RefundReason,
)
from settlement.shares.rules import Destination, ShareRule, split
from settlement.tenders import Tender

HOLD_NAMESPACE = "checkout.hold"
RELEASE_NAMESPACE = "checkout.release"
UNHOLD_NAMESPACE = "checkout.unhold"
REFUND_NAMESPACE = "checkout.refund"
CASHBACK_NAMESPACE = "checkout.cashback"
_SHARE_CODES = {
    Destination.PLATFORM_FEE: TransferCode.CHECKOUT_PLATFORM_FEE,
    Destination.COMMUNITY_FUND: TransferCode.CHECKOUT_COMMUNITY_FUND,
}


@dataclass(frozen=True, slots=True)
class Refund:
    """Money of a leg going back to its payer, once per ``cause`` (the event that caused it)."""

    checkout_id: str
    leg_reference: str
    tender: Tender
    reason: RefundReason
    asset: str
    amount_units: int
    payer: str | None
    destination: str
    cause: str

    @property
    def transfer_id(self) -> uuid.UUID:
        """The refund's ledger transfer id: one cause, one refund."""
        return transfer_id(REFUND_NAMESPACE, self.cause)


@dataclass(frozen=True, slots=True)
class Event:
    """One recorded step of a checkout (the use case adds who and when)."""

    kind: str
    from_status: CheckoutStatus | None
    to_status: CheckoutStatus
    leg_reference: str | None = None
    detail: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    """The checkout after an event, the transfers to post (linked, in order) and what to record."""

    checkout: Checkout
    transfers: tuple[TransferRequest, ...] = ()
    refunds: tuple[Refund, ...] = ()
    events: tuple[Event, ...] = ()
    cancelled_legs: tuple[str, ...] = ()

    def then(self, other: Decision) -> Decision:
        """This decision followed by ``other`` (decided on this one's checkout)."""
        return Decision(
            other.checkout,
            self.transfers + other.transfers,
            self.refunds + other.refunds,
            self.events + other.events,
            self.cancelled_legs + other.cancelled_legs,
        )


@dataclass(frozen=True, slots=True)
class ReleaseTerms:
    """What a release needs beyond the checkout: the merchant's share rule, the discount's
    posting (if a campaign paid one), the cashback points the budget can give and to whom, and
    the settlement conversions of the merchant's preference (none until conversion exists)."""

    rule: ShareRule
    discount: TransferRequest | None = None
    cashback_points: int = 0
    cashback_to: str | None = None
    conversions: tuple[TransferRequest, ...] = ()
    conversion_events: tuple[Event, ...] = ()


_OPENED_ON_DEMAND = frozenset({
    TransferCode.CHECKOUT_REFUND, TransferCode.CHECKOUT_CASHBACK,
    TransferCode.CHECKOUT_PLATFORM_FEE, TransferCode.CHECKOUT_COMMUNITY_FUND,
})  # fmt: skip


def accounts_to_open(decision: Decision) -> list[chart.AccountSpec]:
    """The accounts the decision credits that may not exist yet: the payers' (refunds,
    cashback) and the shares' (opened with the first release in their asset)."""
    codes = {t.credit for t in decision.transfers if t.code in _OPENED_ON_DEMAND}
    return [chart.CHART.spec_of(code) for code in sorted(codes)]


def linked(transfers: Sequence[TransferRequest]) -> list[TransferRequest]:
    """The transfers as one all-or-nothing chain: every one but the last carries ``LINKED``."""
    chain = []
    for position, request in enumerate(transfers):
        flags = request.flags & ~TransferFlags.LINKED
        if position < len(transfers) - 1:
            flags |= TransferFlags.LINKED
        chain.append(replace(request, flags=flags))
    return chain


def hold_id(reference: str) -> uuid.UUID:
    """The pending transfer that holds a paid leg for its merchant."""
    return transfer_id(HOLD_NAMESPACE, reference)


def share_id(code: TransferCode, reference: str) -> uuid.UUID:
    """The transfer of leg ``reference``'s share with ``code`` (platform fee, community fund):
    the merchant's statement finds a released leg's shares by these ids."""
    return transfer_id(str(code), reference)


def receive(
    checkout: Checkout,
    reference: str,
    amount_units: int,
    payer: str | None,
    external_ref: str,
    now_us: int,
    discount_void: TransferRequest | None,
    *,
    paid_at_us: int | None = None,
) -> Decision:
    """Money for leg ``reference`` reached the escrow (``external_ref`` names the payment, made
    at ``paid_at_us``, by default now).

    A payment made after the checkout's expiry expires an open checkout first (voiding its
    discount with ``discount_void``) and is refunded as late, whatever the scheduler did; one
    made before it counts, however late it is told (a gateway's notification lags). A payment
    while the merchant is suspended is refunded and the checkout stays open (decision 0021).
    """
    leg = checkout.leg(reference)
    if leg is None:
        raise InvariantViolation(f"{reference} is not a leg of {checkout.id}")
    if amount_units <= 0:
        raise InvariantViolation(f"a payment of {amount_units} units for {reference}")
    decision = Decision(checkout)
    made_at_us = now_us if paid_at_us is None else paid_at_us
    if checkout.status is CheckoutStatus.OPEN and made_at_us >= checkout.expires_at_us:
        decision = expire(checkout, max(now_us, checkout.expires_at_us), discount_void)
        checkout = decision.checkout
        leg = checkout.leg(reference) or leg
    reason = _refusal_reason(checkout, leg, amount_units)
    if reason is not None:
        refund = _refund(checkout, leg, reason, amount_units, payer, f"{reason}:{external_ref}")
        event = Event(
            f"{reason}_refund",
            checkout.status,
            checkout.status,
            reference,
            {"amount_units": amount_units, "payment": external_ref},
        )
        return decision.then(Decision(checkout, (_refund_transfer(refund),), (refund,), (event,)))
    return decision.then(_hold(checkout, leg, amount_units, payer, external_ref, now_us))


def _refusal_reason(checkout: Checkout, leg: Leg, amount_units: int) -> RefundReason | None:
    if checkout.status in (CheckoutStatus.EXPIRED, CheckoutStatus.REFUNDED):
        return RefundReason.LATE
    if checkout.status is not CheckoutStatus.OPEN or leg.status is not LegStatus.OPEN:
        return RefundReason.DUPLICATE
    if checkout.merchant_suspended:
        return RefundReason.SUSPENDED
    if amount_units < leg.amount_units:
        return RefundReason.UNDERPAID
    return None


def _hold(
    checkout: Checkout,
    leg: Leg,
    amount_units: int,
    payer: str | None,
    external_ref: str,
    now_us: int,
) -> Decision:
    """Hold the leg's amount for the merchant; refund any excess; the checkout is paid when the
    last leg is."""
    hold = TransferRequest(
        hold_id(leg.reference),
        chart.checkout_escrow(leg.asset).code,
        chart.merchant_balance(checkout.merchant_id, leg.asset).code,
        leg.amount_units,
        leg.asset,
        TransferCode.CHECKOUT_HOLD,
        TransferFlags.PENDING,
        external_ref=external_ref,
        user_data={"checkout": checkout.id, "leg": leg.reference},
    )
    paid_leg = replace(
        leg, status=LegStatus.PAID, payer=payer, paid_at_us=now_us, external_ref=external_ref
    )
    after = checkout.with_leg(paid_leg)
    events = [
        Event(
            "leg_paid",
            checkout.status,
            checkout.status,
            leg.reference,
            {"amount_units": leg.amount_units, "payment": external_ref},
        )
    ]
    if all(other.status is LegStatus.PAID for other in after.legs):
        after = replace(
            after,
            status=CheckoutStatus.PAID,
            paid_at_us=now_us,
            release_at_us=now_us + checkout.auto_release_s * US_PER_S,
        )
        events.append(Event("paid", checkout.status, CheckoutStatus.PAID))
    transfers = [hold]
    refunds = []
    excess = amount_units - leg.amount_units
    if excess > 0:
        refund = _refund(
            after,
            paid_leg,
            RefundReason.EXCESS,
            excess,
            payer,
            f"{RefundReason.EXCESS}:{external_ref}",
        )
        refunds.append(refund)
        transfers.append(_refund_transfer(refund))
        events.append(
            Event(
                "excess_refund", after.status, after.status, leg.reference, {"amount_units": excess}
            )
        )
    return Decision(after, tuple(transfers), tuple(refunds), tuple(events))


def release(checkout: Checkout, terms: ReleaseTerms, now_us: int, kind: str) -> Decision:
    """Move the escrow to the merchant less the shares, with discount and cashback, at once.

    ``kind`` says why: ``handover`` (the merchant), ``auto_release`` or ``decision`` (treasury).
    """
    if checkout.status not in (CheckoutStatus.PAID, CheckoutStatus.DISPUTED):
        raise _not_releasable(checkout)
    transfers: list[TransferRequest] = []
    legs = []
    for leg in checkout.legs:
        transfers += _release_leg(checkout, leg, terms.rule)
        legs.append(replace(leg, status=LegStatus.RELEASED))
    if terms.discount is not None:
        transfers.append(terms.discount)
    if terms.cashback_points > 0 and terms.cashback_to is not None:
        transfers.append(_cashback(checkout, terms.cashback_points, terms.cashback_to))
    transfers += terms.conversions
    after = replace(checkout, status=CheckoutStatus.RELEASED, legs=tuple(legs), closed_at_us=now_us)
    detail = {"cashback_points": terms.cashback_points, "rule": terms.rule.id}
    released = Event(kind, checkout.status, after.status, None, detail)
    return Decision(after, tuple(transfers), (), (released, *terms.conversion_events))


def _release_leg(checkout: Checkout, leg: Leg, rule: ShareRule) -> list[TransferRequest]:
    parts = split(rule, leg.amount_units, leg.asset)
    merchant_part = parts.get(Destination.MERCHANT, 0)
    data = {"checkout": checkout.id, "leg": leg.reference}
    if merchant_part > 0:
        first = TransferRequest(
            transfer_id(RELEASE_NAMESPACE, leg.reference),
            "",
            "",
            merchant_part,
            leg.asset,
            TransferCode.CHECKOUT_RELEASE,
            TransferFlags.POST_PENDING,
            pending_id=hold_id(leg.reference),
            user_data=data,
        )
    else:
        first = _unhold(leg, data)
    transfers = [first]
    escrow = chart.checkout_escrow(leg.asset).code
    for destination, code in _SHARE_CODES.items():
        units = parts.get(destination, 0)
        if units > 0:
            account = (
                chart.platform_fee(leg.asset)
                if destination is Destination.PLATFORM_FEE
                else chart.community_fund(leg.asset)
            ).code
            transfers.append(
                TransferRequest(
                    share_id(code, leg.reference),
                    escrow,
                    account,
                    units,
                    leg.asset,
                    code,
                    user_data=data,
                )
            )
    return transfers


def _cashback(checkout: Checkout, points: int, uid: str) -> TransferRequest:
    return TransferRequest(
        transfer_id(CASHBACK_NAMESPACE, checkout.id),
        chart.mscp_budget().code,
        chart.pioneer_balance(uid, "MSCP").code,
        points,
        "MSCP",
        TransferCode.CHECKOUT_CASHBACK,
        user_data={"checkout": checkout.id},
    )


def expire(checkout: Checkout, now_us: int, discount_void: TransferRequest | None) -> Decision:
    """An open checkout whose time passed: paid legs refunded, unpaid legs cancelled."""
    if checkout.status is not CheckoutStatus.OPEN or now_us < checkout.expires_at_us:
        raise InvariantViolation(f"{checkout.id} is not due to expire")
    return unwind(checkout, RefundReason.EXPIRED, CheckoutStatus.EXPIRED, discount_void, now_us)


def refund(checkout: Checkout, now_us: int, discount_void: TransferRequest | None) -> Decision:
    """The merchant (or the treasury) refunds a checkout not yet released."""
    if checkout.status is CheckoutStatus.RELEASED:
        raise CheckoutRefused("checkout_already_released", f"{checkout.id} was released")
    if checkout.status.terminal:
        raise CheckoutRefused("checkout_closed", f"{checkout.id} is {checkout.status}")
    if checkout.status is CheckoutStatus.DISPUTED:
        raise CheckoutRefused("checkout_disputed", f"{checkout.id} awaits a treasury decision")
    return unwind(checkout, RefundReason.REFUNDED, CheckoutStatus.REFUNDED, discount_void, now_us)


def unwind(
    checkout: Checkout,
    reason: RefundReason,
    to_status: CheckoutStatus,
    discount_void: TransferRequest | None,
    now_us: int,
) -> Decision:
    """Void every hold and refund every paid leg; cancel the unpaid ones."""
    transfers: list[TransferRequest] = []
    refunds: list[Refund] = []
    cancelled: list[str] = []
    legs = []
    for leg in checkout.legs:
        if leg.status is LegStatus.PAID:
            data = {"checkout": checkout.id, "leg": leg.reference}
            back = _refund(
                checkout, leg, reason, leg.amount_units, leg.payer, f"{reason}:{leg.reference}"
            )
            transfers += [_unhold(leg, data), _refund_transfer(back)]
            refunds.append(back)
            legs.append(replace(leg, status=LegStatus.REFUNDED))
        elif leg.status is LegStatus.OPEN:
            cancelled.append(leg.reference)
            legs.append(replace(leg, status=LegStatus.CANCELLED))
        else:
            raise InvariantViolation(f"leg {leg.reference} is {leg.status} in {checkout.status}")
    if discount_void is not None:
        transfers.append(discount_void)
    after = replace(checkout, status=to_status, legs=tuple(legs), closed_at_us=now_us)
    event = Event(str(to_status), checkout.status, to_status, None, {"reason": str(reason)})
    return Decision(after, tuple(transfers), tuple(refunds), (event,), tuple(cancelled))


def dispute(checkout: Checkout, payer_uid: str, now_us: int) -> Decision:
    """The Pioneer who paid freezes a paid checkout for a treasury decision, before release."""
    if payer_uid not in checkout.payers:
        raise CheckoutRefused("checkout_not_payer", "only a Pioneer who paid may dispute")
    if checkout.status is CheckoutStatus.DISPUTED:
        raise CheckoutRefused("checkout_disputed", f"{checkout.id} is already disputed")
    window_closed = checkout.status is CheckoutStatus.RELEASED or (
        checkout.status is CheckoutStatus.PAID
        and checkout.release_at_us is not None
        and now_us >= checkout.release_at_us
    )
    if window_closed:
        raise CheckoutRefused("checkout_dispute_window_closed", "the dispute window has closed")
    if checkout.status is not CheckoutStatus.PAID:
        raise _not_releasable(checkout)
    after = replace(checkout, status=CheckoutStatus.DISPUTED)
    return Decision(after, (), (), (Event("disputed", checkout.status, after.status),))


def refund_dispute(
    checkout: Checkout, now_us: int, discount_void: TransferRequest | None
) -> Decision:
    """The treasury decides a dispute for the payer."""
    if checkout.status is not CheckoutStatus.DISPUTED:
        raise CheckoutRefused("checkout_not_disputed", f"{checkout.id} is {checkout.status}")
    return unwind(checkout, RefundReason.DECISION, CheckoutStatus.REFUNDED, discount_void, now_us)


def _not_releasable(checkout: Checkout) -> CheckoutRefused:
    if checkout.status is CheckoutStatus.RELEASED:
        return CheckoutRefused("checkout_already_released", f"{checkout.id} was released")
    if checkout.status is CheckoutStatus.OPEN:
        return CheckoutRefused("checkout_not_paid", f"{checkout.id} is not paid yet")
    return CheckoutRefused("checkout_closed", f"{checkout.id} is {checkout.status}")


def _unhold(leg: Leg, data: Mapping[str, object]) -> TransferRequest:
    return TransferRequest(
        transfer_id(UNHOLD_NAMESPACE, leg.reference),
        "",
        "",
        0,
        leg.asset,
        TransferCode.CHECKOUT_UNHOLD,
        TransferFlags.VOID_PENDING,
        pending_id=hold_id(leg.reference),
        user_data=dict(data),
    )


def refund_destination(tender: Tender, asset: str, payer: str | None) -> str:
    """Where a leg's money goes back to: the Pioneer's account, or the QRIS refunds owed."""
    if tender is Tender.QRIS:
        return chart.qris_refunds().code
    if payer is None:
        raise InvariantViolation(f"a {tender} payment without its Pioneer")
    return chart.pioneer_balance(payer, asset).code


def _refund(
    checkout: Checkout, leg: Leg, reason: RefundReason, units: int, payer: str | None, cause: str
) -> Refund:
    destination = refund_destination(leg.tender, leg.asset, payer)
    return Refund(
        checkout.id, leg.reference, leg.tender, reason, leg.asset, units, payer, destination, cause
    )


def _refund_transfer(refund: Refund) -> TransferRequest:
    return TransferRequest(
        transfer_id(REFUND_NAMESPACE, refund.cause),
        chart.checkout_escrow(refund.asset).code,
        refund.destination,
        refund.amount_units,
        refund.asset,
        TransferCode.CHECKOUT_REFUND,
        external_ref=refund.cause[-128:],
        user_data={
            "checkout": refund.checkout_id,
            "leg": refund.leg_reference,
            "reason": str(refund.reason),
        },
    )
