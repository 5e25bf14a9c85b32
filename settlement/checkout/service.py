"""Checkout use cases: create, pay from a balance, hand over, refund, dispute, decide, and the
scheduler's expiry and auto-release. Each runs in the caller's unit of work: it loads the
checkout (locked), lets ``rules`` decide, and applies the decision (``apply``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, replace

import structlog

from chain.qris.payload import to_dynamic
from escrow.calendar import US_PER_S
from escrow.model import ResultCode, TransferRequest, transfer_id
from escrow.refusals import Refusal
from settlement import chart, parameters
from settlement.campaigns import service as campaigns
from settlement.chart import TransferCode
from settlement.checkout import repository, rules
from settlement.checkout.apply import apply, discount_void, in_scope, load_locked
from settlement.checkout.conversion import ConversionPlan, SettlementConversion
from settlement.checkout.errors import CheckoutRefused
from settlement.checkout.model import Checkout, CheckoutStatus, Leg, LegStatus, leg_reference
from settlement.checkout.pricing import LegPlan, TenderShare, check_price, check_split, plan_legs
from settlement.checkout.repository import LegExtras
from settlement.expectations import CHECKOUT_PURPOSE, ExpectationRequest
from settlement.merchants import service as merchants
from settlement.merchants.model import Merchant
from settlement.pi.expectations import PI_EXPECTATIONS
from settlement.qris.expectations import QRIS_EXPECTATIONS
from settlement.rates.panel import RatePanel
from settlement.rates.quotes import Quote, lock_quote
from settlement.shares.rules import Destination, cashback_points, rule_for, split
from settlement.tenders import Tender
from settlement.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)
checkouts_page_max = 100
reference_chars_max = 64
due_per_run_max = 200
"""Checkouts the scheduler expires (or releases) per run; the rest wait for the next run."""
cashback_attempts_max = 3
"""Releases decided again when a concurrent release emptied the points budget first."""
expiry_grace_s = 120
"""The scheduler expires a checkout this long after its time, so that a payment made just
before it, whose notification is still on its way, still pays its leg."""
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_ID_CHARS = 16


@dataclass(frozen=True, slots=True)
class CheckoutWindows:
    """How long a checkout stays open, a Pi quote holds, and escrow waits for a hand-over."""

    checkout_ttl_s: int
    quote_ttl_s: int
    auto_release_s: int


@dataclass(frozen=True, slots=True)
class CheckoutDeps:
    """What checkouts need beyond the unit of work: the rate panel (its sources' median prices
    the Pi leg), the windows, the conversion of the merchant's settlement preference."""

    rates: RatePanel
    windows: CheckoutWindows
    conversion: SettlementConversion


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """A merchant's request: the IDR price, the tenders' shares, optional campaign and Pioneer."""

    merchant_id: str
    price_units: int
    shares: tuple[TenderShare, ...]
    merchant_reference: str | None = None
    campaign_id: str | None = None
    pioneer_uid: str | None = None


def new_checkout_id() -> str:
    """A fresh random checkout id (``co_`` and 16 of [a-z0-9], about 82 bits)."""
    return "co_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_CHARS))


@dataclass(frozen=True, slots=True)
class OpenedCheckout:
    """A checkout just opened, with what its answer shows beyond it: its merchant's name, its
    legs' extras (quote, dynamic QRIS payload) and the Pi quote, none of it read back."""

    checkout: Checkout
    merchant_name: str
    extras: Mapping[str, LegExtras]
    quote: Quote | None


def create_checkout(
    uow: UnitOfWork, deps: CheckoutDeps, request: CheckoutRequest, actor: str
) -> Checkout:
    """Open a checkout: its legs' expectations, the Pi quote, the QRIS payload, the discount."""
    return open_checkout(uow, deps, request, actor).checkout


