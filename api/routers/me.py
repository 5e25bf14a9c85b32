"""The Pioneer's own read routes: ``GET /v1/me/balances``, what the treasury owes them in MSC and
MSC Points (an asset never held reads as zero), with the Pi access token."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from api.dependencies import services
from api.openapi import PIONEER_TOKEN, security
from api.problems import problem_responses
from api.routers.merchant_reads import NO_STORE, Amount
from api.routers.pi import Uid
from settlement.reports.balances import pioneer_balances
from settlement.unit_of_work import unit_of_work

router = APIRouter(prefix="/v1/me", tags=["pioneers"])


class PioneerAssetBalance(BaseModel):
    """One asset of the Pioneer's balances."""

    asset: str
    posted: Amount
    pending_outgoing: Amount
    available: Amount


class PioneerBalances(BaseModel):
    """The Pioneer's balances in MSC and MSCP."""

    uid: str
    balances: list[PioneerAssetBalance]


@router.get(
    "/balances", responses=problem_responses(401, 403), openapi_extra=security(PIONEER_TOKEN)
)
def my_balances(request: Request, response: Response, uid: Uid) -> PioneerBalances:
    """The Pioneer's own MSC and MSCP balances."""
    wired = services(request)
    with unit_of_work(wired.engine, wired.clock) as uow:
        found = pioneer_balances(uow.ledger, uid)
    response.headers.update(NO_STORE)
    views = []
    for balance in found:
        view = balance.view()
        del view["pending_incoming"]
        views.append(view)
    return PioneerBalances.model_validate({"uid": uid, "balances": views})
