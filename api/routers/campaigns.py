"""HTTP routes of Pi-Zone campaigns and revenue-share rules (treasury).

A campaign is created with its budget funded in the same transaction; the same id with the same
fields answers the same campaign, with other fields 409 ``campaign_exists``. A share rule (the
splits) is read here and set whole by a signed ``share.set`` proposal (``POST /v1/proposals``,
decision 0030) under a merchant's id or ``default``. Amounts are
``{"amount": "15000.00", "asset": "IDR"}`` (decimal text at the asset's scale, read exactly;
answers add ``amount_units``). Every state-changing route takes an ``Idempotency-Key``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy import Connection

from api.auth import API_KEY_SECURITY, Treasury
from api.dependencies import services
from api.idempotency import IdempotencyKey
from api.paging import AfterId, next_after
from api.problems import BODY_STATUSES, problem_responses
from settlement.campaigns import service
from settlement.campaigns.model import Campaign, discount_bp_max, request_of
from settlement.shares.rules import (
    ShareRuleNotFound,
    find_rule,
    rule_record,
    rule_view,
)
from settlement.unit_of_work import UnitOfWork, run, transaction

router = APIRouter(prefix="/v1", tags=["campaigns"])
_ID = r"^[A-Za-z0-9_-]{1,32}$"
RuleId = Annotated[
    str, Path(pattern=_ID, description="A merchant's id (its own rule), or `default`.")
]


class IdrAmount(BaseModel):
    """An amount in Rupiah, as decimal text with at most 2 decimals (floats are refused)."""

    model_config = ConfigDict(extra="forbid")

    amount: str = Field(pattern=r"^[0-9]+(\.[0-9]{1,2})?$", max_length=24, examples=["15000.00"])
    asset: Literal["IDR"] = "IDR"


class IdrAmountAnswer(BaseModel):
    """An amount in Rupiah: decimal text, and the same in sen."""

    amount: str = Field(examples=["15000.00"])
    asset: str = Field(examples=["IDR"])
    amount_units: int = Field(description="Sen.", examples=[1_500_000])


class CampaignBody(BaseModel):
    """A Pi-Zone campaign: ``discount_bp`` off each checkout's price (floored to the sen),
    reserved from ``budget``, at most ``cap_per_pioneer_day`` per Pioneer and
    ``cap_per_merchant_day`` per merchant per WIB day, within ``[starts_at, ends_at)``, at the
    merchants named (every merchant when left out)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_ID, examples=["pz-juni"])
    name: str = Field(min_length=1, max_length=100, examples=["Pi-Zone Juni"])
    discount_bp: StrictInt = Field(ge=1, le=discount_bp_max, examples=[1000])
    budget: IdrAmount
    cap_per_pioneer_day: IdrAmount
    cap_per_merchant_day: IdrAmount
    merchant_ids: list[Annotated[str, Field(pattern=_ID)]] | None = Field(
        default=None, min_length=1, max_length=1000, examples=[["UM001"]]
    )
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class CampaignAnswer(BaseModel):
    """A campaign as stored."""

    id: str
    name: str
    discount_bp: int
    budget: IdrAmountAnswer
    cap_per_pioneer_day: IdrAmountAnswer
    cap_per_merchant_day: IdrAmountAnswer
    merchant_ids: list[str] | None = Field(description="null: every merchant.")
    starts_at: datetime
    ends_at: datetime = Field(description="Excluded: the campaign has ended at this time.")


class CampaignPage(BaseModel):
    """A page of campaigns by id; ask again with ``after=next_after``."""

    items: list[CampaignAnswer]
    next_after: str | None


class ShareRuleAnswer(BaseModel):
    """A rule as stored, with who set it last and when."""

    id: str
    allotments: list[dict[str, Any]] = Field(description="The clauses, as put.")
    cashback_bp: int
    cashback_cap: IdrAmountAnswer | None
    updated_at: datetime
    updated_by: str


def _campaign_answer(campaign: Campaign) -> CampaignAnswer:
    return CampaignAnswer.model_validate(campaign.view())


@router.post(
    "/campaigns",
    status_code=201,
    responses=problem_responses(401, 403, 409, *BODY_STATUSES),
    openapi_extra=API_KEY_SECURITY,
)
def create_campaign(
    body: CampaignBody, request: Request, principal: Treasury, idempotency_key: IdempotencyKey
) -> CampaignAnswer:
    """Create a campaign and fund its budget (treasury)."""
    wanted = request_of(
        campaign_id=body.id,
        name=body.name,
        discount_bp=body.discount_bp,
        budget=body.budget.amount,
        cap_per_pioneer_day=body.cap_per_pioneer_day.amount,
        cap_per_merchant_day=body.cap_per_merchant_day.amount,
        merchant_ids=body.merchant_ids,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
    )
    wired = services(request)

    def work(uow: UnitOfWork) -> CampaignAnswer:
        return _campaign_answer(service.create_campaign(uow, wanted, principal.actor))

    return run(wired.engine, wired.clock, work)


@router.get(
    "/campaigns", responses=problem_responses(401, 403, 422), openapi_extra=API_KEY_SECURITY
)
def list_campaigns(
    request: Request,
    _: Treasury,
    after: AfterId = "",
    limit: Annotated[int, Query(ge=1, le=service.campaigns_page_max)] = service.campaigns_page_max,
) -> CampaignPage:
    """Every campaign, a page at a time by id (treasury)."""
    with transaction(services(request).engine) as conn:
        found = service.list_campaigns(conn, after=after, limit=limit)
    items = [_campaign_answer(c) for c in found]
    return CampaignPage(items=items, next_after=next_after(found, limit))


@router.get(
    "/share-rules/{rule_id}",
    responses=problem_responses(401, 403, 404, 422),
    openapi_extra=API_KEY_SECURITY,
)
def show_share_rule(rule_id: RuleId, request: Request, _: Treasury) -> ShareRuleAnswer:
    """The rule stored under a merchant's id or ``default`` (treasury); a merchant without
    its own rule is split by ``default``."""
    with transaction(services(request).engine) as conn:
        return _rule_answer(conn, rule_id)


def _rule_answer(conn: Connection, rule_id: str) -> ShareRuleAnswer:
    rule = find_rule(conn, rule_id)
    record = rule_record(conn, rule_id)
    if rule is None or record is None:
        raise ShareRuleNotFound(f"no rule under {rule_id!r}")
    return ShareRuleAnswer.model_validate(rule_view(rule) | record)