def open_checkout(
    uow: UnitOfWork, deps: CheckoutDeps, request: CheckoutRequest, actor: str
) -> OpenedCheckout:
    """``create_checkout``, answering also what the checkout's answer shows beside it."""
    check_price(request.price_units)
    check_split(request.shares)
    check_reference(request.merchant_reference)
    tenders = {share.tender for share in request.shares}
    merchant = merchants.require_active(uow.conn, request.merchant_id)
    _check_request(merchant, request, tenders)
    quote = None
    if Tender.PI in tenders:  # the rate sources are asked before any row is locked
        quote = lock_quote(uow, deps.rates, "PI", "IDR", deps.windows.quote_ttl_s)
    checkout_id = new_checkout_id()
    discount = 0
    if request.campaign_id is not None and request.pioneer_uid is not None:
        discount = campaigns.reserve_discount(
            uow,
            campaign_id=request.campaign_id,
            checkout_id=checkout_id,
            merchant_id=merchant.id,
            pioneer_uid=request.pioneer_uid,
            price_units=request.price_units,
        ).discount_units
    point_value = parameters.point_value_idr_units(uow.conn) if Tender.MSCP in tenders else None
    plans = plan_legs(
        request.price_units - discount,
        request.shares,
        idr_units_per_pi=quote.price_units if quote else None,
        idr_units_per_point=point_value,
    )
    now_us = uow.clock.now_us()
    checkout = Checkout(
        checkout_id,
        merchant.id,
        request.price_units,
        discount,
        request.campaign_id,
        request.pioneer_uid,
        CheckoutStatus.OPEN,
        now_us,
        now_us + deps.windows.checkout_ttl_s * US_PER_S,
        deps.windows.auto_release_s,
        tuple(_leg(checkout_id, plan) for plan in plans),
        merchant_reference=request.merchant_reference,
    )
    extras = {
        leg.reference: _open_leg(uow, merchant, checkout, leg, quote) for leg in checkout.legs
    }
    repository.insert(uow.conn, checkout, extras, actor)
    return OpenedCheckout(checkout, merchant.name, extras, quote)


def check_reference(reference: str | None) -> None:
    """A merchant's own reference is 1..64 printable characters, unique per merchant."""
    if reference is not None and not (0 < len(reference) <= reference_chars_max
                                      and reference.isprintable()):  # fmt: skip
        raise CheckoutRefused("checkout_reference_invalid", "a reference is 1..64 characters")


def _check_request(merchant: Merchant, request: CheckoutRequest, tenders: set[Tender]) -> None:
    refused = sorted(tenders - merchant.tenders)
    if refused:
        raise CheckoutRefused(
            "checkout_tender_not_accepted", f"{merchant.id} does not accept {', '.join(refused)}"
        )
    needs_pioneer = request.campaign_id is not None or tenders & {Tender.MSC, Tender.MSCP}
    if needs_pioneer and request.pioneer_uid is None:
        raise CheckoutRefused(
            "checkout_pioneer_required",
            "a campaign discount or an MSC/points leg names its Pioneer",
        )
    if request.campaign_id is not None and not tenders - {Tender.QRIS}:
        # the discount is the Pioneer's: they must pay a leg only they can pay (Pi from their
        # app, MSC or points from their balance), or a merchant could name anyone
        raise CheckoutRefused(
            "checkout_pioneer_required", "a campaign discount needs a Pi, MSC or points leg"
        )


def _leg(checkout_id: str, plan: LegPlan) -> Leg:
    return Leg(
        leg_reference(checkout_id, plan.tender),
        plan.tender,
        plan.asset,
        plan.share_bp,
        plan.idr_units,
        plan.amount_units,
    )


