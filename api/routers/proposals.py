"""HTTP routes of treasury governance (issue 13; decision 0030).

The treasury makes a proposal (``POST /v1/proposals``), posts each officer's signature over the
proposal's ``message`` (``POST /v1/proposals/{proposal_id}/signatures``; officers sign offline,
e.g. with ``msc treasury sign``) and executes it once enough officers of the set in force have
signed (``POST /v1/proposals/{proposal_id}/execute``): the action and the record of its
execution commit together. ``GET /v1/proposals`` lists proposals and their state (treasury);
``GET /v1/governance/log`` is the governance log itself, public, as the audit bundle
publishes it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.answers import run_kept
from api.auth import API_KEY_SECURITY, Treasury
from api.dependencies import services
from api.idempotency import IdempotencyKey
from api.problems import BODY_STATUSES, problem_responses
from settlement.audit.proposal import ProposalError, read_signature
from settlement.governance import log as store
from settlement.governance import treasury
from settlement.governance.actions import Wiring
from settlement.governance.errors import refused
from settlement.unit_of_work import UnitOfWork, run

router = APIRouter(prefix="/v1", tags=["governance"])
_CHANGE = problem_responses(401, 403, 404, 409, *BODY_STATUSES)
_HEX64 = r"^[0-9a-f]{64}$"
ProposalId = Annotated[str, Path(pattern=_HEX64)]
expires_in_s_max = 90 * 24 * 3600
page_max = store.page_rows_max


class ProposalBody(BaseModel):
    """An action with its params, for the next nonce unless one is given."""

    model_config = ConfigDict(extra="forbid")

    action: str = Field(min_length=1, max_length=64, examples=["period.close"])
    params: dict[str, Any] = Field(examples=[{"period": "2026-11"}])
    expires_in_s: int | None = Field(default=None, ge=60, le=expires_in_s_max)
    nonce: int | None = Field(default=None, ge=0)


class SignatureBody(BaseModel):
    """One officer's ed25519 signature over the proposal's ``message``, both as hex."""

    model_config = ConfigDict(extra="forbid")

    public_key: str = Field(pattern=_HEX64)
    signature: str = Field(pattern=r"^[0-9a-f]{128}$")


class SignatureAnswer(BaseModel):
    """A recorded signature."""

    public_key: str
    signature: str


class ProposalAnswer(BaseModel):
    """A proposal, the exact bytes to sign (``message``, hex), its signatures and state."""

    id: str
    proposal: dict[str, Any]
    message: str = Field(description="Hex of the bytes each officer signs (decision 0030).")
    signatures: list[SignatureAnswer]
    valid_signers: int
    threshold: int
    status: str = Field(description="open, executed, expired or void (its nonce was used).")
    executed_at_us: int | None


class ExecutionAnswer(BaseModel):
    """An executed proposal: the actor its action recorded and the action's result."""

    id: str
    nonce: int
    action: str
    executed_seq: int
    by: str
    result: dict[str, Any]


class ProposalPage(BaseModel):
    """Proposals in the order they were made; ``next_after`` pages on."""

    proposals: list[ProposalAnswer]
    next_after: int | None


class LogPage(BaseModel):
    """Governance log entries in log order, exactly as published; ``next_after`` pages on."""

    entries: list[dict[str, Any]]
    next_after: int | None


@router.post(
    "/proposals",
    status_code=201,
    response_model=ProposalAnswer,
    responses=_CHANGE,
    openapi_extra=API_KEY_SECURITY,
)
def make_proposal(
    body: ProposalBody, request: Request, principal: Treasury, idempotency_key: IdempotencyKey
) -> Response:
    """Record a proposal for the officers to sign (treasury)."""
    settings = services(request).settings
    lasts_s = body.expires_in_s or settings.governance_proposal_ttl_s

    def work(uow: UnitOfWork) -> ProposalAnswer:
        expires = uow.clock.now_us() + lasts_s * 1_000_000
        made = treasury.propose(
            uow, settings.deployment_id, body.action, body.params, expires, body.nonce
        )
        return _answer(uow, made.id())

    return run_kept(request, work, status_code=201)


@router.post(
    "/proposals/{proposal_id}/signatures",
    status_code=201,
    response_model=ProposalAnswer,
    responses=_CHANGE,
    openapi_extra=API_KEY_SECURITY,
)
def add_signature(
    proposal_id: ProposalId,
    body: SignatureBody,
    request: Request,
    principal: Treasury,
    idempotency_key: IdempotencyKey,
) -> Response:
    """Record an officer's signature over the proposal (a current officer's, once)."""
    try:
        signature = read_signature(body.model_dump())
    except ProposalError as bad:
        raise refused(bad) from None
    deployment = services(request).settings.deployment_id

    def work(uow: UnitOfWork) -> ProposalAnswer:
        treasury.add_signature(uow, deployment, proposal_id, signature)
        return _answer(uow, proposal_id)

    return run_kept(request, work, status_code=201)


@router.post(
    "/proposals/{proposal_id}/execute",
    response_model=ExecutionAnswer,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
    openapi_extra=API_KEY_SECURITY,
)
def execute(
    proposal_id: ProposalId, request: Request, principal: Treasury, idempotency_key: IdempotencyKey
) -> Response:
    """Execute the proposal: its action and the record of its execution, in one transaction."""
    wired = services(request)
    deployment, wiring = wired.settings.deployment_id, Wiring(checkout=wired.checkout)

    def work(uow: UnitOfWork) -> ExecutionAnswer:
        done = treasury.execute(uow, deployment, proposal_id, wiring)
        return ExecutionAnswer.model_validate(done)

    return run_kept(request, work)


@router.get(
    "/proposals", responses=problem_responses(401, 403, 422), openapi_extra=API_KEY_SECURITY
)
def list_proposals(
    request: Request,
    principal: Treasury,
    after: Annotated[int, Query(ge=0, description="next_after of the previous page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=page_max)] = 50,
) -> ProposalPage:
    """Proposals with their signatures and state, oldest first (treasury)."""
    wired = services(request)

    def work(uow: UnitOfWork) -> ProposalPage:
        found = store.proposal_ids(uow.conn, after, limit)
        return ProposalPage(
            proposals=[_answer(uow, pid) for _, pid in found],
            next_after=found[-1][0] if len(found) == limit else None,
        )

    return run(wired.engine, wired.clock, work)


@router.get("/governance/log", responses=problem_responses(422))
def governance_log(
    request: Request,
    after: Annotated[int, Query(ge=0, description="The last seq of the previous page.")] = 0,
    limit: Annotated[int, Query(ge=1, le=page_max)] = 100,
) -> LogPage:
    """The governance log (public): officers, proposals, signatures, executions."""
    wired = services(request)

    def work(uow: UnitOfWork) -> LogPage:
        entries = store.page(uow.conn, after, limit)
        return LogPage(
            entries=entries, next_after=entries[-1]["seq"] if len(entries) == limit else None
        )

    return run(wired.engine, wired.clock, work)


def _answer(uow: UnitOfWork, proposal_id: str) -> ProposalAnswer:
    state = treasury.state(uow, proposal_id)
    message = treasury.message_of(uow, proposal_id)
    return ProposalAnswer.model_validate(state | {"message": message.hex()})
