"""Deciding a QRIS reconciliation exception: what each kind's money is and where it goes.

The kinds fall in four groups (decision 0026):

- money that reached the acquirer and was never booked (``unmatched_report``,
  ``unmatched_event``, ``duplicate``, ``amount_mismatch``): it comes from
  ``qris:clearing:IDR`` (net of the MDR the acquirer reported, which is booked as the MDR
  expense, exactly as a receipt is) and goes to ``refunds:qris:IDR`` (refund, owed to the
  payer: a payout obligation of the daily batch, to the payer's bank account), the merchant's
  IDR account, or ``suspense:IDR``;
- money booked to a merchant that may not be owed there (``late``, ``unreported_payment``): it
  stays (merchant: nothing posted) or moves from the merchant's account to the refunds owed
  or to suspense;
- a refund the acquirer reported (``refund``): it already went back to the payer, so the
  merchant's credit is reversed to clearing (outcome refund only);
- nothing at stake (``fee_mismatch``, ``unmatched_expectation``): dismiss only.

A decision locks its exception row, posts, records itself and sets ``resolved_at`` in one unit
of work; the same outcome asked again replays it, another is refused.
"""

from __future__ import annotations

from typing import Any

from chain.bank.account import BankAccount
from escrow.sql import sql
from settlement import chart
from settlement.decisions.record import (
    Decision,
    DecisionRefused,
    Effect,
    Outcome,
    Subject,
    amount_to_decide,
    check_limit,
    check_who,
    existing,
    post,
    replay,
    store,
    transfer,
)
from settlement.payouts import obligations
from settlement.payouts.obligations import Obligation, ObligationKind
from settlement.qris.accounts import ASSET
from settlement.unit_of_work import UnitOfWork

UNBOOKED = frozenset({"unmatched_report", "unmatched_event", "duplicate", "amount_mismatch"})
"""Kinds whose money is at the acquirer and was never booked."""
BOOKED = frozenset({"late", "unreported_payment"})
"""Kinds whose money was booked to the expectation's account."""
REPORTED_REFUND = "refund"
PAYEE_PREFIX = "qris-exception:"
"""A decided refund's payee in the payout batch: ``qris-exception:<id>``."""
NOTHING_AT_STAKE = frozenset({"fee_mismatch", "unmatched_expectation"})
ALLOWED: dict[str, frozenset[Outcome]] = {
    **dict.fromkeys(UNBOOKED, frozenset({Outcome.REFUND, Outcome.MERCHANT, Outcome.SUSPENSE})),
    **dict.fromkeys(BOOKED, frozenset({Outcome.REFUND, Outcome.MERCHANT, Outcome.SUSPENSE})),
    REPORTED_REFUND: frozenset({Outcome.REFUND}),
    **dict.fromkeys(NOTHING_AT_STAKE, frozenset({Outcome.DISMISS})),
}
"""The outcomes each exception kind admits."""

_LOCK = """
    SELECT x.id, x.kind, x.source, x.source_id, x.nmid, x.actual_sen, x.resolved_at,
           e.credit_account, l.fee_sen AS reported_fee_sen
    FROM qris_exceptions x
    LEFT JOIN qris_expectations e ON e.id = x.expectation_id
    LEFT JOIN qris_report_lines l ON x.source = 'report' AND l.id::text = x.source_id
    WHERE x.id = :id
    FOR UPDATE OF x
"""


def decide_qris_exception(
    uow: UnitOfWork,
    exception_id: int,
    outcome: Outcome,
    *,
    by: str,
    note: str,
    merchant: str | None = None,
    amount_units: int | None = None,
    payer_account: BankAccount | None = None,
    governed: bool = False,
) -> Decision:
    """Decide exception ``exception_id`` (one unit of work: post, record, resolve). A refund
    owed to the payer needs the payer's bank account: it becomes a payout obligation of the
    daily batch (kind ``qris_refund``, paid from ``refunds:qris:IDR``).

    Refused: ``exception_unknown``, ``exception_already_decided`` (another outcome than the
    recorded one), ``exception_outcome_not_allowed``, ``exception_amount_invalid``,
    ``exception_merchant_required`` / ``exception_merchant_unknown``,
    ``exception_bank_account_required``, ``exception_needs_governance`` (above the treasury's
    one-officer limit)."""
    check_who(by, note)
    row = uow.conn.execute(sql(_LOCK), {"id": exception_id}).mappings().one_or_none()
    if row is None:
        raise DecisionRefused(f"no QRIS exception {exception_id}", code="exception_unknown")
    found = existing(uow.conn, Subject.QRIS_EXCEPTION, exception_id)
    if found is not None:
        return replay(found, outcome)
    kind = str(row["kind"])
    if outcome not in ALLOWED[kind]:
        raise DecisionRefused(
            f"a {kind} exception is decided {sorted(ALLOWED[kind])}, not {outcome}",
            code="exception_outcome_not_allowed",
        )
    effect, specs = _effect(uow, row, outcome, merchant, amount_units)
    if effect.refund_status is not None and payer_account is None:
        raise DecisionRefused(
            "a refund owed to the payer is paid to their bank account: give it",
            code="exception_bank_account_required",
        )
    if effect.amount_units is not None:
        check_limit(uow.conn, ASSET, effect.amount_units, governed)
    post(uow, specs, effect)
    if effect.refund_status is not None and payer_account is not None:
        _owe_refund(uow, exception_id, effect, payer_account)
    return store(uow, Subject.QRIS_EXCEPTION, exception_id, outcome, effect, by, note)


