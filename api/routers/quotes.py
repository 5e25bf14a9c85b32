"""HTTP routes of firm quotes (SEP-38 shape, decision 0022): the Pioneer asks for one with their
Pi access token and reads it back; the treasury reads any.

``POST /v1/quotes`` takes ``sell_asset`` (``PI``), ``buy_asset`` (``MSC`` or ``IDR``) and exactly
one of ``sell_amount`` / ``buy_amount`` as decimal text at the asset's scale (numbers are
refused), and an ``Idempotency-Key``. A quote is held until ``expires_at`` and readable after.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from api.auth import principal_of
from api.dependencies import services
from api.idempotency import IdempotencyKey
from api.openapi import API_KEY, OPERATOR_TOKEN, PIONEER_TOKEN, security
from api.problems import BODY_STATUSES, problem_responses
from api.routers.pi import Uid, pioneer_uid
from settlement.access.principal import AccessRefused, Role
from settlement.rates.firm import (
    QuoteRefused,
    amount_units,
    find_firm_quote,
    firm_quote,
    sep38,
)
from settlement.unit_of_work import UnitOfWork, run, transaction

router = APIRouter(prefix="/v1/quotes", tags=["quotes"])
QuoteId = Annotated[uuid.UUID, Path(description="The quote id (a UUID).")]
_CREATE = problem_responses(400, 401, 403, 409, 503, *BODY_STATUSES)
_READ = problem_responses(401, 403, 404, 422)
_PIONEER = security(PIONEER_TOKEN)
_PIONEER_OR_TREASURY = security(PIONEER_TOKEN, API_KEY, OPERATOR_TOKEN)


class QuoteBody(BaseModel):
    """A firm quote to make: what the Pioneer sells and buys, and one of the two amounts."""

    model_config = ConfigDict(extra="forbid")

    sell_asset: StrictStr = Field(max_length=8, examples=["PI"])
    buy_asset: StrictStr = Field(max_length=8, examples=["MSC"])
    sell_amount: StrictStr | None = Field(default=None, max_length=32, examples=["10.0000000"])
    buy_amount: StrictStr | None = Field(default=None, max_length=32, examples=["50000.00"])


class FeeDetailAnswer(BaseModel):
    """One part of the fee."""

    name: str
    amount: str
    description: str


class FeeAnswer(BaseModel):
    """The fee, in ``asset``: ``total`` is the sum of ``details``."""

    total: str
    asset: str
    details: list[FeeDetailAnswer]


class RateAnswer(BaseModel):
    """The locked rate: ``price`` of ``asset`` for one whole ``base_asset``, the median of the
    readings ``reading_ids`` (``source`` is their one source or ``median``)."""

    price: str
    asset: str
    base_asset: str
    source: str
    observed_at: str
    reading_ids: list[int]


class QuoteAnswer(BaseModel):
    """A firm quote in SEP-38's shape (``price``: sell per one buy without the fee;
    ``total_price``: with it), plus the locked rate and which amount was given."""

    id: str
    expires_at: str
    price: str
    total_price: str
    sell_asset: str
    sell_amount: str
    buy_asset: str
    buy_amount: str
    fee: FeeAnswer
    given: str = Field(description="sell or buy: the amount the requester named.")
    rate: RateAnswer
    created_at: str


def pioneer_or_treasury(request: Request) -> str:
    """``treasury:<owner>`` for a treasury key or the operator token, ``pioneer:<uid>`` for a Pi
    access token; another API key is 403, no credential 401."""
    try:
        principal = principal_of(request)
    except AccessRefused:
        return f"pioneer:{pioneer_uid(request)}"
    if principal.role is not Role.TREASURY:
        raise AccessRefused(f"{principal.role} keys may not read quotes; needs treasury")
    return principal.actor


Reader = Annotated[str, Depends(pioneer_or_treasury)]


def _units(text: str | None, code: str) -> int | None:
    return None if text is None else amount_units(text, code)


@router.post("", status_code=201, responses=_CREATE, openapi_extra=_PIONEER)
def create_quote(
    body: QuoteBody, request: Request, uid: Uid, idempotency_key: IdempotencyKey
) -> QuoteAnswer:
    """A firm quote for the Pioneer, held until ``expires_at``."""
    wired = services(request)
    sell_units = _units(body.sell_amount, body.sell_asset)
    buy_units = _units(body.buy_amount, body.buy_asset)

    def work(uow: UnitOfWork) -> QuoteAnswer:
        quote = firm_quote(
            uow,
            wired.checkout.rates,
            requested_by=f"pioneer:{uid}",
            sell_asset=body.sell_asset,
            buy_asset=body.buy_asset,
            sell_units=sell_units,
            buy_units=buy_units,
            ttl_s=wired.settings.quote_ttl_s,
        )
        return QuoteAnswer.model_validate(sep38(quote))

    return run(wired.engine, wired.clock, work)


@router.get("/{quote_id}", responses=_READ, openapi_extra=_PIONEER_OR_TREASURY)
def show_quote(quote_id: QuoteId, request: Request, reader: Reader) -> QuoteAnswer:
    """A quote, expired ones too: the Pioneer who asked for it, or the treasury."""
    with transaction(services(request).engine) as conn:
        quote = find_firm_quote(conn, quote_id)
    if quote is None or not (reader.startswith("treasury:") or quote.requested_by == reader):
        raise QuoteRefused(f"no quote {quote_id}", code="quote_not_found")
    return QuoteAnswer.model_validate(sep38(quote))
