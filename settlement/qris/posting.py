"""Receipts into the ledger: gross to the merchant, split into net cash and the MDR expense."""

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from escrow.errors import InvariantViolation
from escrow.ledger import Ledger
from escrow.model import ResultCode, TransferFlags, TransferRequest, transfer_id
from escrow.rules import batch_transfers_max
from settlement.qris.accounts import ASSET, CLEARING_ACCOUNT, MDR_EXPENSE_ACCOUNT

RECEIPT_NAMESPACE = "qris.receipt"
MDR_NAMESPACE = "qris.mdr"
_ACCEPTED = frozenset({ResultCode.OK, ResultCode.EXISTS})


@dataclass(frozen=True, slots=True)
class Receipt:
    """A matched QRIS payment: the expectation it pays and what the acquirer keeps."""

    expectation_id: uuid.UUID
    credit_account: str
    gross_sen: int
    fee_sen: int
    rrn: str | None
    source: str

    def __post_init__(self) -> None:
        if not 0 <= self.fee_sen <= self.gross_sen:
            raise InvariantViolation(f"fee {self.fee_sen} outside 0..{self.gross_sen}")


def receipt_transfer_id(expectation_id: uuid.UUID) -> uuid.UUID:
    """One expectation is paid once, whichever source (event or report) saw it first."""
    return transfer_id(RECEIPT_NAMESPACE, str(expectation_id))


def transfers_for(receipt: Receipt) -> list[TransferRequest]:
    """Net cash from clearing, MDR from expense, both credited to the merchant; linked."""
    key = str(receipt.expectation_id)
    data = {"expectation": key, "source": receipt.source}
    net = receipt.gross_sen - receipt.fee_sen
    transfers: list[TransferRequest] = []
    if net > 0:
        transfers.append(
            TransferRequest(
                receipt_transfer_id(receipt.expectation_id),
                CLEARING_ACCOUNT,
                receipt.credit_account,
                net,
                ASSET,
                "qris.received",
                external_ref=receipt.rrn,
                user_data=data,
            )
        )
    if receipt.fee_sen > 0:
        transfers.append(
            TransferRequest(
                transfer_id(MDR_NAMESPACE, key),
                MDR_EXPENSE_ACCOUNT,
                receipt.credit_account,
                receipt.fee_sen,
                ASSET,
                "qris.mdr",
                external_ref=receipt.rrn,
                user_data=data,
            )
        )
    if len(transfers) == 2:
        first = transfers[0]
        transfers[0] = TransferRequest(
            first.id,
            first.debit,
            first.credit,
            first.amount,
            first.asset,
            first.code,
            TransferFlags.LINKED,
            external_ref=first.external_ref,
            user_data=first.user_data,
        )
    return transfers


def post_receipts(ledger: Ledger, receipts: Iterable[Receipt]) -> int:
    """Post in batches under the ledger's limit; any result but ok/exists is a broken invariant."""
    posted = 0
    for batch in _batches(receipts):
        for request, result in zip(batch, ledger.post_batch(batch), strict=True):
            if result.code not in _ACCEPTED:
                raise InvariantViolation(f"QRIS receipt {request.id} refused: {result.code}")
            posted += result.code is ResultCode.OK
    return posted


def _batches(receipts: Iterable[Receipt]) -> Iterator[list[TransferRequest]]:
    batch: list[TransferRequest] = []
    for receipt in receipts:
        transfers = transfers_for(receipt)
        if len(batch) + len(transfers) > batch_transfers_max:
            yield batch
            batch = []
        batch.extend(transfers)
    if batch:
        yield batch
