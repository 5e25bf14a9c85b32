"""HTTP routes of MSC against Rupiah and the reserve (issue 12, items 4, 5 and 11).

The treasury books bank-statement lines (``POST /v1/msc/bank-deposits``), issues MSC against
them (``POST /v1/msc/issuances``) and redeems MSC to a bank account (``POST
/v1/msc/redemptions``); a Pioneer withdraws MSC to an EVM address (``POST
/v1/msc/withdrawals``); anyone reads the reserve coverage and its history (``GET
/v1/reserves``). Amounts in bodies are decimal text at scale 2 (``"15000.00"``), read exactly;
answers carry them in sen (``*_units``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import API_KEY_SECURITY, Treasury
from api.dependencies import services
from api.idempotency import IdempotencyKey
from api.openapi import PIONEER_TOKEN, security
from api.problems import BODY_STATUSES, problem_responses
from api.routers.pi import Uid
from settlement import chart
from settlement.evm import bridge
from settlement.payouts import details
from settlement.reserves import issuance, redemption, reserve
from settlement.reserves.issuance import REFERENCE_PATTERN, BankDeposit
from settlement.unit_of_work import UnitOfWork, run, transaction

router = APIRouter(prefix="/v1", tags=["msc"])
bigint_max = 2**63 - 1
"""The largest id a PostgreSQL ``bigint`` holds: a cursor past it names no computation."""
_AMOUNT = Field(pattern=r"^[0-9]{1,16}(\.[0-9]{1,2})?$", examples=["15000.00"])
_HOLDER_PATTERN = r"^(pioneer:[A-Za-z0-9_.:-]{1,64}|merchant:[A-Za-z0-9_-]{1,32}):MSC$"
_HOLDER = Field(pattern=_HOLDER_PATTERN, examples=["pioneer:7a1c:MSC"])
_CHANGE = problem_responses(401, 403, 404, 409, *BODY_STATUSES)


class BankDepositBody(BaseModel):
    """A bank-statement line: Rupiah received under ``reference`` on ``value_date``, for the
    MSC ``holder`` it buys, or reserve capital when ``holder`` is left out."""

    model_config = ConfigDict(extra="forbid")

    reference: str = Field(pattern=REFERENCE_PATTERN, examples=["BCA-20261201-0001"])
    amount: str = _AMOUNT
    holder: str | None = Field(
        default=None, pattern=_HOLDER_PATTERN, examples=["merchant:UM001:MSC"]
    )
    value_date: date
    memo: str | None = Field(default=None, max_length=issuance.memo_chars_max)


class IssuanceBody(BaseModel):
    """Issue the deposit's amount in MSC, 1:1, to the holder it names."""

    model_config = ConfigDict(extra="forbid")

    deposit_reference: str = Field(pattern=REFERENCE_PATTERN)


class DepositAnswer(BaseModel):
    """A booked bank deposit: ``received``, or ``issued`` once its MSC exists."""

    reference: str
    amount_units: int = Field(description="Sen.")
    holder: str | None
    value_date: date
    memo: str | None
    transfer_id: str
    recorded_at: str
    status: str = Field(examples=["issued"])
    issue_transfer_id: str | None
    issued_at: str | None


class RedemptionBody(BaseModel):
    """Redeem ``amount`` MSC of ``holder`` for Rupiah paid to the bank account named."""

    model_config = ConfigDict(extra="forbid")

    holder: str = _HOLDER
    amount: str = _AMOUNT
    bank_code: str = Field(pattern=r"^[0-9]{3}$", examples=["014"])
    account_number: str = Field(pattern=r"^[0-9]{5,20}$", examples=["1234567890"])
    account_name: str = Field(min_length=1, max_length=100)  # checked whole by the use case


class RedemptionAnswer(BaseModel):
    """A redemption: ``owed`` until the payout batch takes it."""

    id: str
    holder: str
    amount_units: int
    bank_code: str
    account_number: str
    account_name: str
    status: str
    burn_transfer_id: str
    payable_transfer_id: str
    created_at: str


class WithdrawalBody(BaseModel):
    """Move ``amount`` MSC from the Pioneer's balance to ``to_address`` on the EVM chain."""

    model_config = ConfigDict(extra="forbid")

    to_address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    amount: str = _AMOUNT


class WithdrawalAnswer(BaseModel):
    """A booked withdrawal; the mint follows through the outbox."""

    transfer_id: str
    holder: str
    to_address: str
    amount_units: int
    chain_id: int


class PriceAnswer(BaseModel):
    """The Pi price a computation valued the inventory at."""

    price_units: int = Field(description="Sen per whole PI.")
    source: str
    observed_at: str


