"""HTTP routes of lock-and-earn (decision 0029): the Pioneer locks Pi for a term, reads their
positions, unlocks early and changes what happens to the principal at maturity.

``POST /v1/locks`` takes ``{"term_days": 30 | 60 | 90, "amount": "<Pi>", "maturity_action":
"a2u" | "convert"}`` and answers the position with the ``payment`` the Pioneer's app passes to
``Pi.createPayment`` (purpose ``lock``); the verified payment opens the position (its maximum
reward reserved from the points budget) or refuses it (the Pi refunded by A2U).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.answers import run_kept
from api.dependencies import services
from api.idempotency import IdempotencyKey
from api.openapi import PIONEER_TOKEN, security
from api.problems import BODY_STATUSES, problem_responses
from api.routers.pi import Uid
from settlement.locks import positions
from settlement.locks.closing import unlock
from settlement.rates.firm import amount_units
from settlement.unit_of_work import UnitOfWork, transaction

router = APIRouter(prefix="/v1/locks", tags=["locks"])
LockId = Annotated[uuid.UUID, Path(description="The lock position's id (a UUID).")]
_PIONEER = security(PIONEER_TOKEN)
_CREATE = problem_responses(400, 401, 403, 409, *BODY_STATUSES)
_CHANGE = problem_responses(400, 401, 403, 404, 409, *BODY_STATUSES)
_READ = problem_responses(401, 403, 422)


class LockBody(BaseModel):
    """The lock asked for."""

    model_config = ConfigDict(extra="forbid")

    term_days: int = Field(strict=True, examples=[30])
    amount: str = Field(max_length=32, examples=["100.5"], description="Pi, decimal text.")
    maturity_action: str = Field(default="a2u", examples=["a2u", "convert"])


class ActionBody(BaseModel):
    """What happens to the principal at maturity."""

    model_config = ConfigDict(extra="forbid")

    maturity_action: str = Field(examples=["a2u", "convert"])


class LockAnswer(BaseModel):
    """A lock position: ``expected`` (pay ``payment``), ``open``, ``refused``
    (``refusal_code``), ``matured`` or ``unlocked`` (``reward_points`` posted)."""

    id: str
    uid: str
    status: str = Field(examples=["expected", "open", "refused", "matured", "unlocked"])
    term_days: int
    principal_amount: str
    principal_units: int
    rate: str = Field(description="MSC Points per Pi per day, fixed when the lock was asked.")
    reward_max: int = Field(description="The reward reserved from the points budget.")
    accrued_days: int
    vested_points: int
    reward_points: int | None
    penalty_units: int | None
    maturity_action: str
    refusal_code: str | None
    created_at: str
    expires_at: str
    started_at: str | None
    matures_at: str | None
    closed_at: str | None
    payment: dict[str, Any] = Field(description="amount, memo and metadata for Pi.createPayment.")


class LockPage(BaseModel):
    """A page of the Pioneer's positions, by id."""

    items: list[LockAnswer]
    next_after: str | None


@router.post(
    "", status_code=201, response_model=LockAnswer, responses=_CREATE, openapi_extra=_PIONEER
)
def create_lock(
    body: LockBody, request: Request, uid: Uid, idempotency_key: IdempotencyKey
) -> Response:
    """Ask for a lock: the Pi payment to make is in ``payment``."""
    units = amount_units(body.amount, "PI")

    def work(uow: UnitOfWork) -> LockAnswer:
        found = positions.create(
            uow, uid=uid, term_days=body.term_days, principal_units=units,
            action=body.maturity_action, key=idempotency_key,
        )  # fmt: skip
        return LockAnswer.model_validate(found.view())

    return run_kept(request, work, status_code=201)


@router.get("", responses=_READ, openapi_extra=_PIONEER)
def list_locks(
    request: Request,
    uid: Uid,
    after: Annotated[
        uuid.UUID | None, Query(description="The last id of the previous page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=positions.page_max)] = positions.page_max,
) -> LockPage:
    """The Pioneer's positions."""
    with transaction(services(request).engine) as conn:
        found = positions.page(conn, uid=uid, after=after, limit=limit)
    items = [LockAnswer.model_validate(p.view()) for p in found]
    return LockPage(items=items, next_after=str(found[-1].id) if len(found) == limit else None)


@router.post(
    "/{lock_id}/unlock", response_model=LockAnswer, responses=_CHANGE, openapi_extra=_PIONEER
)
def unlock_lock(
    lock_id: LockId, request: Request, uid: Uid, idempotency_key: IdempotencyKey
) -> Response:
    """Unlock early: the vested reward posts, the rest returns to the budget, the principal
    (less the treasury's penalty, if set) is paid back by A2U."""
    return run_kept(
        request, lambda uow: LockAnswer.model_validate(unlock(uow, lock_id, uid).view())
    )


@router.put(
    "/{lock_id}/maturity-action",
    response_model=LockAnswer,
    responses=_CHANGE,
    openapi_extra=_PIONEER,
)
def put_maturity_action(
    lock_id: LockId,
    body: ActionBody,
    request: Request,
    uid: Uid,
    idempotency_key: IdempotencyKey,
) -> Response:
    """Change what happens to the principal at maturity (until the position closes)."""

    def work(uow: UnitOfWork) -> LockAnswer:
        found = positions.set_maturity_action(uow, lock_id, uid, body.maturity_action)
        return LockAnswer.model_validate(found.view())

    return run_kept(request, work)
