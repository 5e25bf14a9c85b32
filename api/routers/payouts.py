"""HTTP routes of the daily payout batch (treasury; decision 0023).

The treasury cuts the day's batch once its WIB cut-off passed (the same day again answers the
same batch), downloads its bank transfer file (always the same bytes), and uploads the bank's
confirmation: a JSON body ``{"file": "<the confirmation's text>"}`` within the request body limit
(``MSC_HTTP_BODY_BYTES_MAX``; a larger file goes through ``msc payout confirm FILE``). It also
records where payouts go: a merchant's bank account and Pi uid, a QRIS payer's bank account for a
refund owed. Every state-changing route takes an ``Idempotency-Key``.
"""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.auth import API_KEY_SECURITY, Treasury
from api.dependencies import services
from api.idempotency import IdempotencyKey
from api.problems import BODY_STATUSES, problem_responses
from settlement.payouts import details, service, store
from settlement.unit_of_work import UnitOfWork, run, transaction

router = APIRouter(prefix="/v1", tags=["payouts"])
BatchId = Annotated[
    str, Path(pattern=r"^PO[0-9]{8}$", description="The batch: PO and its WIB day, PO20261201.")
]
MerchantId = Annotated[str, Path(description="The merchant's id, e.g. UM001.")]
CSV_MEDIA_TYPE = "text/csv"


class CutBody(BaseModel):
    """Which business day (WIB) to cut: its cut-off must have passed."""

    model_config = ConfigDict(extra="forbid")

    day: date = Field(examples=["2026-12-01"])


class BatchAnswer(BaseModel):
    """A written batch, its control figures, and the bank's answer once confirmed."""

    id: str
    business_day: str
    cutoff_at: str
    created_at: str
    created_by: str
    line_count: int
    total: str = Field(description="Rupiah, two decimals.")
    total_units: int = Field(description="Sen.")
    file_sha256: str = Field(description="SHA-256 of the file's lines, as in its T line.")
    status: str = Field(description="held (awaiting the bank) or confirmed.")
    confirmed_at: str | None
    confirmed_by: str | None
    confirmation_sha256: str | None
    accepted_count: int | None
    accepted_units: int | None
    rejected_count: int | None
    rejected_units: int | None


class CutAnswer(BaseModel):
    """The day's batch (null when only Pi payouts were due) and the A2U payouts requested."""

    batch: BatchAnswer | None
    pi_payouts: int
    written: bool = Field(description="False: the day's batch was written before.")


class BatchPage(BaseModel):
    """Batches newest first; ask again with ``before=next_before``."""

    items: list[BatchAnswer]
    next_before: str | None


class ConfirmationBody(BaseModel):
    """The bank's confirmation file, as text (layout in decision 0023)."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(min_length=1, description="H, D and T lines, LF or CRLF.")


class ConfirmedAnswer(BaseModel):
    """The batch after the confirmation; ``applied`` false when it was ingested before."""

    batch: BatchAnswer
    applied: bool


class BankAccountBody(BaseModel):
    """A bank account: Bank Indonesia's 3-digit bank code, the account number, the holder's
    name (normalised to capitals)."""

    model_config = ConfigDict(extra="forbid")

    bank_code: str = Field(max_length=8, examples=["014"])
    account_number: str = Field(max_length=32, examples=["1234567890"])
    holder_name: str = Field(max_length=100, examples=["PECEL BU TIN"])


class PayoutDetailsBody(BaseModel):
    """Where a merchant is paid, put whole: a bank account for Rupiah, a Pi uid for Pi (A2U);
    null clears one."""

    model_config = ConfigDict(extra="forbid")

    bank_account: BankAccountBody | None
    pi_uid: str | None = Field(max_length=64)


class PayoutDetailsAnswer(BaseModel):
    """A merchant's payout details as stored."""

    merchant_id: str
    bank_account: dict[str, str] | None
    pi_uid: str | None
    updated_at: str | None
    updated_by: str | None


class RefundAccountAnswer(BaseModel):
    """An owed QRIS refund and the bank account it will be paid to."""

    refund_id: str
    checkout_id: str
    amount_units: int
    bank_account: dict[str, str]


def _batch(found: store.Batch) -> BatchAnswer:
    return BatchAnswer.model_validate(found.view())


@router.post(
    "/payouts/batches",
    status_code=201,
    responses=problem_responses(401, 403, 409, *BODY_STATUSES),
    openapi_extra=API_KEY_SECURITY,
)
def cut_batch(
    body: CutBody, request: Request, principal: Treasury, idempotency_key: IdempotencyKey
) -> CutAnswer:
    """Cut the day's batch: hold every line's money and record its file (treasury)."""
    wired = services(request)
    policy = service.policy(wired.settings)

    def work(uow: UnitOfWork) -> CutAnswer:
        result = service.cut(uow, body.day, policy, principal.actor, wired.pi)
        batch = _batch(result.batch) if result.batch is not None else None
        return CutAnswer(batch=batch, pi_payouts=result.pi_payouts, written=result.written)

    return run(wired.engine, wired.clock, work)


