"""The invariants of ``msc check`` (``settlement/check/``), as pure functions over the simulated
database and rails, under the same names; and the exactly-once effects owed at the end."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from functools import cache, lru_cache

from escrow.chart import AccountSpec
from escrow.model import AccountFlags, TransferFlags, transfer_id
from escrow.periods import period
from settlement import chart
from settlement.audit.proposal import valid_signers
from settlement.chart import TransferCode
from settlement.check.model import CheckResult, failed, held, some
from settlement.checkout.model import CheckoutStatus, LegStatus
from settlement.checkout.rules import RELEASE_NAMESPACE, hold_id
from settlement.conversions.conversion import ConversionStatus
from settlement.conversions.receipt import MSC_NAMESPACE, refund_transfer_id
from settlement.governance.log import Officers
from settlement.locks.closing import REWARD_NAMESPACE
from settlement.locks.opening import reservation_id
from settlement.locks.positions import LockStatus
from settlement.shares.rules import Destination, ShareRule, split
from settlement.simulation.world import ASSETS, MERCHANT, PIONEER, Db, Rails
from settlement.tenders import Tender

_ids_cached_max = 1 << 16


_id = lru_cache(maxsize=_ids_cached_max)(transfer_id)
"""The transfer ids the step checks ask for after every step, remembered."""
_hold_id = lru_cache(maxsize=_ids_cached_max)(hold_id)
_reservation_id = lru_cache(maxsize=_ids_cached_max)(reservation_id)
_conversion_refund_id = lru_cache(maxsize=_ids_cached_max)(refund_transfer_id)


@cache
def _code(spec: Callable[..., AccountSpec], *args: str) -> str:
    """An account's code, remembered (the chart builds its spec anew on every call)."""
    return spec(*args).code


_DEBITS_LIMITED = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
_CREDITS_LIMITED = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
_RECEIVED = {TransferCode.PI_RECEIVED: Tender.PI, TransferCode.QRIS_RECEIVED: Tender.QRIS}
_PAID_BACK = frozenset({TransferCode.CHECKOUT_REFUND, TransferCode.CONVERSION_REFUND,
                        TransferCode.LOCK_REFUND, TransferCode.LOCK_PRINCIPAL})  # fmt: skip