def _open_leg(
    uow: UnitOfWork, merchant: Merchant, checkout: Checkout, leg: Leg, quote: Quote | None
) -> LegExtras:
    """Open the accounts a leg's money moves through and its expectation on its rail."""
    chart.ensure_open(uow.ledger, chart.checkout_escrow(leg.asset))
    chart.ensure_open(uow.ledger, chart.merchant_balance(merchant.id, leg.asset))
    escrow = chart.checkout_escrow(leg.asset).code
    if leg.tender is Tender.PI and quote is not None:
        closes_us = min(quote.expires_at_us, checkout.expires_at_us)
        PI_EXPECTATIONS.create(
            uow.conn,
            ExpectationRequest(
                leg.reference,
                leg.amount_units,
                escrow,
                CHECKOUT_PURPOSE,
                checkout.created_at_us,
                closes_us,
                payer=checkout.pioneer_uid,
            ),
        )
        return LegExtras(quote_id=quote.id)
    if leg.tender is Tender.QRIS:
        if merchant.static_qris is None or merchant.nmid is None:
            raise CheckoutRefused("checkout_tender_not_accepted", "the merchant has no QRIS")
        payload = to_dynamic(merchant.static_qris, leg.amount_units, bill_number=leg.reference)
        QRIS_EXPECTATIONS.create(
            uow.conn,
            ExpectationRequest(
                leg.reference,
                leg.amount_units,
                escrow,
                CHECKOUT_PURPOSE,
                checkout.created_at_us,
                checkout.expires_at_us,
                payee=merchant.nmid,
            ),
        )
        return LegExtras(qris_payload=payload.payload)
    return LegExtras()


def find_checkout(uow: UnitOfWork, checkout_id: str, merchant_id: str | None) -> Checkout:
    """The checkout, if ``merchant_id`` (None: the treasury) may see it (``checkout_unknown``,
    ``forbidden``)."""
    return in_scope(repository.load(uow.conn, checkout_id, lock=False), checkout_id, merchant_id)


def list_checkouts(
    uow: UnitOfWork,
    merchant_id: str | None,
    status: CheckoutStatus | None,
    after: str = "",
    limit: int = checkouts_page_max,
) -> list[Checkout]:
    """One page of checkouts in id order (a merchant's, or all for the treasury)."""
    return repository.page(uow.conn, merchant_id, status, after, min(limit, checkouts_page_max))


def pay_with_balance(uow: UnitOfWork, checkout_id: str, tender: Tender, payer_uid: str) -> Checkout:
    """The Pioneer pays the MSC or points leg from their ledger balance, all or nothing."""
    if tender not in (Tender.MSC, Tender.MSCP):
        raise CheckoutRefused("checkout_tender_not_payable", f"a {tender} leg is paid on its rail")
    before = load_locked(uow, checkout_id, None)
    leg = before.leg(leg_reference(checkout_id, tender))
    if leg is None:
        raise CheckoutRefused("checkout_tender_not_payable", f"{checkout_id} has no {tender} leg")
    if before.pioneer_uid not in (None, payer_uid):
        raise CheckoutRefused("checkout_not_payer", "the checkout names another Pioneer")
    _refuse_unpayable(before, leg, uow.clock.now_us())
    debit = TransferRequest(
        transfer_id(str(TransferCode.CHECKOUT_PAID), leg.reference),
        chart.pioneer_balance(payer_uid, leg.asset).code,
        chart.checkout_escrow(leg.asset).code,
        leg.amount_units,
        leg.asset,
        TransferCode.CHECKOUT_PAID,
        user_data={"checkout": checkout_id, "leg": leg.reference},
    )
    chart.ensure_open(uow.ledger, chart.pioneer_balance(payer_uid, leg.asset))
    now_us = uow.clock.now_us()
    decision = rules.receive(
        before, leg.reference, leg.amount_units, payer_uid, f"balance:{leg.reference}", now_us, None
    )
    decision = replace(decision, transfers=(debit, *decision.transfers))
    apply(uow, before, decision, f"pioneer:{payer_uid}", balance_payment=True)
    return decision.checkout


def _refuse_unpayable(checkout: Checkout, leg: Leg, now_us: int) -> None:
    """A balance payment is refused, not taken and refunded, when the leg cannot take it."""
    if checkout.status is CheckoutStatus.OPEN and now_us >= checkout.expires_at_us:
        raise CheckoutRefused("checkout_expired", f"{checkout.id} has expired")
    if checkout.status is not CheckoutStatus.OPEN:
        raise CheckoutRefused("checkout_closed", f"{checkout.id} is {checkout.status}")
    if leg.status is not LegStatus.OPEN:
        raise CheckoutRefused("checkout_leg_paid", f"{leg.reference} is already paid")
    if checkout.merchant_suspended:
        raise CheckoutRefused("merchant_suspended", f"{checkout.merchant_id} is suspended")


