"""HTTP routes of merchants and API keys: the treasury onboards, suspends and issues keys; a
merchant's key reads its own merchant.

Every state-changing route takes an ``Idempotency-Key`` (``api/idempotency.py``): a retried
onboarding or key issue gets the first answer again (a key's token included: it is shown in that
answer only, never stored).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import API_KEY_SECURITY, MerchantOrTreasury, Treasury
from api.dependencies import services
from api.idempotency import IdempotencyKey, keep_instead
from api.paging import AfterId, next_after
from api.problems import BODY_STATUSES, problem_responses
from settlement.access import keys
from settlement.access.keys import ApiKey
from settlement.access.principal import Role
from settlement.merchants import service
from settlement.merchants.model import CRITERIA, Merchant, MerchantRefused, MerchantRequest
from settlement.tenders import Tender
from settlement.unit_of_work import UnitOfWork, run, transaction

router = APIRouter(prefix="/v1", tags=["merchants"])
MerchantId = Annotated[str, Path(description="The merchant's id, e.g. UM001.")]
_CHANGE = problem_responses(400, 401, 403, 404, 409, 422)
_CREATE = problem_responses(401, 403, 404, 409, *BODY_STATUSES)


class MerchantBody(BaseModel):
    """A merchant to onboard. A QRIS tender needs ``static_qris``; ``nmid`` may be left out
    when ``static_qris`` carries it (and must agree with it otherwise)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$", examples=["UM001"])
    name: str = Field(min_length=1, max_length=100, examples=["Pecel Bu Tin"])
    kelurahan: str = Field(min_length=1, max_length=64, examples=["Kelurahan A"])
    rt: str | None = Field(default=None, min_length=1, max_length=8, examples=["01"])
    criteria: Literal["UMI", "UKE", "UME", "UBE", "URE"] = "UMI"
    nmid: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,32}$")
    static_qris: str | None = Field(default=None, min_length=1, max_length=512)
    tenders: list[Tender] = Field(min_length=1, max_length=len(Tender))
    settlement: dict[Tender, str] = Field(
        default_factory=dict,
        description="Asset to be paid out in, per tender: PI in PI, MSC or IDR; QRIS in IDR or"
        " MSC; MSC in MSC or IDR; MSCP in MSCP or IDR. A tender left out settles in its own.",
    )


class MerchantAnswer(BaseModel):
    """A merchant as onboarded, with its status and who changed it last."""

    id: str
    name: str
    kelurahan: str
    rt: str | None
    criteria: str = Field(description=f"One of {', '.join(CRITERIA)}.")
    nmid: str | None
    static_qris: str | None
    tenders: list[str]
    settlement: dict[str, str] = Field(description="The payout asset of every accepted tender.")
    status: str = Field(description="active or suspended.")
    created_at: str
    created_by: str
    status_changed_at: str | None
    status_changed_by: str | None


class MerchantPage(BaseModel):
    """A page of merchants by id; ask again with ``after=next_after``."""

    items: list[MerchantAnswer]
    next_after: str | None


class KeyAnswer(BaseModel):
    """An API key as stored: never its secret."""

    id: uuid.UUID
    prefix: str
    role: str
    owner: str
    label: str | None
    created_at: str
    created_by: str
    revoked_at: str | None
    revoked_by: str | None
    last_used_at: str | None = Field(description="Updated at most once a minute.")


class IssuedKeyAnswer(KeyAnswer):
    """A key just issued: ``token`` is shown in this answer only, once; the service keeps its
    SHA-256 alone. A retry with the same Idempotency-Key gets this answer with ``token`` null
    (a lost token is revoked and a new key issued)."""

    token: str | None = Field(
        description="Send as `Authorization: Bearer <token>`; null in a replayed answer."
    )


class KeyList(BaseModel):
    """The keys of one owner, revoked ones included."""

    items: list[KeyAnswer]


class MerchantKeyBody(BaseModel):
    """A key for the merchant of the path; ``label`` says where it is used (which till), so
    the right one can be revoked."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["merchant"] = "merchant"
    label: str = Field(min_length=1, max_length=100, examples=["till 1"])


class KeyBody(BaseModel):
    """A key for any role; a merchant key's owner is a merchant id."""

    model_config = ConfigDict(extra="forbid")

    role: Role
    owner: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,47}$", examples=["officer1"])
    label: str = Field(min_length=1, max_length=100, examples=["treasury desk"])


def _merchant_answer(merchant: Merchant) -> MerchantAnswer:
    return MerchantAnswer.model_validate(merchant.view())


def _key_answer(key: ApiKey) -> KeyAnswer:
    return KeyAnswer.model_validate(key.view())


@router.post(
    "/merchants",
    status_code=201,
    responses=_CREATE,
    openapi_extra=API_KEY_SECURITY,
)
def onboard_merchant(
    body: MerchantBody, request: Request, principal: Treasury, idempotency_key: IdempotencyKey
) -> MerchantAnswer:
    """Onboard a merchant (treasury); the same fields again answer the same merchant."""
    wired = services(request)
    wanted = MerchantRequest(
        id=body.id,
        name=body.name,
        kelurahan=body.kelurahan,
        rt=body.rt,
        criteria=body.criteria,
        nmid=body.nmid,
        static_qris=body.static_qris,
        tenders=frozenset(body.tenders),
        settlement=body.settlement,
    )

    def work(uow: UnitOfWork) -> MerchantAnswer:
        return _merchant_answer(service.onboard(uow, wanted, principal.actor))

    return run(wired.engine, wired.clock, work)


