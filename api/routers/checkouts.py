"""HTTP routes of checkouts: the merchant creates, reads, hands over and refunds; the Pioneer who
paid pays a balance leg or disputes; the treasury decides disputes.

Amounts are decimal strings at the asset's scale with the asset named (``{"amount": "15000.00",
"asset": "IDR"}``); numbers are refused. Every state-changing route takes an ``Idempotency-Key``.
Each request is one unit of work (``settlement.unit_of_work.run``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from api.answers import run_kept
from api.auth import API_KEY_SECURITY, MerchantOrTreasury, Treasury
from api.dependencies import services
from api.idempotency import IdempotencyKey
from api.openapi import PIONEER_TOKEN, security
from api.paging import next_after
from api.problems import BODY_STATUSES, problem_responses
from api.routers.pi import Uid
from settlement.access.principal import Principal, Role
from settlement.checkout import service
from settlement.checkout.errors import CheckoutRefused
from settlement.checkout.model import Checkout, CheckoutStatus
from settlement.checkout.pricing import TenderShare, parse_price
from settlement.checkout.views import describe, describe_opened, describe_page, history
from settlement.merchants import service as merchants
from settlement.tenders import Tender
from settlement.unit_of_work import UnitOfWork, run

router = APIRouter(prefix="/v1/checkouts", tags=["checkouts"])
CheckoutId = Annotated[str, Path(pattern=r"^co_[a-z0-9]{12,20}$", description="The checkout id.")]
_READ = problem_responses(401, 403, 404, 422)
_CHANGE = problem_responses(400, 401, 403, 404, 409, 422)
_DECIDE = problem_responses(401, 403, 404, 409, *BODY_STATUSES)
_CREATE = problem_responses(400, 401, 403, 404, 409, *BODY_STATUSES)
_PIONEER = security(PIONEER_TOKEN)


class Amount(BaseModel):
    """An amount as a decimal string at the asset's scale (``"15000.00"``) and its asset."""

    model_config = ConfigDict(extra="forbid")

    amount: StrictStr = Field(max_length=32, examples=["15000.00"])
    asset: StrictStr = Field(max_length=8, examples=["IDR"])


class TenderPart(BaseModel):
    """One accepted tender and its share of the price in basis points (10,000 = all of it)."""

    model_config = ConfigDict(extra="forbid")

    tender: Tender
    share_bp: int = Field(default=10_000, ge=1, le=10_000, strict=True)


class CheckoutBody(BaseModel):
    """A checkout to open. A treasury key names the merchant; a merchant key opens its own."""

    model_config = ConfigDict(extra="forbid")

    price: Amount
    tenders: list[TenderPart] = Field(min_length=1, max_length=len(Tender))
    merchant_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,32}$")
    merchant_reference: str | None = Field(default=None, min_length=1, max_length=64)
    campaign_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,32}$")
    pioneer_uid: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")


class DecisionBody(BaseModel):
    """The treasury's decision on a disputed checkout."""

    model_config = ConfigDict(extra="forbid")

    outcome: Literal["release", "refund"]


class Money(BaseModel):
    """An amount answered: decimal string, asset, and the integer count of smallest units."""

    amount: str
    asset: str
    amount_units: int


class QuoteAnswer(BaseModel):
    """The locked price a Pi leg is quoted at: ``price`` of IDR for one whole Pi."""

    id: str
    price: Money
    base_asset: str
    source: str
    observed_at: str | None
    expires_at: str | None


class PiPayment(BaseModel):
    """What the Pioneer's app passes to ``Pi.createPayment``."""

    amount: str
    memo: str
    metadata: dict[str, Any]


class QrisAnswer(BaseModel):
    """The leg's dynamic QRIS payload (bill number = the leg's reference) and its images."""

    payload: str
    svg_url: str
    png_url: str


class LegAnswer(BaseModel):
    """One leg: its Rupiah value, its amount in its asset and how to pay it."""

    reference: str
    tender: str
    share_bp: int
    status: str = Field(description="open, paid, released, refunded or cancelled.")
    value: Money
    amount: Money
    paid_at: str | None
    quote: QuoteAnswer | None
    pi_payment: PiPayment | None
    qris: QrisAnswer | None


