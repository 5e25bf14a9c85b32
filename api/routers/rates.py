"""HTTP routes of the Pi rate (treasury): what the sources last said and what the panel would
quote now, the treasury's own rate among them. That rate is entered by a ``rate.override``
proposal signed by the officers (``POST /v1/proposals``, decision 0030). The rates sandbox is
mounted under ``/rates-sandbox`` while a configured source uses it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel

from api.auth import API_KEY_SECURITY, Treasury
from api.dependencies import services
from api.problems import problem_responses
from settlement.rates import panel as rate_panel
from settlement.services import Services
from settlement.unit_of_work import UnitOfWork, run

router = APIRouter(prefix="/v1/rates", tags=["rates"])
SANDBOX_MOUNT = "/rates-sandbox"
BASE, QUOTE = "PI", "IDR"
_READ = problem_responses(401, 403)


class ReadingAnswer(BaseModel):
    """One stored reading: a price (or the failure why none), when observed and fetched."""

    reading_id: int
    source: str
    price: str | None
    fresh: bool
    failure: str | None
    observed_at: str | None
    fetched_at: str | None
    valid_until: str | None
    entered_by: str | None


class RatePolicyAnswer(BaseModel):
    """What the fresh readings must meet."""

    sources_min: int
    age_s_max: int
    spread_bp_max: int


class RateState(BaseModel):
    """What the panel would quote now from the stored readings: ``price`` (the median) or the
    ``refusal`` code, and every source's newest reading."""

    base_asset: str
    quote_asset: str
    price: str | None
    refusal: str | None
    detail: str | None
    source: str | None = None
    policy: RatePolicyAnswer
    readings: list[ReadingAnswer]


def _state(uow: UnitOfWork, wired: Services) -> dict[str, Any]:
    panel = wired.checkout.rates
    found = rate_panel.stored(uow.conn, panel, BASE, QUOTE)
    return rate_panel.state(found, uow.clock.now_us(), panel.policy, BASE, QUOTE)


@router.get("", responses=_READ, openapi_extra=API_KEY_SECURITY)
def show_rates(request: Request, principal: Treasury) -> RateState:
    """The sources' newest readings of PI in IDR and the median they make now (or why none)."""
    wired = services(request)
    return RateState.model_validate(run(wired.engine, wired.clock, lambda uow: _state(uow, wired)))


def mount_sandbox(app: FastAPI, wired: Services) -> None:
    """Serve the in-process rates sandbox under /rates-sandbox (embedded default only)."""
    if wired.rates_sandbox_app is not None:
        app.mount(SANDBOX_MOUNT, wired.rates_sandbox_app)