def handover(
    uow: UnitOfWork, deps: CheckoutDeps, checkout_id: str, merchant_id: str | None, actor: str
) -> Checkout:
    """The merchant confirms hand-over: escrow is released to it now, with the shares. A
    suspended merchant's escrow is released by the treasury only (``merchant_id`` None)."""
    deps.conversion.prepare(uow)
    before = load_locked(uow, checkout_id, merchant_id)
    if before.status is CheckoutStatus.DISPUTED:
        raise CheckoutRefused("checkout_disputed", f"{checkout_id} awaits a treasury decision")
    if merchant_id is not None and before.merchant_suspended:
        raise CheckoutRefused("merchant_suspended", f"{merchant_id} is suspended")
    return _release(uow, deps, before, actor, "handover")


def refund_checkout(
    uow: UnitOfWork, checkout_id: str, merchant_id: str | None, actor: str
) -> Checkout:
    """The merchant (or the treasury) refunds a checkout that was not released."""
    before = load_locked(uow, checkout_id, merchant_id)
    decision = rules.refund(before, uow.clock.now_us(), discount_void(uow.conn, before))
    apply(uow, before, decision, actor)
    return decision.checkout


def dispute_checkout(uow: UnitOfWork, checkout_id: str, payer_uid: str) -> Checkout:
    """The Pioneer who paid opens a dispute inside the window; escrow is frozen."""
    before = load_locked(uow, checkout_id, None)
    decision = rules.dispute(before, payer_uid, uow.clock.now_us())
    apply(uow, before, decision, f"pioneer:{payer_uid}")
    return decision.checkout


def decide_dispute(
    uow: UnitOfWork,
    deps: CheckoutDeps,
    checkout_id: str,
    outcome: str,
    actor: str,
    governed: bool = False,
) -> Checkout:
    """The treasury decides a dispute: ``release`` to the merchant or ``refund`` to the payer.
    Above ``dispute_one_officer_limit_idr`` only an executed proposal decides (``governed``)."""
    if outcome == "release":
        deps.conversion.prepare(uow)
    before = load_locked(uow, checkout_id, None)
    if before.status is not CheckoutStatus.DISPUTED:
        raise CheckoutRefused("checkout_not_disputed", f"{checkout_id} is {before.status}")
    limit = parameters.dispute_limit_units(uow.conn)
    if not governed and limit is not None and before.price_units > limit:
        raise CheckoutRefused(
            "governance_required",
            f"{checkout_id} costs more than one officer may decide: a checkout.dispute_decide"
            " proposal decides it",
        )
    if outcome == "release":
        return _release(uow, deps, before, actor, "decision_release")
    if outcome != "refund":
        raise CheckoutRefused("checkout_decision_invalid", "decide release or refund")
    decision = rules.refund_dispute(before, uow.clock.now_us(), discount_void(uow.conn, before))
    apply(uow, before, decision, actor)
    return decision.checkout


def expire_due(uow: UnitOfWork, limit: int = due_per_run_max) -> int:
    """Expire open checkouts past their time and its grace (paid legs refunded); how many."""
    now_us = uow.clock.now_us()
    due_before_us = now_us - expiry_grace_s * US_PER_S
    ids = repository.due(uow.conn, CheckoutStatus.OPEN, due_before_us, limit)

    def expire_one(checkout_id: str) -> None:
        before = load_locked(uow, checkout_id, None)
        decision = rules.expire(before, now_us, discount_void(uow.conn, before))
        apply(uow, before, decision, "scheduler")

    return sum(_each(uow, checkout_id, expire_one) for checkout_id in ids)


