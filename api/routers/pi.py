"""HTTP routes the Pioneer's Pi app calls: approve, complete, incomplete-payment recovery.

Every route authenticates the Pioneer with their Pi access token (`Authorization: Bearer`),
verified against Pi `GET /v2/me` and cached briefly; every refusal is problem+json with a stable
`code`. Each request is one unit of work (one database transaction, on the rail's clock).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel, Field

from api.dependencies import services
from api.openapi import PIONEER_TOKEN, security
from api.problems import BODY_STATUSES, Problem, problem_responses, refusal_problem
from settlement.pi import pioneers, recovery, u2a
from settlement.pi.deps import PiDeps
from settlement.pi.errors import PiRefusal
from settlement.refusals import REFUSALS
from settlement.services import Services
from settlement.unit_of_work import run, unit_of_work

log = structlog.get_logger(__name__)
router = APIRouter(
    prefix="/v1/pi",
    tags=["pi"],
    responses=problem_responses(
        401, 503, *BODY_STATUSES, *(e.status for e in REFUSALS.values() if e.code.startswith("pi_"))
    ),
)
PIONEER_ONLY = security(PIONEER_TOKEN)
token_cache_ttl_s = 60.0
token_cache_entries_max = 10_000
SANDBOX_MOUNT = "/pi-sandbox"


class _TokenCache:
    """Pioneer uid by access-token hash, for a short while (Pi is asked again after the TTL)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def get(self, key: str, now: float) -> str | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is None or hit[0] < now:
                return None
            return hit[1]

    def put(self, key: str, uid: str, now: float) -> None:
        with self._lock:
            self._entries[key] = (now + token_cache_ttl_s, uid)
            self._entries.move_to_end(key)
            while len(self._entries) > token_cache_entries_max:
                self._entries.popitem(last=False)


_tokens = _TokenCache()


class CompleteBody(BaseModel):
    """`onReadyForServerCompletion(paymentId, txid)`."""

    txid: str = Field(min_length=1, max_length=128)


class IncompleteBody(BaseModel):
    """`onIncompletePaymentFound(payment)`: only the identifier is trusted, Pi is asked again."""

    payment: dict[str, Any]


class PaymentStatus(BaseModel):
    """Where a U2A payment stands after the callback."""

    payment_id: str = Field(description="The Pi payment identifier.")
    status: str = Field(description="The payment's state in the service, e.g. approved.")


class RecoveredPayment(PaymentStatus):
    """An incomplete payment after recovery."""

    txid: str | None = Field(description="The Pi chain transaction, once known.")


class CompletedPayment(RecoveredPayment):
    """A completed payment and the ledger transfer that posted it."""

    transfer_id: str | None = Field(description="The ledger transfer id (a UUID), once posted.")


def _deps(request: Request) -> PiDeps:
    deps = services(request).pi
    if deps is None:
        raise Problem(503, "pi_unavailable", "The Pi rail is not configured")
    return deps


def _refusal(refusal: PiRefusal, request: Request) -> Problem:
    log.info("pi_refused", code=refusal.code, detail=refusal.detail)
    return refusal_problem(refusal, request)


def pioneer_uid(request: Request) -> str:
    """The Pioneer behind the bearer token, checked with Pi `GET /v2/me`."""
    auth = request.headers.get("authorization", "")
    if not auth.startswith("Bearer ") or len(auth) > 4096:
        raise Problem(401, "pi_unauthorized", "A Pi access token is required")
    token = auth.removeprefix("Bearer ").strip()
    key = hashlib.sha256(token.encode()).hexdigest()
    now = time.monotonic()
    cached = _tokens.get(key, now)
    if cached is not None:
        return cached
    try:
        uid = pioneers.authenticate(_deps(request), token)
    except PiRefusal as refusal:
        raise refusal_problem(refusal, request) from refusal
    _tokens.put(key, uid, now)
    return uid


Uid = Annotated[str, Depends(pioneer_uid)]


@router.post("/payments/incomplete", openapi_extra=PIONEER_ONLY)
def incomplete(body: IncompleteBody, request: Request, uid: Uid) -> RecoveredPayment:
    """Finish a U2A payment the Pi SDK found incomplete, if the chain proves it."""
    payment_id = body.payment.get("identifier")
    if not isinstance(payment_id, str):
        raise Problem(422, "pi_bad_payment_id", "payment.identifier is required")
    engine, deps = services(request).engine, _deps(request)
    try:
        outcome = run(
            engine, deps.clock, lambda uow: recovery.recover_u2a(uow, deps, payment_id, uid)
        )
    except PiRefusal as refusal:
        raise _refusal(refusal, request) from refusal
    if outcome.status == "flagged":
        raise Problem(
            422,
            outcome.code or "pi_flagged",
            "Payment refused and flagged for review",
            payment_id=outcome.payment_id,
        )
    return RecoveredPayment(payment_id=outcome.payment_id, status=outcome.status, txid=outcome.txid)


@router.post("/payments/{payment_id}/approve", openapi_extra=PIONEER_ONLY)
def approve(payment_id: str, request: Request, uid: Uid) -> PaymentStatus:
    """`onReadyForServerApproval`: check the payment against its expectation, approve it."""
    engine, deps = services(request).engine, _deps(request)
    try:
        with unit_of_work(engine, deps.clock) as uow:
            outcome = u2a.approve(uow, deps, payment_id, uid)
    except PiRefusal as refusal:
        raise _refusal(refusal, request) from refusal
    return PaymentStatus(payment_id=outcome.payment_id, status=outcome.status)


@router.post("/payments/{payment_id}/complete", openapi_extra=PIONEER_ONLY)
def complete(payment_id: str, body: CompleteBody, request: Request, uid: Uid) -> CompletedPayment:
    """`onReadyForServerCompletion`: verify on chain, post once, complete through the outbox."""
    engine, deps = services(request).engine, _deps(request)
    try:
        outcome = run(
            engine, deps.clock, lambda uow: u2a.complete(uow, deps, payment_id, body.txid, uid)
        )
    except PiRefusal as refusal:
        raise _refusal(refusal, request) from refusal
    return CompletedPayment(
        payment_id=outcome.payment_id,
        status=outcome.status,
        txid=outcome.txid,
        transfer_id=str(outcome.transfer_id) if outcome.transfer_id else None,
    )


def mount_sandbox(app: FastAPI, wired: Services) -> None:
    """Serve the in-process Pi sandbox under /pi-sandbox (embedded default only)."""
    sandbox_app = wired.pi_sandbox_app
    if sandbox_app is not None:
        app.mount(SANDBOX_MOUNT, sandbox_app)
