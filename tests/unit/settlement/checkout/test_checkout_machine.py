"""A hypothesis state machine over random checkout lives, on the in-memory ledger.

Steps: create, pay a leg (exact, over, under, late, twice), hand over, let time pass (expiry and
auto-release), dispute, decide, refund. After every step: the ledger balances per asset; what
arrived is exactly what sits in escrow plus what the merchant, the shares and the payers got
(nothing created, nothing lost); the escrow's holds are exactly the paid legs of live checkouts.
At the end every checkout is driven to, and rests in, exactly one terminal state with the escrow
empty.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from escrow.clock import FixedClock
from settlement import chart
from settlement.checkout import rules
from settlement.checkout.errors import CheckoutRefused
from settlement.checkout.model import Checkout, CheckoutStatus, LegStatus
from settlement.checkout.rules import ReleaseTerms
from settlement.tenders import TENDER_ASSET, Tender
from tests.support.checkout_book import (
    ASSETS,
    MERCHANT,
    RULE,
    arrive,
    checkout,
    fund_points,
    net,
    new_ledger,
    post,
)

T0 = 1_790_000_000_000_000
PIONEER = "pioneer-9"
TTL_S = 600
AUTO_RELEASE_S = 1200


class CheckoutMachine(RuleBasedStateMachine):
    """Random lives of checkouts against one ledger."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(T0)
        self.ledger = new_ledger(self.clock)
        fund_points(self.ledger, 50)
        self.checkouts: dict[str, Checkout] = {}
        self.arrived: Counter[str] = Counter()
        self.payments = 0

    def _apply(self, decision: rules.Decision) -> None:
        post(self.ledger, decision)
        self.checkouts[decision.checkout.id] = decision.checkout

    @rule(
        pi_units=st.integers(1, 10**9),
        idr_units=st.integers(1, 10**8),
        split=st.sampled_from(["pi", "qris", "both"]),
    )
    def create(self, pi_units: int, idr_units: int, split: str) -> None:
        legs = {
            "pi": [(Tender.PI, idr_units, pi_units)],
            "qris": [(Tender.QRIS, idr_units, idr_units)],
            "both": [(Tender.PI, idr_units, pi_units), (Tender.QRIS, idr_units, idr_units)],
        }[split]
        checkout_id = f"co_m{len(self.checkouts):015d}"
        self.checkouts[checkout_id] = checkout(
            checkout_id, legs, self.clock.now_us(), ttl_s=TTL_S, auto_release_s=AUTO_RELEASE_S
        )

    @precondition(lambda self: self.checkouts)
    @rule(data=st.data(), kind=st.sampled_from(["exact", "over", "under"]))
    def pay(self, data: st.DataObject, kind: str) -> None:
        co = self.checkouts[data.draw(st.sampled_from(sorted(self.checkouts)))]
        leg = data.draw(st.sampled_from(co.legs))
        units = {
            "exact": leg.amount_units,
            "over": leg.amount_units + 7,
            "under": max(leg.amount_units - 1, 1),
        }[kind]
        self.payments += 1
        payment = f"pay-{self.payments}"
        arrive(self.ledger, leg.tender, units, payment)
        self.arrived[TENDER_ASSET[leg.tender]] += units
        payer = PIONEER if leg.tender is Tender.PI else None
        decision = rules.receive(
            co, leg.reference, units, payer, payment, self.clock.now_us(), None
        )
        if co.merchant_suspended:  # money arriving for a suspended merchant is all owed back
            assert (
                sum(r.amount_units for r in decision.refunds if r.cause.endswith(payment)) == units
            )
            after = decision.checkout.legs
            assert all(
                new.status is not LegStatus.PAID or old.status is LegStatus.PAID
                for new, old in zip(after, co.legs, strict=True)
            )
        self._apply(decision)

    @precondition(lambda self: self.checkouts)
    @rule(data=st.data(), suspended=st.booleans())
    def merchant_status_changes(self, data: st.DataObject, suspended: bool) -> None:
        """The merchant of a checkout is suspended or reactivated (as the next read sees it)."""
        co = self.checkouts[data.draw(st.sampled_from(sorted(self.checkouts)))]
        self.checkouts[co.id] = replace(co, merchant_suspended=suspended)

    @rule(seconds=st.sampled_from([1, 60, TTL_S, AUTO_RELEASE_S]))
    def time_passes(self, seconds: int) -> None:
        self.clock.advance(seconds)
        now = self.clock.now_us()
        for co in list(self.checkouts.values()):
            if co.status is CheckoutStatus.OPEN and now >= co.expires_at_us:
                self._apply(rules.expire(co, now, None))
            elif co.status is CheckoutStatus.PAID and co.release_at_us and now >= co.release_at_us:
                self._apply(rules.release(co, self._terms(), now, "auto_release"))

    def _terms(self) -> ReleaseTerms:
        budget = net(self.ledger, chart.mscp_budget().code)
        return ReleaseTerms(RULE, cashback_points=min(3, budget), cashback_to=PIONEER)

    @precondition(lambda self: self.checkouts)
    @rule(
        data=st.data(),
        action=st.sampled_from(["handover", "refund", "dispute", "release", "decide_refund"]),
    )
    def act(self, data: st.DataObject, action: str) -> None:
        co = self.checkouts[data.draw(st.sampled_from(sorted(self.checkouts)))]
        now = self.clock.now_us()
        try:
            decision = {
                "handover": lambda: rules.release(co, self._terms(), now, "handover"),
                "refund": lambda: rules.refund(co, now, None),
                "dispute": lambda: rules.dispute(co, PIONEER, now),
                "release": lambda: rules.release(co, self._terms(), now, "decision_release"),
                "decide_refund": lambda: rules.refund_dispute(co, now, None),
            }[action]()
        except CheckoutRefused:
            assert self._refusal_expected(co, action, now)
            return
        self._apply(decision)

    @staticmethod
    def _refusal_expected(co: Checkout, action: str, now: int) -> bool:
        live = co.status in (CheckoutStatus.PAID, CheckoutStatus.DISPUTED)
        if action in ("handover", "release"):
            return not live
        if action == "refund":
            return co.status.terminal or co.status is CheckoutStatus.DISPUTED
        if action == "decide_refund":
            return co.status is not CheckoutStatus.DISPUTED
        in_window = co.status is CheckoutStatus.PAID and now < (co.release_at_us or 0)
        return not in_window or PIONEER not in co.payers

    @invariant()
    def ledger_balances(self) -> None:
        for line in self.ledger.trial_balance():
            assert line.debits_posted == line.credits_posted, line
            assert line.debits_pending == line.credits_pending, line

    @invariant()
    def nothing_created_or_lost(self) -> None:
        for asset in ("PI", "IDR"):
            held = net(self.ledger, chart.checkout_escrow(asset).code)
            paid_out = sum(
                net(self.ledger, spec.code)
                for spec in (
                    chart.merchant_balance(MERCHANT, asset),
                    chart.platform_fee(asset),
                    chart.community_fund(asset),
                )
            )
            refunded = (
                net(self.ledger, chart.qris_refunds().code)
                if asset == "IDR"
                else (self._pioneer_pi())
            )
            assert held + paid_out + refunded == self.arrived[asset]

    def _pioneer_pi(self) -> int:
        try:
            return net(self.ledger, chart.pioneer_pi(PIONEER).code)
        except Exception:
            return 0

    @invariant()
    def holds_are_the_paid_legs_of_live_checkouts(self) -> None:
        for asset in ASSETS:
            expected = sum(
                leg.amount_units
                for co in self.checkouts.values()
                if not co.status.terminal
                for leg in co.legs
                if leg.asset == asset and leg.status is LegStatus.PAID
            )
            escrow = self.ledger.account(chart.checkout_escrow(asset).code)
            assert escrow.debits_pending == expected

    def teardown(self) -> None:
        now = self.clock.now_us() + (TTL_S + AUTO_RELEASE_S) * 1_000_000
        for co in list(self.checkouts.values()):
            if co.status is CheckoutStatus.OPEN:
                self._apply(rules.expire(co, now, None))
            elif co.status is CheckoutStatus.PAID:
                self._apply(rules.release(co, self._terms(), now, "auto_release"))
            elif co.status is CheckoutStatus.DISPUTED:
                self._apply(rules.refund_dispute(co, now, None))
        statuses = [co.status for co in self.checkouts.values()]
        assert all(status.terminal for status in statuses)
        for asset in ASSETS:
            escrow = self.ledger.account(chart.checkout_escrow(asset).code)
            assert escrow.credits_posted == escrow.debits_posted
            assert escrow.debits_pending == 0
        self.nothing_created_or_lost()


CheckoutMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None
)
TestCheckoutMachine = CheckoutMachine.TestCase
