"""Deciding a Pi flag: Pi that arrived in the app wallet unbooked, or a payment nobody can
finish, and where the treasury puts it (decision 0026).

A flag whose detail names an amount (``amount_units``: a wallet payment nobody booked, an
approved U2A payment the rail refused) is Pi in custody the ledger does not show: a decision
books it from ``treasury:pi_custody`` to the Pioneer's Pi account and pays it back by A2U
through the outbox (refund), to the merchant's Pi account (merchant) or to ``suspense:PI``
(suspense). A flag without an amount (a failed or mismatched A2U, a refused completion) moved
no Pi the ledger does not already show: it is dismissed with its note, nothing posted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection

from escrow.sql import sql
from settlement import chart
from settlement.decisions.qris import known_merchant
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
from settlement.outbox import Dispatcher, OutboxMessage
from settlement.pi.deps import PiDeps
from settlement.pi.payback import payback_step
from settlement.unit_of_work import UnitOfWork

ASSET = "PI"
OUTBOX_FLAG_REFUND = "exception.pi_refund"
"""The outbox message that pays a decided Pi refund back to its Pioneer by A2U."""
PAYOUT_KEY_PREFIX = "exception-refund:"
"""A decided refund's A2U payout is keyed ``exception-refund:<transfer id>``."""
WITH_AMOUNT = frozenset({Outcome.REFUND, Outcome.MERCHANT, Outcome.SUSPENSE})

_LOCK = """
    SELECT f.id, f.payment_id, f.txid, f.reason, f.detail, f.resolved_at, p.user_uid
    FROM pi_flags f LEFT JOIN pi_payments p ON p.payment_id = f.payment_id
    WHERE f.id = :id
    FOR UPDATE OF f
"""


def decide_pi_flag(
    uow: UnitOfWork,
    flag_id: int,
    outcome: Outcome,
    *,
    by: str,
    note: str,
    merchant: str | None = None,
    pioneer: str | None = None,
    amount_units: int | None = None,
    governed: bool = False,
) -> Decision:
    """Decide flag ``flag_id`` (one unit of work: post, queue the A2U, record, resolve).

    Refused as a QRIS exception's decision is, plus ``exception_pioneer_required`` (a refund of
    Pi whose payer no payment names)."""
    check_who(by, note)
    row = uow.conn.execute(sql(_LOCK), {"id": flag_id}).mappings().one_or_none()
    if row is None:
        raise DecisionRefused(f"no Pi flag {flag_id}", code="exception_unknown")
    found = existing(uow.conn, Subject.PI_FLAG, flag_id)
    if found is not None:
        return replay(found, outcome)
    at_stake = _amount_of(row["detail"])
    allowed = WITH_AMOUNT if at_stake else frozenset({Outcome.DISMISS})
    if outcome not in allowed:
        raise DecisionRefused(
            f"a {row['reason']} flag is decided {sorted(allowed)}, not {outcome}",
            code="exception_outcome_not_allowed",
        )
    effect, specs, payer = Effect(None, None, None, None, ()), [], None
    if at_stake:
        amount = amount_to_decide(amount_units, at_stake)
        check_limit(uow.conn, ASSET, amount, governed)
        if outcome is Outcome.REFUND:
            payer = pioneer or row["user_uid"]
            if payer is None:
                raise DecisionRefused(
                    f"flag {flag_id} names no Pioneer to refund: say who (pioneer)",
                    code="exception_pioneer_required",
                )
            target = chart.pioneer_pi(str(payer))
        elif outcome is Outcome.MERCHANT:
            target = chart.merchant_balance(known_merchant(uow, str(merchant or "")), ASSET)
        else:
            target = chart.suspense(ASSET)
        data = {"flag": str(flag_id), "reason": str(row["reason"]), "outcome": str(outcome)}
        moved = transfer(f"pi:{flag_id}", chart.pi_custody().code, target.code, amount, ASSET, data)
        status = "queued" if payer is not None else None
        effect = Effect(ASSET, amount, moved.debit, moved.credit, (moved,), status)
        specs = [chart.pi_custody(), target]
    post(uow, specs, effect)
    if payer is not None:
        refund_id = str(effect.transfers[0].id)
        uow.outbox.enqueue(
            OUTBOX_FLAG_REFUND,
            refund_id,
            {"transfer_id": refund_id, "uid": payer, "amount_units": effect.amount_units,
             "flag": flag_id},
        )  # fmt: skip
    return store(uow, Subject.PI_FLAG, flag_id, outcome, effect, by, note)


def _amount_of(detail: Any) -> int:  # noqa: ANN401 - the flag's JSON detail
    """The Pi the flag's detail says arrived (0 when it names none)."""
    units = detail.get("amount_units") if isinstance(detail, dict) else None
    return units if isinstance(units, int) and not isinstance(units, bool) and units > 0 else 0


def pay_flag_refund(deps: PiDeps) -> Callable[[Connection, OutboxMessage], None]:
    """The outbox step paying a decided refund by A2U from the Pioneer's Pi account, one payout
    per decision (key ``exception-refund:<transfer id>``)."""
    return payback_step(
        deps, PAYOUT_KEY_PREFIX, "transfer_id", lambda p: f"Refund of flagged payment {p['flag']}"
    )


def register(dispatcher: Dispatcher, deps: PiDeps) -> None:
    """Install the decided Pi refund step."""
    dispatcher.register(OUTBOX_FLAG_REFUND, pay_flag_refund(deps))