@router.get(
    "/payouts/batches", responses=problem_responses(401, 403, 422), openapi_extra=API_KEY_SECURITY
)
def list_batches(
    request: Request,
    _: Treasury,
    before: Annotated[
        str, Query(pattern=r"^(PO[0-9]{8})?$", description="The last id of the previous page.")
    ] = "",
    limit: Annotated[int, Query(ge=1, le=store.batches_page_max)] = store.batches_page_max,
) -> BatchPage:
    """Batches, newest first (treasury)."""
    with transaction(services(request).engine) as conn:
        found = store.page(conn, before, limit)
    items = [_batch(b) for b in found]
    return BatchPage(items=items, next_before=found[-1].id if len(found) == limit else None)


@router.get(
    "/payouts/batches/{batch_id}",
    responses=problem_responses(401, 403, 404, 422),
    openapi_extra=API_KEY_SECURITY,
)
def get_batch(batch_id: BatchId, request: Request, _: Treasury) -> BatchAnswer:
    """One batch (treasury)."""
    with transaction(services(request).engine) as conn:
        return _batch(store.get(conn, batch_id))


@router.get(
    "/payouts/batches/{batch_id}/file",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The bank transfer file (CSV, layout in decision 0023).",
            "content": {CSV_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(401, 403, 404, 422),
    },
    openapi_extra=API_KEY_SECURITY,
)
def batch_file(batch_id: BatchId, request: Request, _: Treasury) -> StreamingResponse:
    """The batch's transfer file, the same bytes every time (treasury)."""
    engine = services(request).engine
    with transaction(engine) as conn:
        store.get(conn, batch_id)  # 404 before the stream starts
    return StreamingResponse(
        service.stream_file(engine, batch_id),
        media_type=f"{CSV_MEDIA_TYPE}; charset=us-ascii",
        headers={"Content-Disposition": f'attachment; filename="{batch_id}.csv"'},
    )


@router.post(
    "/payouts/batches/{batch_id}/confirmation",
    responses=problem_responses(401, 403, 404, 409, *BODY_STATUSES),
    openapi_extra=API_KEY_SECURITY,
)
def confirm_batch(
    batch_id: BatchId,
    body: ConfirmationBody,
    request: Request,
    principal: Treasury,
    idempotency_key: IdempotencyKey,
) -> ConfirmedAnswer:
    """Ingest the bank's confirmation: post accepted lines, return rejected ones (treasury)."""
    wired = services(request)
    data = body.file.encode("utf-8")

    def work(uow: UnitOfWork) -> ConfirmedAnswer:
        done = service.confirm(uow, io.BytesIO(data), principal.actor, batch_id)
        return ConfirmedAnswer(batch=_batch(done.batch), applied=done.applied)

    return run(wired.engine, wired.clock, work)


@router.put(
    "/merchants/{merchant_id}/payout-details",
    responses=problem_responses(401, 403, 404, *BODY_STATUSES),
    openapi_extra=API_KEY_SECURITY,
)
def put_payout_details(
    merchant_id: MerchantId,
    body: PayoutDetailsBody,
    request: Request,
    principal: Treasury,
    idempotency_key: IdempotencyKey,
) -> PayoutDetailsAnswer:
    """Set where the merchant is paid (treasury)."""
    wired = services(request)
    bank = body.bank_account

    def work(uow: UnitOfWork) -> dict[str, Any]:
        account = details.bank_account(**bank.model_dump()) if bank is not None else None
        return details.set_merchant_details(uow, merchant_id, account, body.pi_uid, principal.actor)

    return PayoutDetailsAnswer.model_validate(run(wired.engine, wired.clock, work))


@router.put(
    "/payouts/refunds/{refund_id}/bank-account",
    responses=problem_responses(401, 403, 404, 409, *BODY_STATUSES),
    openapi_extra=API_KEY_SECURITY,
)
def put_refund_account(
    refund_id: uuid.UUID,
    body: BankAccountBody,
    request: Request,
    _: Treasury,
    idempotency_key: IdempotencyKey,
) -> RefundAccountAnswer:
    """Record the bank account an owed QRIS refund is paid to (treasury)."""
    wired = services(request)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        return details.set_refund_account(uow, refund_id, details.bank_account(**body.model_dump()))

    return RefundAccountAnswer.model_validate(run(wired.engine, wired.clock, work))