"""The transfers to a Pioneer's Pi account that each owe one A2U payout."""


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
            int(a.flags) & _DEBITS_LIMITED and a.debits_pending + a.debits_posted > a.credits_posted
        )
        or (
            int(a.flags) & _CREDITS_LIMITED
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
        held_units = db.ledger.account(_code(chart.checkout_escrow, asset)).debits_pending
        if held_units != sum(leg.amount_units for leg in legs):
            problems.append(f"{asset} escrow holds {held_units} for {len(legs)} legs")
        for leg in legs:
            hold = db.ledger.transfer(_hold_id(leg.reference))
            if hold is None or not hold.flags & TransferFlags.PENDING:
                problems.append(f"{leg.reference} paid but not held")
    if problems:
        return failed("escrow_holds", "; ".join(problems))
    return held("escrow_holds", "live paid legs, each held once")


def pi_custody(db: Db, rails: Rails) -> CheckResult:
    """``treasury:pi_custody`` against the app wallet: what arrived and is booked, less what
    A2U sent (a payment not yet told, or a payout landed but not yet confirmed, is in flight)."""
    custody = db.ledger.account(_code(chart.pi_custody))
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
    clearing = db.ledger.account(_code(chart.qris_clearing))
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
        pending = db.ledger.account(_code(chart.bank_payouts)).credits_pending
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
        posted = db.ledger.account(_code(chart.bank_payouts)).credits_posted
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


def _net_credit(db: Db, code: str) -> int:
    account = db.ledger.account(code)
    return account.credits_posted - account.debits_posted


def conversions_once(db: Db, _rails: Rails) -> CheckResult:
    """Every conversion whose Pi was booked is decided in that commit: converted with its MSC
    credited once, or refunded once; ``conversions:PI`` keeps nothing; the Pioneer's MSC is
    what the conversions credited less what was withdrawn."""
    paid = set(db.booked.values())
    problems = []
    for conv in db.conversions.values():
        decided = conv.status is not ConversionStatus.QUOTED
        if decided != (conv.reference in paid):
            problems.append(f"{conv.reference} {conv.status}, paid: {conv.reference in paid}")
        if conv.status is ConversionStatus.CONVERTED:
            credit = db.ledger.transfer(_id(MSC_NAMESPACE, str(conv.payment_id)))
            if credit is None or credit.amount != conv.converted_units:
                problems.append(f"{conv.reference} converted without its MSC")
        if conv.status is ConversionStatus.REFUNDED and (
            db.ledger.transfer(_conversion_refund_id(conv.id)) is None
        ):
            problems.append(f"{conv.reference} refunded without its refund")
    if _net_credit(db, _code(chart.conversions_pi)):
        problems.append(f"conversions:PI holds {_net_credit(db, _code(chart.conversions_pi))}")
    converted = sum(c.converted_units or 0 for c in db.conversions.values())
    withdrawn = sum(w.amount_units for w in db.withdrawals.values())
    holder = _code(chart.pioneer_balance, PIONEER, "MSC")
    balance = _net_credit(db, holder)
    if balance != converted - withdrawn:
        problems.append(f"{holder} holds {balance}, converted {converted} - {withdrawn} out")
    if problems:
        return failed("conversions_once", some(problems))
    return held("conversions_once", f"{len(db.conversions)} conversions, each decided once")


def msc_onchain(db: Db, rails: Rails) -> CheckResult:
    """The token's supply against ``msc:onchain`` (``msc check``'s rail check): supply plus the
    withdrawals not yet minted on chain is the float; the token minted each withdrawal's
    reference at most once, and no other."""
    onchain = _net_credit(db, _code(chart.msc_onchain))
    unminted = sum(
        w.amount_units for w in db.withdrawals.values() if not w.minted and not rails.minted[w.key]
    )
    problems = [f"{ref} minted {n}x" for ref, n in rails.minted.items() if n > 1]
    problems += [
        f"{ref} minted for no withdrawal" for ref in rails.minted if ref not in db.withdrawals
    ]
    if rails.supply() + unminted != onchain:
        problems.append(f"supply {rails.supply()} + unminted {unminted} != msc:onchain {onchain}")
    if problems:
        return failed("msc_onchain", some(problems))
    return held("msc_onchain", f"supply {rails.supply()} matches msc:onchain")


def lock_reservations(db: Db, _rails: Rails) -> CheckResult:
    """Every open position with a reward has its one pending reservation of its maximum reward,
    and the points budget reserves nothing else (``msc check``'s ``lock_reservations``)."""
    open_ = [p for p in db.positions.values() if p.status is LockStatus.OPEN and p.reward_max]
    problems = []
    for pos in open_:
        found = db.ledger.transfer(_reservation_id(pos.id))
        resolved = db.ledger.transfer(_id(REWARD_NAMESPACE, str(pos.id)))
        if found is None or found.amount != pos.reward_max or resolved is not None:
            problems.append(f"open {pos.reference} without its reservation")
    pending = db.ledger.account(_code(chart.mscp_budget)).debits_pending
    wanted = sum(p.reward_max for p in open_)
    if pending != wanted:
        problems.append(f"the budget reserves {pending}, the open positions {wanted}")
    if problems:
        return failed("lock_reservations", some(problems))
    return held("lock_reservations", f"{len(open_)} open positions, each reserved once")


def lock_principals(db: Db, _rails: Rails) -> CheckResult:
    """``locks:PI`` holds the principal of the open positions; the Pioneer's points are the
    rewards of the closed ones, each posted once and never more than its maximum."""
    problems = []
    principal = sum(p.principal_units for p in db.positions.values() if p.status is LockStatus.OPEN)
    if _net_credit(db, _code(chart.locks_pi)) != principal:
        problems.append(f"locks:PI {_net_credit(db, _code(chart.locks_pi))}, open {principal}")
    rewards = sum(p.reward_units or 0 for p in db.positions.values())
    points = _code(chart.pioneer_balance, PIONEER, "MSCP")
    earned = db.ledger.account(points).credits_posted
    if earned != rewards:
        problems.append(f"{points} earned {earned}, the closed positions {rewards}")
    problems += [p.reference for p in db.positions.values() if p.vested_units > p.reward_max]
    if problems:
        return failed("lock_principals", some(problems))
    return held("lock_principals", "every lock's principal and reward accounted once")


def proposals_once(officers: Officers) -> Callable[[Db, Rails], CheckResult]:
    """Every executed proposal executed once, in nonce order from 0, signed by at least the
    threshold of distinct officers; the parameter in force is the last execution's."""

    def check(db: Db, _rails: Rails) -> CheckResult:
        problems = [pid for pid, n in Counter(db.executed).items() if n > 1]
        nonces = [db.proposals[pid].nonce for pid in db.executed]
        if nonces != list(range(len(nonces))):
            problems.append(f"executed nonces {nonces}")
        for pid in db.executed:
            signers = {s.public_key for s in db.signatures[pid]} & officers.keys
            if len(signers) < officers.threshold:
                problems.append(f"{pid[:16]} executed with {len(signers)} officers")
        if db.executed:
            last = db.proposals[db.executed[-1]].params
            if db.parameters.get(str(last["name"])) != last["value"]:
                problems.append(f"{last['name']} is {db.parameters.get(str(last['name']))}")
        if problems:
            return failed("proposals_once", some(problems))
        return held("proposals_once", f"{len(db.executed)} proposals, each executed once")

    return check


def proposals_signed(officers: Officers) -> Callable[[Db, Rails], CheckResult]:
    """At the end: every executed proposal carries the threshold's valid signatures over exactly
    its bytes (``valid_signers``, the cryptography the step check leaves out)."""

    def check(db: Db, _rails: Rails) -> CheckResult:
        short = [
            pid[:16]
            for pid in db.executed
            if len(valid_signers(db.proposals[pid], db.signatures[pid], officers.keys))
            < officers.threshold
        ]
        if short:
            return failed("proposals_signed", f"executed without the threshold: {some(short)}")
        return held("proposals_signed", "every execution signed by the threshold")

    return check


STEP_CHECKS: tuple[Callable[[Db, Rails], CheckResult], ...] = (
    double_entry,
    account_flags,
    escrow_holds,
    pi_custody,
    qris_clearing,
    closed_periods,
    payout_holds,
    conversions_once,
    msc_onchain,
    lock_reservations,
    lock_principals,
)
"""What holds after every step, whatever was injected."""


def payout_id(key: str) -> uuid.UUID:
    """The ledger transfer that confirms the A2U of payout ``key``."""
    return _id("sim.a2u", key)


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
        if t.code in _PAID_BACK and t.asset == "PI"
    }
    problems = [f"{key} sent {rails.landings[key]}x" for key in owed if rails.landings[key] != 1]
    problems += [f"{key} not owed" for key in rails.landings if key not in owed]
    if problems:
        return failed("a2u_once", some(problems))
    return held("a2u_once", f"{len(owed)} refunds, each sent once")


