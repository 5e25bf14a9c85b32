"""HTTP routes of MSC Points (decision 0029): the Pioneer reads their points with the expiry
schedule and history (``GET /v1/me/points``); a merchant redeems points for Rupiah paid by the
payout batch (``POST /v1/points/redemptions``, ``{"points": n}``); the treasury uploads a signed
data-dividend batch (``POST /v1/points/dividends``, the signed file as the body) and reads the
points budget's commitments (``GET /v1/points/commitments``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.answers import run_kept
from api.auth import API_KEY_SECURITY, MerchantOrTreasury, Treasury
from api.dependencies import services
from api.idempotency import IdempotencyKey
from api.openapi import PIONEER_TOKEN, security
from api.problems import BODY_STATUSES, problem_responses
from api.routers.merchant_reads import NO_STORE
from api.routers.pi import Uid
from settlement.access.principal import Role
from settlement.locks.positions import budget_available, commitments
from settlement.mscp import dividend, redemption
from settlement.mscp.issue import PointsRefused
from settlement.mscp.statement import statement
from settlement.unit_of_work import UnitOfWork, unit_of_work

router = APIRouter(prefix="/v1", tags=["points"])
_WRITE = problem_responses(400, 401, 403, 409, *BODY_STATUSES)
_READ = problem_responses(401, 403, 422)


class PointsStatement(BaseModel):
    """The Pioneer's points: balance, rewards reserved for their open locks, what expires when
    (first in first out) and a page of history (credits positive, spends and expiries negative)."""

    uid: str
    balance: int
    reserved_for_locks: int
    expiry_schedule: list[dict[str, Any]]
    history: list[dict[str, Any]]
    next_after_ts: int | None


class RedemptionBody(BaseModel):
    """Points the merchant redeems for Rupiah at the treasury's point value."""

    model_config = ConfigDict(extra="forbid")

    points: int = Field(strict=True, ge=1, examples=[120])
    merchant_id: str | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_-]{1,32}$", description="A treasury key names it."
    )


class RedemptionAnswer(BaseModel):
    """A redemption: the points retired and the Rupiah owed (paid by the payout batch)."""

    id: str
    merchant_id: str
    points: int
    idr_amount: str
    idr_units: int
    transfer_id: str
    requested_at: str


class SignedBatch(BaseModel):
    """A data-dividend batch signed by an approved data team key (ed25519)."""

    model_config = ConfigDict(extra="forbid")

    batch: dict[str, Any]
    key_id: str = Field(max_length=64)
    signature: str = Field(max_length=128)


class DividendAnswer(BaseModel):
    """An accepted batch."""

    digest: str
    batch_id: str
    month: str
    pioneers: int
    points: int


class Commitments(BaseModel):
    """What the points budget holds and has promised."""

    budget_available: int
    open_positions: int
    reserved: int
    vested: int


@router.get("/me/points", responses=_READ, openapi_extra=security(PIONEER_TOKEN))
def my_points(
    request: Request,
    response: Response,
    uid: Uid,
    after_ts: Annotated[int, Query(ge=0, description="The last ts of the previous page.")] = 0,
) -> PointsStatement:
    """The Pioneer's own MSC Points with their expiry schedule and history."""
    wired = services(request)
    with unit_of_work(wired.engine, wired.clock) as uow:
        found = statement(uow, uid, after_ts)
    response.headers.update(NO_STORE)
    return PointsStatement.model_validate(found)


@router.post(
    "/points/redemptions",
    status_code=201,
    response_model=RedemptionAnswer,
    responses=_WRITE,
    openapi_extra=API_KEY_SECURITY,
)
def redeem_points(
    body: RedemptionBody,
    request: Request,
    principal: MerchantOrTreasury,
    idempotency_key: IdempotencyKey,
) -> Response:
    """Redeem the merchant's points for Rupiah owed to it (the payout batch pays it)."""
    merchant_id = principal.owner if principal.role is Role.MERCHANT else body.merchant_id
    if merchant_id is None:
        raise PointsRefused("a treasury key names merchant_id", code="points_merchant_required")
    principal.require_merchant(body.merchant_id or merchant_id)

    def work(uow: UnitOfWork) -> RedemptionAnswer:
        done = redemption.redeem(uow, merchant_id, body.points, idempotency_key)
        return RedemptionAnswer.model_validate(done)

    return run_kept(request, work, status_code=201)


@router.post(
    "/points/dividends",
    status_code=201,
    response_model=DividendAnswer,
    responses=_WRITE,
    openapi_extra=API_KEY_SECURITY,
)
def upload_dividend(
    body: SignedBatch, request: Request, principal: Treasury, idempotency_key: IdempotencyKey
) -> Response:
    """Accept a signed data-dividend batch: each line's points issued from the budget, once."""
    raw = body.model_dump_json().encode()

    def work(uow: UnitOfWork) -> DividendAnswer:
        done = dividend.accept(uow, raw, principal.actor)
        return DividendAnswer(
            digest=done.digest, batch_id=done.batch_id, month=done.month,
            pioneers=done.pioneers, points=done.points,
        )  # fmt: skip

    return run_kept(request, work, status_code=201)


@router.get("/points/commitments", responses=_READ, openapi_extra=API_KEY_SECURITY)
def points_commitments(request: Request, principal: Treasury) -> Commitments:
    """The budget's available points and what open locks reserved and vested."""
    wired = services(request)
    with unit_of_work(wired.engine, wired.clock) as uow:
        found = commitments(uow.conn)
        available = budget_available(uow)
    return Commitments(budget_available=available, **found)
