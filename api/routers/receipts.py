"""Receipts (issue 14, item 5): a Pioneer (Pi access token) or a merchant (its API key; the
treasury names the merchant with ``?merchant=``) reads its own transfers of a published month,
each with its inclusion proof, and its own pseudonym, so that it can find and check its entries
in the public bundle. A transfer that names none of the caller's accounts is refused
(``audit_receipt_not_yours``). Never cached: these say who is behind a pseudonym.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api.auth import API_KEY_SECURITY, MerchantOrTreasury
from api.dependencies import services
from api.openapi import PIONEER_TOKEN, security
from api.problems import problem_responses
from api.routers.audit import InclusionAnswer, Month, TransferId, proof_answer
from api.routers.merchant_reads import NO_STORE, MerchantQuery, _merchant_of
from api.routers.pi import Uid
from settlement.audit.receipts import party_receipt, party_transfer
from settlement.unit_of_work import transaction

router = APIRouter(prefix="/v1", tags=["receipts"])
_REFUSED = problem_responses(401, 403, 404, 422)


class ReceiptAnswer(BaseModel):
    """The caller's pseudonym and its transfers of the month, each with its inclusion proof."""

    period: str
    pseudonym: str = Field(description="How the bundle names the caller's accounts.")
    digest: str
    transfer_root: str
    tree_size: int
    entries: list[InclusionAnswer]


class TransferReceiptAnswer(BaseModel):
    """One of the caller's transfers, with its inclusion proof and the caller's pseudonym."""

    pseudonym: str
    proof: InclusionAnswer


def _receipt(request: Request, party: str, month: str) -> ReceiptAnswer:
    wired = services(request)
    key = wired.settings.pseudonym_key.get_secret_value().encode("utf-8")
    with transaction(wired.engine) as conn:
        receipt = party_receipt(conn, wired.published, key, party, month)
    return ReceiptAnswer.model_validate(
        {
            "period": receipt.period,
            "pseudonym": receipt.pseudonym,
            "digest": receipt.digest,
            "transfer_root": receipt.transfer_root,
            "tree_size": receipt.tree_size,
            "entries": [proof_answer(entry) for entry in receipt.entries],
        }
    )


def _transfer(request: Request, party: str, month: str, transfer: str) -> TransferReceiptAnswer:
    wired = services(request)
    key = wired.settings.pseudonym_key.get_secret_value().encode("utf-8")
    with transaction(wired.engine) as conn:
        own, proof = party_transfer(conn, wired.published, key, party, month, transfer)
    return TransferReceiptAnswer.model_validate({"pseudonym": own, "proof": proof_answer(proof)})


@router.get("/me/receipts/{month}", responses=_REFUSED, openapi_extra=security(PIONEER_TOKEN))
def my_receipt(request: Request, response: Response, uid: Uid, month: Month) -> ReceiptAnswer:
    """The Pioneer's own transfers of the published month, with proofs and its pseudonym."""
    response.headers.update(NO_STORE)
    return _receipt(request, uid, month)


@router.get(
    "/me/receipts/{month}/{transfer_id}",
    responses=_REFUSED,
    openapi_extra=security(PIONEER_TOKEN),
)
def my_transfer_receipt(
    request: Request, response: Response, uid: Uid, month: Month, transfer_id: TransferId
) -> TransferReceiptAnswer:
    """One of the Pioneer's transfers of the month, with its proof; another's is refused."""
    response.headers.update(NO_STORE)
    return _transfer(request, uid, month, transfer_id)


@router.get("/receipts/{month}", responses=_REFUSED, openapi_extra=API_KEY_SECURITY)
def merchant_receipt(
    request: Request,
    response: Response,
    principal: MerchantOrTreasury,
    month: Month,
    merchant: MerchantQuery = None,
) -> ReceiptAnswer:
    """The merchant's own transfers of the published month, with proofs and its pseudonym."""
    response.headers.update(NO_STORE)
    return _receipt(request, _merchant_of(principal, merchant), month)


@router.get("/receipts/{month}/{transfer_id}", responses=_REFUSED, openapi_extra=API_KEY_SECURITY)
def merchant_transfer_receipt(
    request: Request,
    response: Response,
    principal: MerchantOrTreasury,
    month: Month,
    transfer_id: TransferId,
    merchant: MerchantQuery = None,
) -> TransferReceiptAnswer:
    """One of the merchant's transfers of the month, with its proof; another's is refused."""
    response.headers.update(NO_STORE)
    return _transfer(request, _merchant_of(principal, merchant), month, transfer_id)
