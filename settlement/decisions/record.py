"""One decision on an exception or flag: its refusals, its row and its ledger posting."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy import Connection

from escrow.calendar import from_us, to_us
from escrow.model import ResultCode, TransferFlags, TransferRequest, transfer_id
from escrow.money import AmountRefused, asset, parse_amount
from escrow.refusals import Refusal
from escrow.sql import sql
from settlement import chart, parameters
from settlement.reports import amount_text
from settlement.text import printable_lines
from settlement.unit_of_work import UnitOfWork

actor_chars_max = 64
note_chars_max = 500
DECISION_NAMESPACE = "exception.decision"
log = structlog.get_logger(__name__)
_ACCEPTED = frozenset({ResultCode.OK, ResultCode.EXISTS})


class Outcome(StrEnum):
    """What the treasury decided."""

    REFUND = "refund"
    """The money goes back to the payer."""
    MERCHANT = "merchant"
    """The money is the merchant's."""
    SUSPENSE = "suspense"
    """Written off to the asset's suspense account until someone can tell whose it is."""
    DISMISS = "dismiss"
    """Nothing is at stake (no money moved): the exception is closed with its note."""


class Subject(StrEnum):
    """What is decided."""

    QRIS_EXCEPTION = "qris_exception"
    PI_FLAG = "pi_flag"


class DecisionRefused(Refusal, ValueError):
    """A decision the service will not record; nothing was posted or queued."""

    code = "exception_decision_invalid"


@dataclass(frozen=True, slots=True)
class Decision:
    """A recorded decision and what it posted (``transfer_ids`` empty when nothing moved)."""

    subject: Subject
    subject_id: int
    outcome: Outcome
    asset: str | None
    amount_units: int | None
    debit: str | None
    credit: str | None
    transfer_ids: tuple[uuid.UUID, ...]
    refund_status: str | None
    decided_by: str
    decided_at_us: int
    note: str
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class Effect:
    """The ledger effect of a decision: ``transfers`` (linked or one) moving ``amount_units``
    of ``asset`` from ``debit`` to ``credit``; no transfers for ``dismiss`` or money already
    where the decision puts it."""

    asset: str | None
    amount_units: int | None
    debit: str | None
    credit: str | None
    transfers: tuple[TransferRequest, ...]
    refund_status: str | None = None


def check_who(by: str, note: str) -> None:
    """An officer's name and a note are required (``exception_decision_invalid``)."""
    if not isinstance(by, str) or not 1 <= len(by.strip()) <= actor_chars_max:
        raise DecisionRefused(f"name who decides in 1 to {actor_chars_max} characters")
    if not printable_lines(note, note_chars_max):
        raise DecisionRefused(
            f"a decision carries a note of 1 to {note_chars_max} printable characters"
        )


def existing(conn: Connection, subject: Subject, subject_id: int) -> Decision | None:
    """The decision already recorded on this exception or flag, if any."""
    row = conn.execute(
        sql(
            "SELECT outcome, asset, amount_units, debit, credit, transfer_ids, refund_status,"
            " decided_by, decided_at, note FROM exception_decisions"
            " WHERE subject = :subject AND subject_id = :id"
        ),
        {"subject": str(subject), "id": subject_id},
    ).one_or_none()
    if row is None:
        return None
    return Decision(
        subject,
        subject_id,
        Outcome(row.outcome),
        row.asset,
        row.amount_units,
        row.debit,
        row.credit,
        tuple(row.transfer_ids),
        row.refund_status,
        row.decided_by,
        to_us(row.decided_at),
        row.note,
        replayed=True,
    )


def replay(found: Decision, outcome: Outcome) -> Decision:
    """The same outcome asked again replays the recorded decision; another one is refused
    ``exception_already_decided`` (a decision is never changed)."""
    if found.outcome is not outcome:
        raise DecisionRefused(
            f"{found.subject} {found.subject_id} was decided {found.outcome} by"
            f" {found.decided_by}; a decision is not changed",
            code="exception_already_decided",
        )
    return found


def amount_to_decide(asked: int | None, at_stake: int) -> int:
    """The amount decided: ``asked`` (1..at_stake), or all of it (``exception_amount_invalid``)."""
    if asked is None:
        return at_stake
    if not 0 < asked <= at_stake:
        raise DecisionRefused(
            f"the amount decided must be 1..{at_stake} units, not {asked}",
            code="exception_amount_invalid",
        )
    return asked


def amount_units_of(text: str | None, asset_code: str) -> int | None:
    """An officer's amount (decimal text in the asset) as smallest units; None when absent
    (``exception_amount_invalid`` for text that is not a positive amount of the asset)."""
    if text is None:
        return None
    try:
        return parse_amount(text, asset(asset_code).scale)
    except AmountRefused as refused:
        raise DecisionRefused(
            f"{refused.detail} ({refused.code})", code="exception_amount_invalid"
        ) from None