@router.get(
    "/merchants", responses=problem_responses(401, 403, 422), openapi_extra=API_KEY_SECURITY
)
def list_merchants(
    request: Request,
    _: Treasury,
    after: AfterId = "",
    limit: Annotated[int, Query(ge=1, le=service.merchants_page_max)] = service.merchants_page_max,
) -> MerchantPage:
    """Every merchant, a page at a time by id (treasury)."""
    with transaction(services(request).engine) as conn:
        found = service.list_merchants(conn, after=after, limit=limit)
    items = [_merchant_answer(m) for m in found]
    return MerchantPage(items=items, next_after=next_after(found, limit))


@router.get(
    "/merchants/{merchant_id}",
    responses=problem_responses(401, 403, 404, 422),
    openapi_extra=API_KEY_SECURITY,
)
def show_merchant(
    merchant_id: MerchantId, request: Request, principal: MerchantOrTreasury
) -> MerchantAnswer:
    """One merchant (treasury, or that merchant's own key)."""
    principal.require_merchant(merchant_id)
    with transaction(services(request).engine) as conn:
        found = service.find(conn, merchant_id)
    if found is None:
        raise MerchantRefused(f"no merchant {merchant_id}", code="merchant_unknown")
    return _merchant_answer(found)


@router.post("/merchants/{merchant_id}/suspend", responses=_CHANGE, openapi_extra=API_KEY_SECURITY)
def suspend_merchant(
    merchant_id: MerchantId, request: Request, principal: Treasury, idempotency_key: IdempotencyKey
) -> MerchantAnswer:
    """Suspend a merchant: no new checkouts (treasury); recorded with who and when."""
    wired = services(request)

    def work(uow: UnitOfWork) -> MerchantAnswer:
        return _merchant_answer(service.suspend(uow, merchant_id, principal.actor))

    return run(wired.engine, wired.clock, work)


@router.post(
    "/merchants/{merchant_id}/reactivate", responses=_CHANGE, openapi_extra=API_KEY_SECURITY
)
def reactivate_merchant(
    merchant_id: MerchantId, request: Request, principal: Treasury, idempotency_key: IdempotencyKey
) -> MerchantAnswer:
    """Reactivate a suspended merchant (treasury); recorded with who and when."""
    wired = services(request)

    def work(uow: UnitOfWork) -> MerchantAnswer:
        return _merchant_answer(service.reactivate(uow, merchant_id, principal.actor))

    return run(wired.engine, wired.clock, work)


@router.post(
    "/merchants/{merchant_id}/keys",
    status_code=201,
    responses=_CREATE,
    openapi_extra=API_KEY_SECURITY,
)
def issue_merchant_key(
    merchant_id: MerchantId,
    body: MerchantKeyBody,
    request: Request,
    principal: Treasury,
    idempotency_key: IdempotencyKey,
) -> IssuedKeyAnswer:
    """Issue a key for a merchant (treasury); the answer shows its token, once."""
    return _issue(request, Role.MERCHANT, merchant_id, body.label, principal.actor)


@router.get(
    "/merchants/{merchant_id}/keys",
    responses=problem_responses(401, 403, 404, 422),
    openapi_extra=API_KEY_SECURITY,
)
def list_merchant_keys(merchant_id: MerchantId, request: Request, _: Treasury) -> KeyList:
    """A merchant's keys, revoked ones too, never a secret (treasury)."""
    with transaction(services(request).engine) as conn:
        if service.find(conn, merchant_id) is None:
            raise MerchantRefused(f"no merchant {merchant_id}", code="merchant_unknown")
        found = keys.list_keys(conn, role=Role.MERCHANT, owner=merchant_id)
    return KeyList(items=[_key_answer(k) for k in found])


@router.post("/keys", status_code=201, responses=_CREATE, openapi_extra=API_KEY_SECURITY)
def issue_key(
    body: KeyBody, request: Request, principal: Treasury, idempotency_key: IdempotencyKey
) -> IssuedKeyAnswer:
    """Issue a key for any role, e.g. a gateway's or another treasury officer's (treasury)."""
    return _issue(request, body.role, body.owner, body.label, principal.actor)


@router.delete("/keys/{key_id}", responses=_CHANGE, openapi_extra=API_KEY_SECURITY)
def revoke_key(
    key_id: uuid.UUID, request: Request, principal: Treasury, idempotency_key: IdempotencyKey
) -> KeyAnswer:
    """Revoke a key: it authenticates nobody from now on (treasury)."""
    wired = services(request)

    def work(uow: UnitOfWork) -> KeyAnswer:
        return _key_answer(keys.revoke_key(uow, key_id, principal.actor))

    return run(wired.engine, wired.clock, work)


def _issue(request: Request, role: Role, owner: str, label: str | None, by: str) -> IssuedKeyAnswer:
    wired = services(request)

    def work(uow: UnitOfWork) -> IssuedKeyAnswer:
        issued = keys.issue_key(uow, role=role, owner=owner, label=label, by=by)
        return IssuedKeyAnswer.model_validate(issued.view())

    answer = run(wired.engine, wired.clock, work)
    keep_instead(request, answer.model_copy(update={"token": None}))
    return answer
