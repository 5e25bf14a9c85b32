"""Every checkout transition on the in-memory ledger: what it posts, refunds and refuses."""

from __future__ import annotations

import pytest

from escrow.clock import FixedClock
from escrow.memory import MemoryLedger
from settlement import chart
from settlement.checkout import rules
from settlement.checkout.errors import CheckoutRefused
from settlement.checkout.model import Checkout, CheckoutStatus, LegStatus, RefundReason
from settlement.checkout.rules import ReleaseTerms
from settlement.tenders import Tender
from tests.support.checkout_book import MERCHANT, RULE, arrive, checkout, net, new_ledger, post

T0 = 1_790_000_000_000_000
PI_UNITS = 15_000_000  # 1.5 PI for Rp 7.500 at Rp 5.000 per Pi
IDR_UNITS = 750_000  # Rp 7.500
PIONEER = "pioneer-1"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def ledger(clock: FixedClock) -> MemoryLedger:
    return new_ledger(clock)


def bu_tin(now_us: int = T0) -> Checkout:
    return checkout(
        "co_butin0000000000",
        [(Tender.PI, IDR_UNITS, PI_UNITS), (Tender.QRIS, IDR_UNITS, IDR_UNITS)],
        now_us,
    )


def pay(
    ledger: MemoryLedger, co: Checkout, tender: Tender, units: int, payment: str, now_us: int = T0
) -> rules.Decision:
    arrive(ledger, tender, units, payment)
    leg = next(leg for leg in co.legs if leg.tender is tender)
    payer = PIONEER if tender is Tender.PI else None
    decision = rules.receive(co, leg.reference, units, payer, payment, now_us, None)
    post(ledger, decision)
    return decision


def paid_bu_tin(ledger: MemoryLedger) -> Checkout:
    co = pay(ledger, bu_tin(), Tender.PI, PI_UNITS, "pi-1").checkout
    return pay(ledger, co, Tender.QRIS, IDR_UNITS, "qr-1").checkout


def test_both_legs_paid_hold_the_money_for_the_merchant(ledger: MemoryLedger) -> None:
    co = pay(ledger, bu_tin(), Tender.PI, PI_UNITS, "pi-1").checkout
    assert co.status is CheckoutStatus.OPEN
    assert [leg.status for leg in co.legs] == [LegStatus.PAID, LegStatus.OPEN]
    co = pay(ledger, co, Tender.QRIS, IDR_UNITS, "qr-1").checkout
    assert co.status is CheckoutStatus.PAID
    assert co.release_at_us == T0 + 3600 * 1_000_000
    escrow_pi = ledger.account(chart.checkout_escrow("PI").code)
    assert (escrow_pi.credits_posted, escrow_pi.debits_pending) == (PI_UNITS, PI_UNITS)
    assert ledger.account(chart.merchant_balance(MERCHANT, "IDR").code).credits_pending == IDR_UNITS
    assert net(ledger, chart.merchant_balance(MERCHANT, "IDR").code) == 0


def test_release_pays_the_merchant_less_shares_in_one_batch(ledger: MemoryLedger) -> None:
    co = paid_bu_tin(ledger)
    decision = rules.release(co, ReleaseTerms(RULE), T0 + 10, "handover")
    post(ledger, decision)
    assert decision.checkout.status is CheckoutStatus.RELEASED
    fee, fund = 7500, 3750  # 1% and 0.5% of Rp 7.500, in sen
    assert net(ledger, chart.merchant_balance(MERCHANT, "IDR").code) == IDR_UNITS - fee - fund
    assert net(ledger, chart.platform_fee("IDR").code) == fee
    assert net(ledger, chart.community_fund("IDR").code) == fund
    assert net(ledger, chart.merchant_balance(MERCHANT, "PI").code) == PI_UNITS * 985 // 1000
    for asset in ("PI", "IDR"):
        escrow = ledger.account(chart.checkout_escrow(asset).code)
        assert escrow.credits_posted == escrow.debits_posted
        assert escrow.debits_pending == 0
    with pytest.raises(CheckoutRefused) as twice:
        rules.release(decision.checkout, ReleaseTerms(RULE), T0 + 20, "handover")
    assert twice.value.code == "checkout_already_released"


def test_cashback_comes_from_the_points_budget(ledger: MemoryLedger) -> None:
    from tests.support.checkout_book import fund_points

    fund_points(ledger, 10)
    co = paid_bu_tin(ledger)
    post(
        ledger,
        rules.release(
            co, ReleaseTerms(RULE, cashback_points=3, cashback_to=PIONEER), T0, "handover"
        ),
    )
    assert net(ledger, chart.pioneer_balance(PIONEER, "MSCP").code) == 3
    assert net(ledger, chart.mscp_budget().code) == 7


def test_release_before_paid_is_refused(ledger: MemoryLedger) -> None:
    with pytest.raises(CheckoutRefused) as refused:
        rules.release(bu_tin(), ReleaseTerms(RULE), T0, "handover")
    assert refused.value.code == "checkout_not_paid"