class CheckoutAnswer(BaseModel):
    """A checkout and its legs."""

    id: str
    merchant_id: str
    merchant_reference: str | None
    status: str = Field(description="open, paid, disputed, released, expired or refunded.")
    price: Money
    discount: Money
    payable: Money
    campaign_id: str | None
    pioneer_uid: str | None
    created_at: str | None
    expires_at: str | None
    paid_at: str | None
    release_at: str | None
    closed_at: str | None
    legs: list[LegAnswer]


class CheckoutPage(BaseModel):
    """A page of checkouts by id; ask again with ``after=next_after``."""

    items: list[CheckoutAnswer]
    next_after: str | None


class CheckoutStep(BaseModel):
    """One recorded step of a checkout: what, who and when."""

    kind: str
    leg: str | None
    from_status: str | None
    to_status: str
    actor: str
    at: str
    detail: dict[str, Any]


class CheckoutHistory(BaseModel):
    """Every step of a checkout, oldest first."""

    items: list[CheckoutStep]


def _scope(principal: Principal) -> str | None:
    """The merchant a key may act for; None for the treasury (every merchant)."""
    return principal.owner if principal.role is Role.MERCHANT else None


def _answer(uow: UnitOfWork, checkout_id: str, merchant_id: str | None) -> CheckoutAnswer:
    return _describe(uow, service.find_checkout(uow, checkout_id, merchant_id))


def _describe(uow: UnitOfWork, checkout: Checkout) -> CheckoutAnswer:
    """The answer of a checkout this unit of work just loaded or created (not read again)."""
    merchant = merchants.find(uow.conn, checkout.merchant_id)
    view = describe(uow.conn, checkout, merchant.name if merchant else None)
    return CheckoutAnswer.model_validate(view)


def _transition(
    request: Request, step: Callable[[UnitOfWork, service.CheckoutDeps], Checkout]
) -> Response:
    """One state change in one unit of work, answered with the checkout it leaves (the answer
    kept for the Idempotency-Key in the same transaction)."""
    deps = services(request).checkout
    return run_kept(request, lambda uow: _describe(uow, step(uow, deps)))


def _request(body: CheckoutBody, principal: Principal) -> service.CheckoutRequest:
    price_units = parse_price(body.price.amount, body.price.asset)
    merchant_id = _scope(principal) or body.merchant_id
    if merchant_id is None:
        raise CheckoutRefused("checkout_merchant_required", "a treasury key names merchant_id")
    if body.merchant_id not in (None, merchant_id):
        principal.require_merchant(body.merchant_id)
    shares = tuple(TenderShare(part.tender, part.share_bp) for part in body.tenders)
    return service.CheckoutRequest(
        merchant_id=merchant_id,
        price_units=price_units,
        shares=shares,
        merchant_reference=body.merchant_reference,
        campaign_id=body.campaign_id,
        pioneer_uid=body.pioneer_uid,
    )


@router.post(
    "",
    status_code=201,
    response_model=CheckoutAnswer,
    responses=_CREATE,
    openapi_extra=API_KEY_SECURITY,
)
def create_checkout(
    body: CheckoutBody,
    request: Request,
    principal: MerchantOrTreasury,
    idempotency_key: IdempotencyKey,
) -> Response:
    """Open a checkout: the legs with the Pi quote and payment parameters and the QRIS payload."""
    deps = services(request).checkout
    wanted = _request(body, principal)

    def work(uow: UnitOfWork) -> CheckoutAnswer:
        opened = service.open_checkout(uow, deps, wanted, principal.actor)
        view = describe_opened(opened.checkout, opened.merchant_name, opened.extras, opened.quote)
        return CheckoutAnswer.model_validate(view)

    return run_kept(request, work, status_code=201)


@router.get("", responses=_READ, openapi_extra=API_KEY_SECURITY)
def list_checkouts(
    request: Request,
    principal: MerchantOrTreasury,
    status: Annotated[CheckoutStatus | None, Query(description="Only this status.")] = None,
    merchant_id: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,32}$")] = None,
    after: Annotated[
        str,
        Query(max_length=32, pattern=r"^[a-z0-9_]*$", description="next_after of the last page."),
    ] = "",
    limit: Annotated[int, Query(ge=1, le=service.checkouts_page_max)] = service.checkouts_page_max,
) -> CheckoutPage:
    """The merchant's checkouts (a treasury key: every merchant's, or ``merchant_id``'s)."""
    wired = services(request)
    if merchant_id is not None:
        principal.require_merchant(merchant_id)  # a merchant key names only its own
    scope = _scope(principal) or merchant_id

    def work(uow: UnitOfWork) -> CheckoutPage:
        found = service.list_checkouts(uow, scope, status, after, limit)
        names = merchants.names(uow.conn, {checkout.merchant_id for checkout in found})
        items = [
            CheckoutAnswer.model_validate(view) for view in describe_page(uow.conn, found, names)
        ]
        return CheckoutPage(items=items, next_after=next_after(found, limit))

    return run(wired.engine, wired.clock, work)


