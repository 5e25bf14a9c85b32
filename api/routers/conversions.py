"""HTTP routes of Pi to MSC conversions (decision 0027): the Pioneer converts at a firm quote
they hold and reads their conversions back; the treasury reads any and sets Pioneers' tiers.

``POST /v1/conversions`` takes ``{"quote_id": "<uuid>"}`` and an ``Idempotency-Key`` and answers
the conversion with the ``metadata`` the Pioneer's app passes to ``Pi.createPayment`` (the
quote's Pi, purpose ``convert``); the verified payment converts or refunds it. The same quote
again answers the same conversion. ``PUT /v1/pioneers/{uid}/tier`` takes ``{"tier": 0 | 1}``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import API_KEY_SECURITY, Treasury
from api.dependencies import services
from api.idempotency import IdempotencyKey
from api.openapi import API_KEY, OPERATOR_TOKEN, PIONEER_TOKEN, security
from api.problems import BODY_STATUSES, problem_responses
from api.routers.pi import Uid
from api.routers.quotes import Reader
from settlement.conversions import conversion as conversions
from settlement.conversions.tiers import set_tier, tier_of, uid_chars_max
from settlement.unit_of_work import UnitOfWork, run, transaction

router = APIRouter(prefix="/v1", tags=["conversions"])
ConversionId = Annotated[uuid.UUID, Path(description="The conversion id (a UUID).")]
PioneerUid = Annotated[str, Path(min_length=1, max_length=uid_chars_max)]
_CREATE = problem_responses(400, 401, 403, 404, 409, 503, *BODY_STATUSES)
_READ = problem_responses(401, 403, 404, 422)
_SET = problem_responses(401, 403, *BODY_STATUSES)
_PIONEER = security(PIONEER_TOKEN)
_PIONEER_OR_TREASURY = security(PIONEER_TOKEN, API_KEY, OPERATOR_TOKEN)


class ConversionBody(BaseModel):
    """The firm quote (PI for MSC, still live) to convert at."""

    model_config = ConfigDict(extra="forbid")

    quote_id: uuid.UUID


class ConversionAnswer(BaseModel):
    """A conversion: ``quoted`` (waiting for the Pi), ``converted`` (``converted_amount`` MSC
    credited, at ``requote_id`` when the quote had expired) or ``refunded`` (``refund_code``)."""

    id: str
    uid: str
    status: str = Field(examples=["quoted", "converted", "refunded"])
    quote_id: str
    requote_id: str | None
    tier: int
    sell_asset: str
    sell_amount: str
    sell_units: int
    buy_asset: str
    buy_amount: str
    buy_units: int
    converted_amount: str | None
    converted_units: int | None
    fee_units: int | None = Field(description="The fee in Pi units, once converted.")
    payment_id: str | None
    refund_code: str | None
    created_at: str
    expires_at: str
    paid_at: str | None
    converted_at: str | None
    refunded_at: str | None
    metadata: dict[str, Any] = Field(description="Pass to Pi.createPayment as its metadata.")


class TierBody(BaseModel):
    """A Pioneer's verification tier."""

    model_config = ConfigDict(extra="forbid")

    tier: int = Field(ge=0, le=1, strict=True, examples=[1])


class TierAnswer(BaseModel):
    """The Pioneer's tier now."""

    uid: str
    tier: int


@router.post("/conversions", status_code=201, responses=_CREATE, openapi_extra=_PIONEER)
def create_conversion(
    body: ConversionBody, request: Request, uid: Uid, idempotency_key: IdempotencyKey
) -> ConversionAnswer:
    """Convert Pi to MSC at the Pioneer's quote: the Pi payment to make is in ``metadata``."""
    wired = services(request)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        return conversions.create(uow, uid=uid, quote_id=body.quote_id).view()

    return ConversionAnswer.model_validate(run(wired.engine, wired.clock, work))


@router.get("/conversions/{conversion_id}", responses=_READ, openapi_extra=_PIONEER_OR_TREASURY)
def show_conversion(
    conversion_id: ConversionId, request: Request, reader: Reader
) -> ConversionAnswer:
    """A conversion: the Pioneer who made it, or the treasury (anyone else: 404)."""
    reader_uid = None if reader.startswith("treasury:") else reader.removeprefix("pioneer:")
    with transaction(services(request).engine) as conn:
        found = conversions.require(conn, conversion_id, reader_uid)
    return ConversionAnswer.model_validate(found.view())


@router.put("/pioneers/{uid}/tier", responses=_SET, openapi_extra=API_KEY_SECURITY)
def put_tier(
    uid: PioneerUid,
    body: TierBody,
    request: Request,
    principal: Treasury,
    idempotency_key: IdempotencyKey,
) -> TierAnswer:
    """Set a Pioneer's verification tier (it picks their conversion limits)."""
    wired = services(request)

    def work(uow: UnitOfWork) -> TierAnswer:
        set_tier(uow, uid, body.tier, principal.actor[:64])
        return TierAnswer(uid=uid, tier=tier_of(uow, uid))

    return run(wired.engine, wired.clock, work)