def test_underpayment_is_refunded_and_leaves_the_leg_open(ledger: MemoryLedger) -> None:
    decision = pay(ledger, bu_tin(), Tender.QRIS, IDR_UNITS - 1, "qr-short")
    assert decision.checkout.legs[1].status is LegStatus.OPEN
    assert [r.reason for r in decision.refunds] == [RefundReason.UNDERPAID]
    assert net(ledger, chart.qris_refunds().code) == IDR_UNITS - 1
    escrow = ledger.account(chart.checkout_escrow("IDR").code)
    assert escrow.credits_posted == escrow.debits_posted


def test_overpayment_holds_the_leg_and_refunds_the_excess(ledger: MemoryLedger) -> None:
    decision = pay(ledger, bu_tin(), Tender.QRIS, IDR_UNITS + 500, "qr-over")
    assert decision.checkout.legs[1].status is LegStatus.PAID
    assert [(r.reason, r.amount_units) for r in decision.refunds] == [(RefundReason.EXCESS, 500)]
    assert net(ledger, chart.qris_refunds().code) == 500
    assert ledger.account(chart.checkout_escrow("IDR").code).debits_pending == IDR_UNITS


def test_a_second_payment_of_a_paid_leg_is_refunded(ledger: MemoryLedger) -> None:
    co = pay(ledger, bu_tin(), Tender.PI, PI_UNITS, "pi-1").checkout
    again = pay(ledger, co, Tender.PI, PI_UNITS, "pi-2")
    assert [r.reason for r in again.refunds] == [RefundReason.DUPLICATE]
    assert again.checkout == co
    assert net(ledger, chart.pioneer_pi(PIONEER).code) == PI_UNITS


def test_expiry_refunds_paid_legs_and_cancels_the_rest(ledger: MemoryLedger) -> None:
    co = pay(ledger, bu_tin(), Tender.PI, PI_UNITS, "pi-1").checkout
    with pytest.raises(Exception, match="not due"):
        rules.expire(co, T0 + 1, None)
    decision = rules.expire(co, co.expires_at_us, None)
    post(ledger, decision)
    assert decision.checkout.status is CheckoutStatus.EXPIRED
    assert [leg.status for leg in decision.checkout.legs] == [
        LegStatus.REFUNDED,
        LegStatus.CANCELLED,
    ]
    assert decision.cancelled_legs == (decision.checkout.legs[1].reference,)
    assert net(ledger, chart.pioneer_pi(PIONEER).code) == PI_UNITS
    assert ledger.account(chart.checkout_escrow("PI").code).debits_pending == 0


def test_a_payment_after_expiry_expires_the_checkout_and_is_refunded(ledger: MemoryLedger) -> None:
    co = pay(ledger, bu_tin(), Tender.PI, PI_UNITS, "pi-1").checkout
    late = pay(ledger, co, Tender.QRIS, IDR_UNITS, "qr-late", now_us=co.expires_at_us + 1)
    assert late.checkout.status is CheckoutStatus.EXPIRED
    assert sorted(r.reason for r in late.refunds) == [RefundReason.EXPIRED, RefundReason.LATE]
    assert net(ledger, chart.qris_refunds().code) == IDR_UNITS
    assert net(ledger, chart.pioneer_pi(PIONEER).code) == PI_UNITS


def test_dispute_inside_the_window_then_a_decision(ledger: MemoryLedger) -> None:
    co = paid_bu_tin(ledger)
    with pytest.raises(CheckoutRefused) as stranger:
        rules.dispute(co, "someone-else", T0)
    assert stranger.value.code == "checkout_not_payer"
    disputed = rules.dispute(co, PIONEER, T0 + 1).checkout
    assert disputed.status is CheckoutStatus.DISPUTED
    for refuse in (
        lambda: rules.refund(disputed, T0, None),
        lambda: rules.dispute(disputed, PIONEER, T0),
    ):
        with pytest.raises(CheckoutRefused) as refused:
            refuse()
        assert refused.value.code == "checkout_disputed"
    decision = rules.refund_dispute(disputed, T0 + 2, None)
    post(ledger, decision)
    assert decision.checkout.status is CheckoutStatus.REFUNDED
    assert {r.reason for r in decision.refunds} == {RefundReason.DECISION}
    assert net(ledger, chart.qris_refunds().code) == IDR_UNITS


def test_no_dispute_after_the_window(ledger: MemoryLedger) -> None:
    co = paid_bu_tin(ledger)
    assert co.release_at_us is not None
    with pytest.raises(CheckoutRefused) as refused:
        rules.dispute(co, PIONEER, co.release_at_us)
    assert refused.value.code == "checkout_dispute_window_closed"


def test_refunds_of_released_or_closed_checkouts_are_refused(ledger: MemoryLedger) -> None:
    co = paid_bu_tin(ledger)
    released = rules.release(co, ReleaseTerms(RULE), T0, "handover").checkout
    with pytest.raises(CheckoutRefused) as refused:
        rules.refund(released, T0, None)
    assert refused.value.code == "checkout_already_released"
    refunded = rules.refund(bu_tin(), T0, None).checkout
    with pytest.raises(CheckoutRefused) as closed:
        rules.refund(refunded, T0, None)
    assert closed.value.code == "checkout_closed"
