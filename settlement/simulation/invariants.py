"""The invariants of ``msc check`` (``settlement/check/``), as pure functions over the simulated
database and rails, under the same names; and the exactly-once effects owed at the end."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable

from escrow.model import AccountFlags, TransferFlags, transfer_id
from escrow.periods import period
from settlement import chart
from settlement.chart import TransferCode
from settlement.check.model import CheckResult, failed, held, some
from settlement.checkout.model import CheckoutStatus, LegStatus
from settlement.checkout.rules import RELEASE_NAMESPACE, hold_id
from settlement.shares.rules import Destination, ShareRule, split
from settlement.simulation.world import ASSETS, MERCHANT, Db, Rails
from settlement.tenders import Tender

_RECEIVED = {TransferCode.PI_RECEIVED: Tender.PI, TransferCode.QRIS_RECEIVED: Tender.QRIS}


def double_entry(db: Db, _rails: Rails) -> CheckResult:
    """Per asset, debits equal credits, posted and pending."""
    off = [
        line.asset
        for line in db.ledger.trial_balance()
        if line.debits_posted != line.credits_posted or line.debits_pending != line.credits_pending
    ]
    if off:
        return failed("double_entry", f"unbalanced: {some(off)}")
    return held("double_entry", "every asset balances")


def account_flags(db: Db, _rails: Rails) -> CheckResult:
    """No account past what its flags allow."""
    over = [
        a.code
        for a in db.ledger.accounts(limit=10**6)
        if (
            a.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
            and a.debits_pending + a.debits_posted > a.credits_posted
        )
        or (
            a.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS
            and a.credits_pending + a.credits_posted > a.debits_posted
        )
    ]
    if over:
        return failed("account_flags", f"past their flags: {some(over)}")
    return held("account_flags", "every account within its flags")


def escrow_holds(db: Db, _rails: Rails) -> CheckResult:
    """Every live checkout's paid leg is held once, and the escrow holds nothing else."""
    problems = []
    for asset in ASSETS:
        legs = [
            leg
            for co in db.checkouts.values()
            if not co.status.terminal
            for leg in co.legs
            if leg.asset == asset and leg.status is LegStatus.PAID
        ]
        held_units = db.ledger.account(chart.checkout_escrow(asset).code).debits_pending
        if held_units != sum(leg.amount_units for leg in legs):
            problems.append(f"{asset} escrow holds {held_units} for {len(legs)} legs")
        for leg in legs:
            hold = db.ledger.transfer(hold_id(leg.reference))
            if hold is None or not hold.flags & TransferFlags.PENDING:
                problems.append(f"{leg.reference} paid but not held")
    if problems:
        return failed("escrow_holds", "; ".join(problems))
    return held("escrow_holds", "live paid legs, each held once")


def pi_custody(db: Db, rails: Rails) -> CheckResult:
    """``treasury:pi_custody`` against the app wallet: what arrived and is booked, less what
    A2U sent (a payment not yet told, or a payout landed but not yet confirmed, is in flight)."""
    custody = db.ledger.account(chart.pi_custody().code)
    booked = custody.debits_posted - custody.credits_posted
    unbooked = sum(
        p.amount_units
        for p in rails.payments.values()
        if p.tender is Tender.PI and p.id not in db.booked
    )
    unconfirmed = sum(
        rails.a2u_units[key] * n
        for key, n in rails.landings.items()
        if db.ledger.transfer(payout_id(key)) is None
    )
    if booked != rails.wallet_units() - unbooked + unconfirmed:
        return failed(
            "pi_custody",
            f"custody {booked} != wallet {rails.wallet_units()} - unbooked {unbooked}"
            f" + unconfirmed {unconfirmed}",
        )
    return held("pi_custody", f"custody {booked} matches the wallet")


def qris_clearing(db: Db, rails: Rails) -> CheckResult:
    """The QRIS clearing account against the gateway: every booked payment, once."""
    clearing = db.ledger.account(chart.qris_clearing().code)
    booked = clearing.debits_posted - clearing.credits_posted
    truth = sum(
        p.amount_units
        for p in rails.payments.values()
        if p.tender is Tender.QRIS and p.id in db.booked
    )
    if booked != truth:
        return failed("qris_clearing", f"clearing {booked} != gateway's booked {truth}")
    return held("qris_clearing", f"clearing {booked} matches the gateway")


def payout_holds(db: Db, rails: Rails) -> CheckResult:
    """Every line of a batch not yet confirmed is held to ``bank:payouts:IDR``, nothing else
    is; the bank paid no obligation twice."""
    wanted = sum(
        line.amount_units for b in db.batches.values() if not b.confirmed for line in b.lines
    )
    problems = [f"{key} paid {n}x by the bank" for key, n in rails.bank_paid.items() if n > 1]
    if db.batches:
        pending = db.ledger.account(chart.bank_payouts().code).credits_pending
        if pending != wanted:
            problems.append(f"bank:payouts holds {pending}, open lines {wanted}")
    if problems:
        return failed("payout_holds", some(problems))
    return held("payout_holds", "every open payout line held once")