def release_due(uow: UnitOfWork, deps: CheckoutDeps, limit: int = due_per_run_max) -> int:
    """Release paid checkouts whose auto-release time passed without a hand-over; how many."""
    deps.conversion.prepare(uow)
    ids = repository.due(uow.conn, CheckoutStatus.PAID, uow.clock.now_us(), limit)

    def release_one(checkout_id: str) -> None:
        _release(uow, deps, load_locked(uow, checkout_id, None), "scheduler", "auto_release")

    return sum(_each(uow, checkout_id, release_one) for checkout_id in ids)


def _each(uow: UnitOfWork, checkout_id: str, step: Callable[[str], None]) -> bool:
    """One checkout's step in a savepoint of its own: a refused one is logged and left for a
    person, and the others of the run still go through."""
    try:
        with uow.conn.begin_nested():
            step(checkout_id)
    except Refusal as refused:
        log.error("checkout_step_refused", checkout=checkout_id, code=refused.code)
        return False
    return True


def _release(
    uow: UnitOfWork, deps: CheckoutDeps, before: Checkout, actor: str, kind: str
) -> Checkout:
    """Release with the cashback the budget can give; if a concurrent release took the budget
    first (its batch refused here, nothing posted), decide again on what the budget holds now."""
    for attempt in range(1, cashback_attempts_max + 1):
        terms, plans = _release_terms(uow, deps, before)
        decision = rules.release(before, terms, uow.clock.now_us(), kind)
        # a savepoint only where a refusal is retried: the cashback's, when there is one
        retried = uow.conn.begin_nested() if terms.cashback_points > 0 else nullcontext()
        try:
            with retried:
                apply(uow, before, decision, actor)
        except CheckoutRefused as refused:
            short = refused.code == ResultCode.EXCEEDS_CREDITS and terms.cashback_points > 0
            if not short or attempt == cashback_attempts_max:
                raise
            continue
        for plan in plans:
            if plan.after is not None:
                plan.after(uow)
        return decision.checkout
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _release_terms(
    uow: UnitOfWork, deps: CheckoutDeps, checkout: Checkout
) -> tuple[rules.ReleaseTerms, list[ConversionPlan]]:
    """The merchant's rule, the campaign's discount, the cashback the budget can give and the
    conversions of the merchant's preference (with what each stores once posted)."""
    rule = rule_for(uow.conn, checkout.merchant_id)
    # A campaign reserves a discount of at least a sen or nothing (as ``apply.discount_void``).
    reservation = campaigns.reservation(uow.conn, checkout.id) if checkout.discount_units else None
    discount = campaigns.post_discount_request(reservation) if reservation else None
    payers = sorted(checkout.payers)
    named = checkout.pioneer_uid if checkout.pioneer_uid in checkout.payers else None
    cashback_to = named or (payers[0] if payers else None)
    points = 0
    if cashback_to is not None and rule.cashback_bp > 0:
        point_value = parameters.point_value_idr_units(uow.conn)
        if point_value:
            wanted = cashback_points(rule, checkout.payable_units, point_value)
            points = min(wanted, _points_budget(uow))
    merchant = merchants.find(uow.conn, checkout.merchant_id)
    plans: list[ConversionPlan] = []
    if merchant is not None:
        for leg in checkout.legs:
            merchant_units = split(rule, leg.amount_units, leg.asset).get(Destination.MERCHANT, 0)
            plans.append(deps.conversion.plan(uow, checkout, merchant, leg, merchant_units))
    transfers = tuple(t for plan in plans for t in plan.transfers)
    events = tuple(e for plan in plans for e in plan.events)
    terms = rules.ReleaseTerms(rule, discount, points, cashback_to, transfers, events)
    return terms, plans


def _points_budget(uow: UnitOfWork) -> int:
    """The points the budget can still give (zero if it was never funded)."""
    budget = chart.open_account(uow.ledger, chart.mscp_budget())
    return max(budget.credits_posted - budget.debits_posted - budget.debits_pending, 0)
