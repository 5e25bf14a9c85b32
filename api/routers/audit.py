"""The public audit routes (issue 14, item 5): anyone reads the published months, their bundle
files, inclusion proofs of transfers in a month's tree, and what the cumulative log answers
(checkpoint, cumulative inclusion, consistency, witness cosignatures). No credential; cached
(``Cache-Control``, ``ETag``); rate-limited per client IP (``public_limit``).

The cumulative log's routes ask ``Services.transparency``; until it is plugged in they answer
404 ``audit_log_not_available``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.dependencies import services
from api.problems import problem_responses
from api.public import IMMUTABLE_CACHE, cached, cached_json, public_limit
from settlement.audit import bundle as b
from settlement.audit.published import InclusionProof, PublishedPeriod
from settlement.unit_of_work import transaction

router = APIRouter(prefix="/v1/audit", tags=["audit"], dependencies=[Depends(public_limit)])
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
Month = Annotated[str, Path(pattern=MONTH_PATTERN, examples=["2026-11"])]
TransferId = Annotated[
    str, Path(pattern=UUID_PATTERN, examples=["00000000-0000-4000-8000-000000000000"])
]
FileName = Annotated[str, Path(pattern=r"^[a-z]+\.(json|jsonl)$", examples=[b.MANIFEST])]
tree_size_max = 2**62
_FILE = {"schema": {"type": "string", "format": "binary"}}
IMMUTABLE_FILES = frozenset({b.MANIFEST, b.TRANSFERS, b.BALANCES, b.GOVERNANCE})
"""The files the digest commits to; signatures.json and anchors.json still grow."""


class Signature(BaseModel):
    """An officer's ed25519 signature over the month's digest."""

    public_key: str
    signature: str


class PeriodAnswer(BaseModel):
    """A published month: its digest, trees, reserves, signatures and anchors."""

    period: str = Field(examples=["2026-11"])
    digest: str = Field(description="SHA-256 of the canonical manifest, hex.")
    previous: dict[str, str] | None = Field(description="The month it links to, and its digest.")
    transfer_count: int
    transfer_root: str
    balance_root: str
    reserves: dict[str, dict[str, int]]
    threshold: int = Field(description="How many officers must sign.")
    signatures: list[Signature]
    anchors: list[dict[str, Any]] = Field(description="anchors.json: EVM and Stellar entries.")
    files: dict[str, str] = Field(description="Each bundle file's URL.")


class PeriodsAnswer(BaseModel):
    """Every published month, oldest first."""

    periods: list[PeriodAnswer]


class InclusionAnswer(BaseModel):
    """A transfer leaf (its canonical JSON) and its RFC 9162 audit path to the month's root."""

    period: str
    leaf: str = Field(description="The leaf's canonical JSON: SHA-256(0x00 || leaf) is its hash.")
    leaf_index: int
    tree_size: int
    path: list[str] = Field(description="Sibling hashes, leaf first, hex.")
    root: str = Field(description="The manifest's transfers.root.")
    digest: str = Field(description="The month's digest (which commits to the root).")


class LogAnswer(BaseModel):
    """An answer of the cumulative log, as it publishes it."""

    model_config = ConfigDict(extra="allow")


class CosignaturesAnswer(BaseModel):
    """The witnesses' cosignatures of a month's checkpoint."""

    period: str
    cosignatures: list[dict[str, Any]]


def period_answer(published: PublishedPeriod) -> dict[str, Any]:
    """A published month as answered (and as the transparency page lists it)."""
    base = f"/v1/audit/periods/{published.period}/files"
    return {
        "period": published.period,
        "digest": published.digest,
        "previous": published.previous,
        "transfer_count": published.transfer_count,
        "transfer_root": published.transfer_root,
        "balance_root": published.balance_root,
        "reserves": published.reserves,
        "threshold": published.threshold,
        "signatures": published.signatures,
        "anchors": published.anchors,
        "files": {name: f"{base}/{name}" for name in b.FILES},
    }


def proof_answer(proof: InclusionProof) -> dict[str, Any]:
    """An inclusion proof as answered."""
    return proof.as_json()


@router.get("/periods", response_model=PeriodsAnswer, responses=problem_responses(429))
def periods(request: Request) -> Response:
    """Every published month, oldest first."""
    wired = services(request)
    with transaction(wired.engine) as conn:
        found = wired.published.periods(conn)
    return cached_json(request, {"periods": [period_answer(p) for p in found]})


@router.get(
    "/periods/{month}", response_model=PeriodAnswer, responses=problem_responses(404, 422, 429)
)
def period(request: Request, month: Month) -> Response:
    """One published month."""
    wired = services(request)
    with transaction(wired.engine) as conn:
        found = wired.published.period(conn, month)
    return cached_json(request, period_answer(found))


@router.get(
    "/periods/{month}/files/{file}",
    response_class=Response,
    responses={
        200: {"description": "The file's bytes.", "content": {"application/octet-stream": _FILE}},
        **problem_responses(404, 422, 429),
    },
)
def bundle_file(request: Request, month: Month, file: FileName) -> Response:
    """One file of the month's bundle, byte for byte as published (verify it with msc-audit)."""
    wired = services(request)
    with transaction(wired.engine) as conn:
        body = wired.published.file(conn, month, file)
    rule = IMMUTABLE_CACHE if file in IMMUTABLE_FILES else "public, max-age=60"
    return cached(request, body, "application/octet-stream", rule)


@router.get(
    "/periods/{month}/inclusion/{transfer_id}",
    response_model=InclusionAnswer,
    responses=problem_responses(404, 422, 429),
)
def month_inclusion(request: Request, month: Month, transfer_id: TransferId) -> Response:
    """The transfer's inclusion proof in the month's transfer tree."""
    wired = services(request)
    with transaction(wired.engine) as conn:
        proof = wired.published.inclusion(conn, month, transfer_id)
    return cached_json(request, proof_answer(proof), IMMUTABLE_CACHE)


@router.get(
    "/periods/{month}/cosignatures",
    response_model=CosignaturesAnswer,
    responses=problem_responses(404, 422, 429),
)
def cosignatures(request: Request, month: Month) -> Response:
    """The witnesses' cosignatures of the month's checkpoint (from the cumulative log)."""
    found = services(request).transparency.cosignatures(month)
    return cached_json(request, {"period": month, "cosignatures": found})


@router.get("/checkpoint", response_model=LogAnswer, responses=problem_responses(404, 422, 429))
def checkpoint(request: Request) -> Response:
    """The cumulative log's latest signed checkpoint."""
    return cached_json(request, services(request).transparency.checkpoint())


@router.get(
    "/inclusion/{transfer_id}", response_model=LogAnswer, responses=problem_responses(404, 422, 429)
)
def cumulative_inclusion(request: Request, transfer_id: TransferId) -> Response:
    """The transfer's inclusion proof in the cumulative tree at the latest checkpoint."""
    return cached_json(request, services(request).transparency.inclusion(transfer_id))


@router.get("/consistency", response_model=LogAnswer, responses=problem_responses(404, 422, 429))
def consistency(
    request: Request,
    old: Annotated[int, Query(ge=1, le=tree_size_max, description="The older tree size.")],
    new: Annotated[int, Query(ge=1, le=tree_size_max, description="The newer tree size.")],
) -> Response:
    """The RFC 9162 consistency proof from tree size ``old`` to ``new``."""
    proof = services(request).transparency.consistency(old, new)
    return cached_json(request, proof, IMMUTABLE_CACHE)