def nothing_stuck(db: Db, _rails: Rails) -> CheckResult:
    """After recovery: the outbox drained, every checkout terminal, the escrow empty, every
    lock closed, every withdrawal minted."""
    problems = [f"outbox {key}" for key in db.outbox]
    problems += [f"batch {b.id}" for b in db.batches.values() if not b.confirmed]
    problems += [co.id for co in db.checkouts.values() if not co.status.terminal]
    problems += [
        f"lock {p.reference}" for p in db.positions.values() if p.status is LockStatus.OPEN
    ]
    problems += [f"withdrawal {w.key}" for w in db.withdrawals.values() if not w.minted]
    for asset in ASSETS:
        escrow = db.ledger.account(_code(chart.checkout_escrow, asset))
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
            account = db.ledger.account(_code(chart.merchant_balance, MERCHANT, asset))
            if account.credits_posted != owed:  # payouts debit it; releases alone credit it
                problems.append(f"{asset} merchant has {account.credits_posted}, owed {owed}")
            problems += [
                leg.reference
                for leg in legs
                if db.ledger.transfer(_id(RELEASE_NAMESPACE, leg.reference)) is None
            ]
        if problems:
            return failed("merchant_paid_once", some(problems))
        return held("merchant_paid_once", "every released checkout paid once")

    return check
