"""HTTP routes of the merchant guarantee fund (issue 12, items 7 and 11; decision 0028).

Anyone reads the fund's figures and history (``GET /v1/guarantee-fund``); the treasury books
contributions (``POST /v1/guarantee-fund/contributions``) and files claims (``POST
/v1/guarantee-fund/claims``); a claim is decided by a signed ``fund.claim_decide`` proposal
(``POST /v1/proposals``, decision 0030). Amounts in bodies are decimal text at scale
2 (``"15000.00"``); answers carry them in sen (``*_units``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import API_KEY_SECURITY, Treasury
from api.dependencies import services
from api.idempotency import IdempotencyKey
from api.problems import BODY_STATUSES, problem_responses
from settlement.fund import claims, coverage, fund
from settlement.fund.claims import ClaimKind, ClaimRequest
from settlement.fund.fund import REFERENCE_PATTERN, Contribution, ContributionSource
from settlement.reserves.issuance import parse_sen
from settlement.unit_of_work import UnitOfWork, run, transaction

router = APIRouter(prefix="/v1", tags=["guarantee-fund"])
_AMOUNT_PATTERN = r"^[0-9]{1,16}(\.[0-9]{1,2})?$"
_AMOUNT = Field(pattern=_AMOUNT_PATTERN, examples=["250000.00"])
_CHANGE = problem_responses(401, 403, 404, 409, *BODY_STATUSES)


class ContributionBody(BaseModel):
    """Rupiah given to the fund by ``contributor`` from ``source``, once per ``reference``."""

    model_config = ConfigDict(extra="forbid")

    reference: str = Field(pattern=REFERENCE_PATTERN, examples=["CSR-BANKJATIM-2026-12"])
    source: ContributionSource
    contributor: str = Field(min_length=1, max_length=fund.contributor_chars_max)
    amount: str = _AMOUNT
    memo: str | None = Field(default=None, max_length=fund.memo_chars_max)


class ContributionAnswer(BaseModel):
    """A booked contribution; ``created`` is false on a replay."""

    reference: str
    source: str
    contributor: str
    amount_units: int
    memo: str | None
    transfer_id: str
    recorded_at: str
    created: bool


class ClaimBody(BaseModel):
    """A claim on the fund for a merchant, with its evidence."""

    model_config = ConfigDict(extra="forbid")

    kind: ClaimKind
    merchant_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    amount: str = _AMOUNT
    evidence: str = Field(min_length=1, max_length=claims.evidence_chars_max)
    checkout_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")


class ClaimAnswer(BaseModel):
    """A claim and its decision."""

    id: str
    kind: str
    merchant_id: str
    checkout_id: str | None
    leg_reference: str | None
    amount_units: int
    evidence: str
    status: str
    created_at: str | None
    created_by: str
    decided_at: str | None
    decided_by: str | None
    decision_reason: str | None
    paid_units: int | None


class FiguresAnswer(BaseModel):
    """The fund's figures now (sen, PI units, basis points)."""

    balance_units: int
    exposure_pi_units: int
    price_units: int | None = Field(description="Sen per whole PI; null: the panel refuses.")
    exposure_idr_units: int | None
    coverage_bps: int | None = Field(description="floor(balance / exposure); null: none open.")
    threshold_bps: int
    below_threshold: bool


class MovementAnswer(BaseModel):
    """A contribution in (positive) or a payment out (negative), with what it answers."""

    kind: str
    at: str
    amount_units: int
    reference: str | None
    source: str | None
    contributor: str | None
    merchant_id: str | None
    checkout_id: str | None
    leg_reference: str | None
    claim_id: str | None
    transfer_id: str


class FundAnswer(BaseModel):
    """The figures, the newest movements and the open claims."""

    figures: FiguresAnswer
    history: list[MovementAnswer]
    open_claims: list[ClaimAnswer]


@router.get("/guarantee-fund", responses=problem_responses(422))
def guarantee_fund(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=fund.history_page_max)] = 20,
) -> FundAnswer:
    """The guarantee fund (public): balance, coverage of open Pi exposure, history, claims."""
    wired = services(request)
    with transaction(wired.engine) as conn:
        figures = coverage.compute(conn, wired.checkout.rates, wired.clock.now_us())
        moves = fund.history(conn, limit)
        waiting = claims.open_claims(conn)
    return FundAnswer(
        figures=FiguresAnswer.model_validate(figures.view()),
        history=[MovementAnswer.model_validate(m) for m in moves],
        open_claims=[ClaimAnswer.model_validate(c) for c in waiting],
    )


@router.post(
    "/guarantee-fund/contributions",
    status_code=201,
    responses=_CHANGE,
    openapi_extra=API_KEY_SECURITY,
)
def contribute(
    body: ContributionBody, request: Request, principal: Treasury, idempotency_key: IdempotencyKey
) -> ContributionAnswer:
    """Book a contribution into the fund, once per reference (treasury)."""
    wanted = Contribution(
        body.reference, body.source, body.contributor, parse_sen(body.amount), body.memo
    )
    wired = services(request)

    def work(uow: UnitOfWork) -> ContributionAnswer:
        return ContributionAnswer.model_validate(fund.contribute(uow, wanted, principal.actor))

    return run(wired.engine, wired.clock, work)


@router.post(
    "/guarantee-fund/claims", status_code=201, responses=_CHANGE, openapi_extra=API_KEY_SECURITY
)
def file_claim(
    body: ClaimBody, request: Request, principal: Treasury, idempotency_key: IdempotencyKey
) -> ClaimAnswer:
    """File a claim on the fund with its evidence, open until decided (treasury)."""
    wanted = ClaimRequest(
        f"{principal.actor}:{idempotency_key}",
        body.kind,
        body.merchant_id,
        parse_sen(body.amount),
        body.evidence,
        body.checkout_id,
    )
    wired = services(request)

    def work(uow: UnitOfWork) -> ClaimAnswer:
        return _claim(claims.file_claim(uow, wanted, principal.actor))

    return run(wired.engine, wired.clock, work)


def _claim(view: dict[str, Any]) -> ClaimAnswer:
    return ClaimAnswer.model_validate(view)
