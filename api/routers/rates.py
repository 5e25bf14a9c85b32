"""HTTP routes of the Pi rate (treasury): what the sources last said and what the panel would
quote now, and the treasury's own rate, entered by an officer and counted as one more source.

``POST /v1/rates/treasury`` takes ``{"price": {"amount": "5000.00", "asset": "IDR"}, "valid_s":
3600}`` (decimal text; the rate of 1 PI) and an ``Idempotency-Key``; who entered it is the key's
owner. The rates sandbox is mounted under ``/rates-sandbox`` while a configured source uses it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from api.auth import API_KEY_SECURITY, Treasury
from api.dependencies import services
from api.idempotency import IdempotencyKey
from api.problems import BODY_STATUSES, problem_responses
from settlement.rates import panel as rate_panel
from settlement.rates.firm import amount_units
from settlement.rates.readings import TreasuryRateRefused, enter_treasury_rate, treasury_valid_s_max
from settlement.services import Services
from settlement.unit_of_work import UnitOfWork, run

router = APIRouter(prefix="/v1/rates", tags=["rates"])
SANDBOX_MOUNT = "/rates-sandbox"
BASE, QUOTE = "PI", "IDR"
_READ = problem_responses(401, 403)
_SET = problem_responses(401, 403, 409, *BODY_STATUSES)


class PriceBody(BaseModel):
    """A price as decimal text in Rupiah for one whole Pi."""

    model_config = ConfigDict(extra="forbid")

    amount: StrictStr = Field(max_length=32, examples=["5000.00"])
    asset: StrictStr = Field(max_length=8, examples=["IDR"])


class TreasuryRateBody(BaseModel):
    """The treasury's rate of 1 PI, fresh for ``valid_s`` seconds from now."""

    model_config = ConfigDict(extra="forbid")

    price: PriceBody
    valid_s: int = Field(ge=1, le=treasury_valid_s_max, strict=True, examples=[3600])


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


@router.post("/treasury", status_code=201, responses=_SET, openapi_extra=API_KEY_SECURITY)
def set_treasury_rate(
    body: TreasuryRateBody, request: Request, principal: Treasury, idempotency_key: IdempotencyKey
) -> RateState:
    """Enter the treasury's rate of 1 PI (recorded with who and when), then the panel's state."""
    if body.price.asset != QUOTE:
        raise TreasuryRateRefused(f"the treasury rate is in {QUOTE}, not {body.price.asset}")
    units = amount_units(body.price.amount, QUOTE)
    wired = services(request)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        enter_treasury_rate(uow, BASE, QUOTE, units, body.valid_s, principal.actor)
        return _state(uow, wired)

    return RateState.model_validate(run(wired.engine, wired.clock, work))


def mount_sandbox(app: FastAPI, wired: Services) -> None:
    """Serve the in-process rates sandbox under /rates-sandbox (embedded default only)."""
    if wired.rates_sandbox_app is not None:
        app.mount(SANDBOX_MOUNT, wired.rates_sandbox_app)
