"""HTTP routes where the treasury decides a QRIS exception or a Pi flag (decision 0026).

``POST /v1/qris/exceptions/{id}/decision`` (beside the exceptions' read model) and
``POST /v1/pi-flags/{id}/decision`` (outside ``/v1/pi/``, whose callers are Pioneers) record one
decision (the officer is the calling treasury principal) and its ledger effect in one unit of
work; the same outcome asked again answers the recorded decision (``replayed``), another one
409 ``exception_already_decided``. Above the treasury's one-officer limit (parameters
``exception_decision_limit_idr`` / ``_pi``) 409 ``exception_needs_governance``: such a
decision is an ``exception.qris_decide`` / ``exception.pi_decide`` proposal (decision 0030).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import API_KEY_SECURITY, Treasury
from api.dependencies import services
from api.idempotency import IdempotencyKey
from api.problems import BODY_STATUSES, problem_responses
from api.routers.payouts import BankAccountBody
from settlement.decisions.pi import decide_pi_flag
from settlement.decisions.qris import decide_qris_exception
from settlement.decisions.record import Decision, Outcome, amount_units_of, note_chars_max, view
from settlement.payouts import details
from settlement.unit_of_work import UnitOfWork, run

router = APIRouter(prefix="/v1", tags=["exception decisions"])
SubjectId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The exception's or flag's id.")]
_DECIDE = problem_responses(401, 403, 404, 409, *BODY_STATUSES)
_NAME = r"^[A-Za-z0-9_.:-]{1,64}$"


class DecisionBody(BaseModel):
    """The treasury's decision: the outcome, a note, and where the money goes when the
    exception does not say (``merchant``; for a Pi refund, ``pioneer``). ``amount`` (decimal
    text in the exception's asset) decides part of it; all of it when absent."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["refund", "merchant", "suspense", "dismiss"]
    note: str = Field(min_length=1, max_length=note_chars_max)
    merchant: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,32}$")
    pioneer: str | None = Field(default=None, pattern=_NAME)
    amount: str | None = Field(default=None, pattern=r"^[0-9]+(\.[0-9]{1,7})?$", max_length=32)
    payer_bank_account: BankAccountBody | None = Field(
        default=None,
        description="Where a QRIS refund owed to the payer is paid (the daily payout batch).",
    )


class DecisionAnswer(BaseModel):
    """A recorded decision and what it posted."""

    subject: str = Field(description="qris_exception or pi_flag.")
    id: int
    outcome: str
    asset: str | None
    amount: str | None
    amount_units: int | None
    debit: str | None = Field(description="Where the money came from.")
    credit: str | None = Field(description="Where the decision put it.")
    transfer_ids: list[str]
    refund_status: str | None = Field(description="owed (QRIS, payout batch), queued (Pi A2U).")
    decided_by: str
    decided_at: str
    note: str
    replayed: bool = Field(description="True when this decision was recorded before.")


def _answer(decision: Decision) -> DecisionAnswer:
    return DecisionAnswer.model_validate(view(decision))


@router.post(
    "/qris/exceptions/{exception_id}/decision", responses=_DECIDE, openapi_extra=API_KEY_SECURITY
)
def decide_exception(
    exception_id: SubjectId,
    body: DecisionBody,
    request: Request,
    principal: Treasury,
    idempotency_key: IdempotencyKey,
) -> DecisionAnswer:
    """Decide a QRIS reconciliation exception: refund, merchant, suspense or dismiss."""
    amount = amount_units_of(body.amount, "IDR")
    bank = body.payer_bank_account
    payer = None if bank is None else details.bank_account(**bank.model_dump())
    wired = services(request)

    def work(uow: UnitOfWork) -> DecisionAnswer:
        return _answer(
            decide_qris_exception(
                uow, exception_id, Outcome(body.outcome), by=principal.actor, note=body.note,
                merchant=body.merchant, amount_units=amount, payer_account=payer,
            )
        )  # fmt: skip

    return run(wired.engine, wired.clock, work)


@router.post("/pi-flags/{flag_id}/decision", responses=_DECIDE, openapi_extra=API_KEY_SECURITY)
def decide_flag(
    flag_id: SubjectId,
    body: DecisionBody,
    request: Request,
    principal: Treasury,
    idempotency_key: IdempotencyKey,
) -> DecisionAnswer:
    """Decide a Pi flag: refund (A2U), merchant, suspense or dismiss."""
    amount = amount_units_of(body.amount, "PI")
    wired = services(request)

    def work(uow: UnitOfWork) -> DecisionAnswer:
        return _answer(
            decide_pi_flag(
                uow, flag_id, Outcome(body.outcome), by=principal.actor, note=body.note,
                merchant=body.merchant, pioneer=body.pioneer, amount_units=amount,
            )
        )  # fmt: skip

    return run(wired.engine, wired.clock, work)