class ReserveAnswer(BaseModel):
    """One stored coverage computation with every input (sen, 1e-7 PI, basis points)."""

    id: int | None
    computed_at: str
    purpose: str
    idr_bank: int
    idr_deposits_unissued: int
    idr_redemptions_payable: int
    idr_reserve: int
    pi_inventory: int
    price: PriceAnswer | None
    haircut_bps: int
    pi_value_idr: int
    reserve_value_idr: int
    msc_ledger: int
    msc_onchain: int
    msc_issuing: int
    msc_outstanding: int
    coverage_bps: int | None = Field(description="floor(reserve / outstanding); null: none out.")
    floor_bps: int
    below_floor: bool


class ReservesAnswer(BaseModel):
    """The newest computation and a page of the history, newest first (``before=next_before``)."""

    latest: ReserveAnswer | None
    history: list[ReserveAnswer]
    next_before: int | None


@router.post(
    "/msc/bank-deposits", status_code=201, responses=_CHANGE, openapi_extra=API_KEY_SECURITY
)
def record_bank_deposit(
    body: BankDepositBody, request: Request, principal: Treasury, idempotency_key: IdempotencyKey
) -> DepositAnswer:
    """Book a bank-statement line into the reserve, once per reference (treasury)."""
    wanted = BankDeposit(
        body.reference, issuance.parse_sen(body.amount), body.holder, body.value_date, body.memo
    )
    wired = services(request)

    def work(uow: UnitOfWork) -> DepositAnswer:
        booked = issuance.record_bank_deposit(uow, wanted, principal.actor)
        return DepositAnswer.model_validate(booked.view())

    return run(wired.engine, wired.clock, work)


@router.post("/msc/issuances", status_code=201, responses=_CHANGE, openapi_extra=API_KEY_SECURITY)
def issue(
    body: IssuanceBody, request: Request, principal: Treasury, idempotency_key: IdempotencyKey
) -> DepositAnswer:
    """Issue MSC 1:1 against a booked deposit, if the reserve coverage allows (treasury)."""
    wired = services(request)
    panel = wired.checkout.rates

    def work(uow: UnitOfWork) -> DepositAnswer:
        price = reserve.reserve_price(uow, panel)  # before the issuance locks anything
        done = issuance.issue(uow, body.deposit_reference, principal.actor, price)
        return DepositAnswer.model_validate(done.view())

    return run(wired.engine, wired.clock, work)


@router.post("/msc/redemptions", status_code=201, responses=_CHANGE, openapi_extra=API_KEY_SECURITY)
def redeem(
    body: RedemptionBody, request: Request, principal: Treasury, idempotency_key: IdempotencyKey
) -> RedemptionAnswer:
    """Burn a holder's MSC and owe the Rupiah to the payout batch (treasury)."""
    account = details.bank_account(body.bank_code, body.account_number, body.account_name)
    wanted = redemption.RedemptionRequest(
        f"{principal.actor}:{idempotency_key}",
        body.holder,
        issuance.parse_sen(body.amount),
        account,
    )
    wired = services(request)

    def work(uow: UnitOfWork) -> RedemptionAnswer:
        done = redemption.redeem(uow, wanted, principal.actor)
        return RedemptionAnswer.model_validate(done.view())

    return run(wired.engine, wired.clock, work)


@router.post(
    "/msc/withdrawals",
    status_code=201,
    responses=_CHANGE,
    openapi_extra=security(PIONEER_TOKEN),
)
def withdraw(
    body: WithdrawalBody, request: Request, uid: Uid, idempotency_key: IdempotencyKey
) -> WithdrawalAnswer:
    """The Pioneer moves MSC to an EVM address: the ledger first, the mint through the outbox."""
    wired = services(request)
    holder = chart.pioneer_balance(uid, "MSC").code
    chain_id = wired.settings.evm_chain_id
    amount = issuance.parse_sen(body.amount)

    def work(uow: UnitOfWork) -> WithdrawalAnswer:
        done = bridge.withdraw(
            uow, chain_id, holder, body.to_address, amount, f"pioneer:{uid}:{idempotency_key}"
        )
        return WithdrawalAnswer(
            transfer_id=str(done.transfer_id),
            holder=done.holder,
            to_address=done.to_address,
            amount_units=done.amount,
            chain_id=chain_id,
        )

    return run(wired.engine, wired.clock, work)


@router.get("/reserves", responses=problem_responses(422))
def reserves(
    request: Request,
    before: Annotated[
        int | None,
        Query(ge=1, le=bigint_max, description="The last id of the page before."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=reserve.history_page_max)] = 20,
) -> ReservesAnswer:
    """The reserve coverage (public): the newest computation and its history."""
    with transaction(services(request).engine) as conn:
        found = reserve.history(conn, before, limit)
        newest = found[0] if before is None and found else reserve.latest(conn)
    items = [_answer(c.view()) for c in found]
    return ReservesAnswer(
        latest=None if newest is None else _answer(newest.view()),
        history=items,
        next_before=found[-1].id if len(found) == limit else None,
    )


def _answer(view: dict[str, Any]) -> ReserveAnswer:
    return ReserveAnswer.model_validate(view)