@router.get("/{checkout_id}", responses=_READ, openapi_extra=API_KEY_SECURITY)
def show_checkout(
    checkout_id: CheckoutId, request: Request, principal: MerchantOrTreasury
) -> CheckoutAnswer:
    """One checkout (its merchant's key, or the treasury)."""
    wired = services(request)
    return run(wired.engine, wired.clock, lambda uow: _answer(uow, checkout_id, _scope(principal)))


@router.get("/{checkout_id}/events", responses=_READ, openapi_extra=API_KEY_SECURITY)
def checkout_events(
    checkout_id: CheckoutId, request: Request, principal: MerchantOrTreasury
) -> CheckoutHistory:
    """Every recorded step of the checkout, with who and when."""
    wired = services(request)

    def work(uow: UnitOfWork) -> CheckoutHistory:
        service.find_checkout(uow, checkout_id, _scope(principal))
        return CheckoutHistory.model_validate({"items": history(uow.conn, checkout_id)})

    return run(wired.engine, wired.clock, work)


@router.post(
    "/{checkout_id}/handover",
    response_model=CheckoutAnswer,
    responses=_CHANGE,
    openapi_extra=API_KEY_SECURITY,
)
def handover(
    checkout_id: CheckoutId,
    request: Request,
    principal: MerchantOrTreasury,
    idempotency_key: IdempotencyKey,
) -> Response:
    """The merchant handed the goods over: escrow is released to it now, less the shares."""
    return _transition(
        request,
        lambda uow, deps: service.handover(
            uow, deps, checkout_id, _scope(principal), principal.actor
        ),
    )


@router.post(
    "/{checkout_id}/refund",
    response_model=CheckoutAnswer,
    responses=_CHANGE,
    openapi_extra=API_KEY_SECURITY,
)
def refund(
    checkout_id: CheckoutId,
    request: Request,
    principal: MerchantOrTreasury,
    idempotency_key: IdempotencyKey,
) -> Response:
    """Refund a checkout not yet released: every paid leg goes back to its payer."""
    return _transition(
        request,
        lambda uow, _: service.refund_checkout(
            uow, checkout_id, _scope(principal), principal.actor
        ),
    )


@router.post(
    "/{checkout_id}/decision",
    response_model=CheckoutAnswer,
    responses=_DECIDE,
    openapi_extra=API_KEY_SECURITY,
)
def decide(
    checkout_id: CheckoutId,
    body: DecisionBody,
    request: Request,
    principal: Treasury,
    idempotency_key: IdempotencyKey,
) -> Response:
    """The treasury decides a dispute: release to the merchant or refund to the payer."""
    return _transition(
        request,
        lambda uow, deps: service.decide_dispute(
            uow, deps, checkout_id, body.outcome, principal.actor
        ),
    )


@router.post(
    "/{checkout_id}/dispute",
    response_model=CheckoutAnswer,
    responses=_CHANGE,
    openapi_extra=_PIONEER,
)
def dispute(
    checkout_id: CheckoutId, request: Request, uid: Uid, idempotency_key: IdempotencyKey
) -> Response:
    """The Pioneer who paid disputes the checkout before release; escrow is frozen."""
    return _transition(request, lambda uow, _: service.dispute_checkout(uow, checkout_id, uid))


@router.post(
    "/{checkout_id}/legs/{tender}/pay",
    response_model=CheckoutAnswer,
    responses=_CHANGE,
    openapi_extra=_PIONEER,
)
def pay_leg(
    checkout_id: CheckoutId,
    tender: Literal["MSC", "MSCP"],
    request: Request,
    uid: Uid,
    idempotency_key: IdempotencyKey,
) -> Response:
    """The Pioneer pays the MSC or points leg from their balance."""
    return _transition(
        request, lambda uow, _: service.pay_with_balance(uow, checkout_id, Tender(tender), uid)
    )
