"""HTTP routes of the QRIS rail: gateway notifications and the exceptions read model."""

from datetime import date
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.dependencies import services
from api.openapi import OPERATOR_TOKEN, SNAP_SIGNATURE, XENDIT_CALLBACK_TOKEN, security
from api.operator_auth import Operator
from api.problems import BODY_STATUSES, problem_responses, refusal_problem
from settlement.qris.exceptions import EXCEPTIONS_PAGE_MAX, list_exceptions
from settlement.qris.notifications import (
    SNAP_NOTIFY_PATH,
    SNAP_NOTIFY_SERVICE_CODE,
    NotificationDeferred,
    NotificationRefused,
    NotificationResult,
    ProviderUnknown,
    QrisEvent,
    apply_notification,
    verify_notification,
)
from settlement.unit_of_work import UnitOfWork, run, unit_of_work

router = APIRouter(tags=["qris"])
_RAW_JSON_BODY = {
    # The body is read raw (signatures cover its bytes); each gateway's shape is its own.
    "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}}
}
NOTIFICATION_DOCS: dict[str, Any] = {
    "responses": problem_responses(401, 404, 503, *BODY_STATUSES),
    # Midtrans signs inside the body (signature_key) and is confirmed with its Status API; Xendit
    # sends its callback token. Either one authenticates a notification.
    "openapi_extra": _RAW_JSON_BODY
    | {"security": [*security(XENDIT_CALLBACK_TOKEN)["security"], {}]},
}
SNAP_DOCS: dict[str, Any] = {
    "responses": problem_responses(401, 404, 503, *BODY_STATUSES),
    "openapi_extra": _RAW_JSON_BODY | security(SNAP_SIGNATURE),
}
log = structlog.get_logger(__name__)


class NotificationAnswer(BaseModel):
    """What the service did with a gateway notification (duplicates are answered 2xx too)."""

    outcome: str = Field(description="posted, recorded, duplicate, stale or exception.")
    status: str = Field(description="The payment status the gateway reported, normalised.")


class SnapNotifyAnswer(BaseModel):
    """SNAP's response format for QR MPM notify."""

    responseCode: str = Field(description="HTTP status, SNAP service code, case code.")  # noqa: N815 - SNAP's field name
    responseMessage: str  # noqa: N815 - SNAP's field name
    additionalInfo: NotificationAnswer  # noqa: N815 - SNAP's field name


class ReconciliationException(BaseModel):
    """One reconciliation exception of a business day (amounts in sen)."""

    id: int
    business_date: str
    kind: str = Field(description="unmatched_report, duplicate, amount_mismatch, late, ...")
    source: str = Field(description="report, event or expectation.")
    source_id: str
    expectation_id: str | None
    rrn: str | None
    reference: str | None
    nmid: str | None
    expected_sen: int | None
    actual_sen: int | None
    detail: str
    action: str
    created_at: str
    resolved_at: str | None


class ExceptionsPage(BaseModel):
    """A page of one business day's exceptions; ask again with ``after_id=next_after_id``."""

    date: str
    items: list[ReconciliationException]
    next_after_id: int | None


async def _notify(request: Request, provider: str) -> NotificationAnswer:
    body = await request.body()
    wired = services(request)
    headers, path, now_us = dict(request.headers), request.url.path, wired.clock.now_us()

    def verify() -> QrisEvent:
        return verify_notification(
            wired.qris_adapters, provider, headers, body, path=path, now_us=now_us
        )

    def store(uow: UnitOfWork) -> NotificationResult:
        return apply_notification(uow, event)

    try:
        # Blocking work runs in the thread pool: first the gateway's confirmation (network, no
        # transaction open), then the database transaction.
        event = await run_in_threadpool(verify)
        result = await run_in_threadpool(run, wired.engine, wired.clock, store)
    except ProviderUnknown as unknown:
        raise refusal_problem(unknown, request) from None
    except NotificationDeferred as deferred:
        # 503: the gateway retries a notification not answered 2xx (decision 0004).
        log.warning("qris_notification_deferred", provider=provider, reason=str(deferred))
        raise refusal_problem(deferred, request) from None
    except NotificationRefused as refused:
        if not refused.authenticated:
            log.warning("qris_notification_refused", provider=provider, reason=str(refused))
            raise refusal_problem(refused, request) from None
        log.warning("qris_notification_invalid", provider=provider, reason=str(refused))
        raise refusal_problem(refused, request) from None
    log.info(
        "qris_notification",
        provider=provider,
        provider_tx_id=result.event.provider_tx_id,
        status=str(result.event.status),
        outcome=str(result.outcome),
    )
    return NotificationAnswer(outcome=str(result.outcome), status=str(result.event.status))


@router.post("/v1/qris/notifications/{provider}", **NOTIFICATION_DOCS)
async def notification(request: Request, provider: str) -> NotificationAnswer:
    """Receive a gateway notification; 2xx once stored (duplicates too), 401 if not verified."""
    return await _notify(request, provider)


@router.post(SNAP_NOTIFY_PATH, **SNAP_DOCS)
async def snap_qr_mpm_notify(request: Request) -> SnapNotifyAnswer:
    """Bank Indonesia SNAP QR MPM notify at its standard path, answered in SNAP's format."""
    result = await _notify(request, "snap")
    return SnapNotifyAnswer(
        responseCode=f"200{SNAP_NOTIFY_SERVICE_CODE}00",
        responseMessage="Successful",
        additionalInfo=result,
    )


@router.get(
    "/v1/qris/exceptions",
    responses=problem_responses(401, 422),
    openapi_extra=security(OPERATOR_TOKEN),
)
def exceptions_report(
    request: Request,
    _: Operator,
    on: Annotated[date, Query(alias="date", description="Business day (WIB), YYYY-MM-DD.")],
    after_id: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=EXCEPTIONS_PAGE_MAX)] = 100,
) -> ExceptionsPage:
    """The reconciliation exceptions of one business day, a page at a time."""
    wired = services(request)
    with unit_of_work(wired.engine, wired.clock) as uow:
        items = list_exceptions(uow, on, limit=limit, after_id=after_id)
    return ExceptionsPage(
        date=on.isoformat(),
        items=[ReconciliationException.model_validate(item) for item in items],
        next_after_id=items[-1]["id"] if items else None,
    )