def payouts_once(db: Db, rails: Rails) -> CheckResult:
    """Every line the bank paid is posted once and every returned line voided: the payouts
    account's posted credits are what the bank paid."""
    problems = [b.id for b in db.batches.values() if b.id not in rails.bank_files]
    paid = sum(
        line.amount_units
        for b in db.batches.values()
        for line in b.lines
        if rails.bank_paid[line.obligation]
    )
    if db.batches:
        posted = db.ledger.account(chart.bank_payouts().code).credits_posted
        if posted != paid:
            problems.append(f"bank:payouts posted {posted}, the bank paid {paid}")
    if problems:
        return failed("payouts_once", some(problems))
    return held("payouts_once", f"{len(db.batches)} batches, each line paid once")


def closed_periods(db: Db, _rails: Rails) -> CheckResult:
    """Nothing was posted in a closed month after its close."""
    grown = []
    for name, count in db.closed.items():
        month = period(name)
        now = sum(
            1
            for t in db.ledger.transfers()
            if month.starts_at_us <= t.timestamp <= month.ends_at_us
        )
        if now != count:
            grown.append(f"{name} had {count} transfers, now {now}")
    if grown:
        return failed("closed_periods", f"changed after closing: {some(grown)}")
    return held("closed_periods", f"{len(db.closed)} closed months unchanged")


STEP_CHECKS: tuple[Callable[[Db, Rails], CheckResult], ...] = (
    double_entry,
    account_flags,
    escrow_holds,
    pi_custody,
    qris_clearing,
    closed_periods,
    payout_holds,
)
"""What holds after every step, whatever was injected."""


def payout_id(key: str) -> uuid.UUID:
    """The ledger transfer that confirms the A2U of payout ``key``."""
    return transfer_id("sim.a2u", key)


def payments_booked_once(db: Db, rails: Rails) -> CheckResult:
    """Every payment the rails took is booked exactly once (``expectations_booked``)."""
    counts = Counter(
        t.external_ref
        for t in db.ledger.transfers()
        if t.code in _RECEIVED and t.external_ref is not None
    )
    off = [pid for pid in rails.payments if counts[pid] != 1]
    off += [ref for ref in counts if ref not in rails.payments]
    if off:
        return failed("payments_booked_once", f"booked {[counts[p] for p in off]}: {some(off)}")
    return held("payments_booked_once", f"{len(rails.payments)} payments, each booked once")


def pi_completed(db: Db, rails: Rails) -> CheckResult:
    """Every booked Pi payment was completed at Pi."""
    missing = [
        pid
        for pid in db.booked
        if rails.payments[pid].tender is Tender.PI and pid not in rails.pi_completed
    ]
    if missing:
        return failed("pi_completed", f"booked, never completed: {some(missing)}")
    return held("pi_completed", "every booked Pi payment completed")


def a2u_once(db: Db, rails: Rails) -> CheckResult:
    """Every Pi refund owed left the wallet exactly once, and nothing else did."""
    owed = {
        str(t.id): t.amount
        for t in db.ledger.transfers()
        if t.code == TransferCode.CHECKOUT_REFUND and t.asset == "PI"
    }
    problems = [f"{key} sent {rails.landings[key]}x" for key in owed if rails.landings[key] != 1]
    problems += [f"{key} not owed" for key in rails.landings if key not in owed]
    if problems:
        return failed("a2u_once", some(problems))
    return held("a2u_once", f"{len(owed)} refunds, each sent once")


def nothing_stuck(db: Db, _rails: Rails) -> CheckResult:
    """After recovery: the outbox drained, every checkout terminal, the escrow empty."""
    problems = [f"outbox {key}" for key in db.outbox]
    problems += [f"batch {b.id}" for b in db.batches.values() if not b.confirmed]
    problems += [co.id for co in db.checkouts.values() if not co.status.terminal]
    for asset in ASSETS:
        escrow = db.ledger.account(chart.checkout_escrow(asset).code)
        if escrow.debits_pending or escrow.debits_posted != escrow.credits_posted:
            problems.append(f"{asset} escrow not empty")
    if problems:
        return failed("nothing_stuck", some(problems))
    return held("nothing_stuck", "outbox drained, every checkout closed")


def merchant_paid_once(rule: ShareRule) -> Callable[[Db, Rails], CheckResult]:
    """Every released checkout paid its merchant once: the merchant's balance is the sum of the
    merchant parts of the released legs, each released by its one transfer."""

    def check(db: Db, _rails: Rails) -> CheckResult:
        problems = []
        for asset in ("PI", "IDR"):
            legs = [
                leg
                for co in db.checkouts.values()
                if co.status is CheckoutStatus.RELEASED
                for leg in co.legs
                if leg.asset == asset
            ]
            owed = sum(split(rule, leg.amount_units, asset).get(Destination.MERCHANT, 0)
                       for leg in legs)  # fmt: skip
            account = db.ledger.account(chart.merchant_balance(MERCHANT, asset).code)
            if account.credits_posted != owed:  # payouts debit it; releases alone credit it
                problems.append(f"{asset} merchant has {account.credits_posted}, owed {owed}")
            problems += [
                leg.reference
                for leg in legs
                if db.ledger.transfer(transfer_id(RELEASE_NAMESPACE, leg.reference)) is None
            ]
        if problems:
            return failed("merchant_paid_once", some(problems))
        return held("merchant_paid_once", "every released checkout paid once")

    return check