def check_limit(conn: Connection, asset_code: str, amount_units: int, governed: bool) -> None:
    """Above the treasury's limit for the asset one officer may not decide: refused
    ``exception_needs_governance`` unless an executed proposal decides it (``governed``)."""
    limit = parameters.decision_limit_units(conn, asset_code)
    if not governed and limit is not None and amount_units > limit:
        raise DecisionRefused(
            f"{amount_units} {asset_code} units is above the one-officer limit {limit}"
            f" (parameter {parameters.EXCEPTION_DECISION_LIMITS[asset_code]}): it needs a"
            " signed proposal (exception.qris_decide or exception.pi_decide)",
            code="exception_needs_governance",
        )


def transfer(
    key: str,
    debit: str,
    credit: str,
    amount_units: int,
    asset_code: str,
    data: dict[str, Any],
    *,
    linked: bool = False,
) -> TransferRequest:
    """A decision's transfer, its id derived from ``key`` (one decision posts once)."""
    return TransferRequest(
        transfer_id(DECISION_NAMESPACE, key),
        debit,
        credit,
        amount_units,
        asset_code,
        chart.TransferCode.EXCEPTION_DECIDED,
        TransferFlags.LINKED if linked else TransferFlags.NONE,
        user_data=data,
    )


def post(uow: UnitOfWork, specs: Sequence[chart.AccountSpec], effect: Effect) -> None:
    """Open ``specs`` and post the effect's transfers; a ledger refusal raises (its result
    code) and the unit of work rolls back whole."""
    for spec in specs:
        chart.ensure_open(uow.ledger, spec)
    if not effect.transfers:
        return
    for result in uow.ledger.post_batch(list(effect.transfers)):
        if result.code not in _ACCEPTED:
            raise DecisionRefused(f"the ledger refused the decision: {result.code}",
                                  code=str(result.code))  # fmt: skip


_RESOLVE = {
    Subject.QRIS_EXCEPTION: "UPDATE qris_exceptions SET resolved_at = :at WHERE id = :id",
    Subject.PI_FLAG: "UPDATE pi_flags SET resolved_at = :at WHERE id = :id",
}


def store(
    uow: UnitOfWork,
    subject: Subject,
    subject_id: int,
    outcome: Outcome,
    effect: Effect,
    by: str,
    note: str,
) -> Decision:
    """Record the decision and mark its exception or flag resolved at the same time (in the
    caller's unit of work); log ``exception_decided``."""
    now_us = uow.clock.now_us()
    ids = tuple(t.id for t in effect.transfers)
    uow.conn.execute(
        sql(
            "INSERT INTO exception_decisions (subject, subject_id, outcome, asset, amount_units,"
            " debit, credit, transfer_ids, refund_status, decided_by, decided_at, note) VALUES"
            " (:subject, :id, :outcome, :asset, :amount, :debit, :credit, :ids, :refund,"
            " :by, :at, :note)"
        ),
        {
            "subject": str(subject),
            "id": subject_id,
            "outcome": str(outcome),
            "asset": effect.asset,
            "amount": effect.amount_units,
            "debit": effect.debit,
            "credit": effect.credit,
            "ids": list(ids),
            "refund": effect.refund_status,
            "by": by,
            "at": from_us(now_us),
            "note": note,
        },
    )
    uow.conn.execute(sql(_RESOLVE[subject]), {"at": from_us(now_us), "id": subject_id})
    log.info(
        "exception_decided", subject=str(subject), id=subject_id, outcome=str(outcome),
        asset=effect.asset, amount_units=effect.amount_units, by=by,
    )  # fmt: skip
    return Decision(
        subject, subject_id, outcome, effect.asset, effect.amount_units, effect.debit,
        effect.credit, ids, effect.refund_status, by, now_us, note,
    )  # fmt: skip


def view(decision: Decision) -> dict[str, Any]:
    """The decision as the API and the CLI answer it (amounts as decimal text and units)."""
    amount = (
        None
        if decision.amount_units is None or decision.asset is None
        else amount_text(decision.amount_units, decision.asset)
    )
    return {
        "subject": str(decision.subject),
        "id": decision.subject_id,
        "outcome": str(decision.outcome),
        "asset": decision.asset,
        "amount": amount,
        "amount_units": decision.amount_units,
        "debit": decision.debit,
        "credit": decision.credit,
        "transfer_ids": [str(t) for t in decision.transfer_ids],
        "refund_status": decision.refund_status,
        "decided_by": decision.decided_by,
        "decided_at": from_us(decision.decided_at_us).astimezone(UTC).isoformat(),
        "note": decision.note,
        "replayed": decision.replayed,
    }