def _owe_refund(
    uow: UnitOfWork, exception_id: int, effect: Effect, payer_account: BankAccount
) -> None:
    """The owed refund as an obligation of the daily payout batch (source: the decision's first
    transfer id, so the decision owes it once)."""
    obligations.record(
        uow,
        Obligation(
            ObligationKind.QRIS_REFUND,
            f"{PAYEE_PREFIX}{exception_id}",
            payer_account,
            int(effect.amount_units or 0),
            str(effect.transfers[0].id),
            chart.qris_refunds().code,
            uow.clock.now_us(),
        ),
    )


def _effect(
    uow: UnitOfWork,
    row: Any,  # noqa: ANN401 - a RowMapping of _LOCK
    outcome: Outcome,
    merchant: str | None,
    asked: int | None,
) -> tuple[Effect, list[chart.AccountSpec]]:
    kind, key = str(row["kind"]), f"qris:{row['id']}"
    if kind in NOTHING_AT_STAKE:
        return Effect(None, None, None, None, ()), []
    at_stake = int(row["actual_sen"] or 0)
    if at_stake <= 0:
        raise DecisionRefused(
            f"exception {row['id']} names no amount", code="exception_amount_invalid"
        )
    amount = amount_to_decide(asked, at_stake)
    data = {"exception": str(row["id"]), "kind": kind, "outcome": str(outcome)}
    if kind in UNBOOKED:
        destination = _destination(uow, row, outcome, merchant)
        # the MDR the acquirer reported on the line is its own when all of it is decided
        fee = min(int(row["reported_fee_sen"] or 0), amount) if amount == at_stake else 0
        net = amount - fee
        transfers = []
        if net > 0:
            transfers.append(
                transfer(key, chart.qris_clearing().code, destination.code, net, ASSET, data,
                         linked=fee > 0)
            )  # fmt: skip
        if fee > 0:
            transfers.append(
                transfer(f"{key}:mdr", chart.qris_mdr().code, destination.code, fee, ASSET, data)
            )
        specs = [chart.qris_clearing(), chart.qris_mdr(), destination]
        return Effect(ASSET, amount, chart.qris_clearing().code, destination.code,
                      tuple(transfers), _refund_status(outcome)), specs  # fmt: skip
    source = _merchant_credit(row)
    if kind == REPORTED_REFUND:
        target = chart.qris_clearing()
    elif outcome is Outcome.MERCHANT:
        return Effect(ASSET, amount, None, source.code, ()), [source]
    else:
        target = chart.qris_refunds() if outcome is Outcome.REFUND else chart.suspense(ASSET)
    moved = transfer(key, source.code, target.code, amount, ASSET, data)
    status = _refund_status(outcome) if kind != REPORTED_REFUND else None
    return Effect(ASSET, amount, source.code, target.code, (moved,), status), [source, target]


def _refund_status(outcome: Outcome) -> str | None:
    """A QRIS refund is owed: the payout batch pays it (as a checkout's QRIS refund)."""
    return "owed" if outcome is Outcome.REFUND else None


def _destination(
    uow: UnitOfWork,
    row: Any,  # noqa: ANN401 - a RowMapping of _LOCK
    outcome: Outcome,
    merchant: str | None,
) -> chart.AccountSpec:
    if outcome is Outcome.REFUND:
        return chart.qris_refunds()
    if outcome is Outcome.SUSPENSE:
        return chart.suspense(ASSET)
    if merchant is not None:
        return chart.merchant_idr(known_merchant(uow, merchant))
    credit = row["credit_account"]
    if credit is not None and chart.MERCHANT_IDR.match(str(credit)) is not None:
        return chart.CHART.spec_of(str(credit))
    by_nmid = uow.conn.execute(
        sql("SELECT id FROM merchants WHERE nmid = :nmid"), {"nmid": row["nmid"]}
    ).scalar_one_or_none()
    if by_nmid is None:
        raise DecisionRefused(
            f"exception {row['id']} names no onboarded merchant: say which (merchant)",
            code="exception_merchant_required",
        )
    return chart.merchant_idr(str(by_nmid))


def _merchant_credit(row: Any) -> chart.AccountSpec:  # noqa: ANN401 - a RowMapping of _LOCK
    """The merchant account the exception's money was booked to; a checkout leg's money (in
    the checkout escrow) is decided by the checkout's own dispute and refund, not here."""
    credit = row["credit_account"]
    if credit is None or chart.MERCHANT_IDR.match(str(credit)) is None:
        raise DecisionRefused(
            f"exception {row['id']}'s money was not booked to a merchant ({credit}): decide it"
            " through its checkout",
            code="exception_outcome_not_allowed",
        )
    return chart.CHART.spec_of(str(credit))


def known_merchant(uow: UnitOfWork, merchant: str) -> str:
    """``merchant`` if it is an onboarded merchant's id (``exception_merchant_unknown``)."""
    found = uow.conn.execute(
        sql("SELECT id FROM merchants WHERE id = :id"), {"id": merchant}
    ).scalar_one_or_none()
    if found is None:
        raise DecisionRefused(f"no merchant {merchant!r:.40}", code="exception_merchant_unknown")
    return str(found)
