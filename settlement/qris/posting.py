"""Receipts into the ledger: gross to the merchant, split into net cash and the MDR expense."""

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from escrow import model
from escrow.errors import InvariantViolation
from escrow.model import ResultCode, TransferFlags, TransferRequest
from escrow.rules import batch_transfers_max
from settlement.chart import TransferCode
from settlement.qris.accounts import ASSET, CLEARING_ACCOUNT, MDR_EXPENSE_ACCOUNT
from settlement.suspense import Unbooked, book_to_suspense
from settlement.unit_of_work import UnitOfWork

RECEIPT_NAMESPACE = "qris.receipt"
MDR_NAMESPACE = "qris.mdr"
PAYMENT_RECEIPT_NAMESPACE = "qris.payment"
"""A payment booked under its own id, not its expectation's: a checkout leg's second payment or
short payment, which the checkout refunds (the expectation's own receipt id stays free)."""
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
    return model.transfer_id(RECEIPT_NAMESPACE, str(expectation_id))


def transfers_for(receipt: Receipt) -> list[TransferRequest]:
    """Net cash from clearing, MDR from expense, both credited to the merchant; linked."""
    return receipt_transfers(
        receipt.expectation_id,
        receipt_transfer_id(receipt.expectation_id),
        receipt.credit_account,
        receipt.gross_sen,
        receipt.fee_sen,
        receipt.rrn,
        receipt.source,
    )


def receipt_transfers(
    expectation_id: uuid.UUID,
    transfer_id: uuid.UUID,
    credit_account: str,
    gross_sen: int,
    fee_sen: int,
    rrn: str | None,
    source: str,
    *,
    mdr_key: str | None = None,
) -> list[TransferRequest]:
    """The transfers of one receipt; ``transfer_id`` is ``receipt_transfer_id(expectation_id)``,
    passed in because reconciliation reads it from the expectation instead of hashing again.
    ``mdr_key`` names the MDR transfer when the receipt is a payment's own (not the
    expectation's)."""
    if not 0 <= fee_sen <= gross_sen:
        raise InvariantViolation(f"fee {fee_sen} outside 0..{gross_sen}")
    key = str(expectation_id)
    data = {"expectation": key, "source": source}
    net = gross_sen - fee_sen
    linked = TransferFlags.LINKED if net > 0 and fee_sen > 0 else TransferFlags.NONE
    transfers: list[TransferRequest] = []
    if net > 0:
        transfers.append(
            TransferRequest(transfer_id, CLEARING_ACCOUNT, credit_account, net, ASSET,
                            TransferCode.QRIS_RECEIVED, linked, external_ref=rrn, user_data=data)
        )  # fmt: skip
    if fee_sen > 0:
        transfers.append(
            TransferRequest(model.transfer_id(MDR_NAMESPACE, mdr_key or key), MDR_EXPENSE_ACCOUNT,
                            credit_account, fee_sen, ASSET, TransferCode.QRIS_MDR,
                            external_ref=rrn, user_data=data)
        )  # fmt: skip
    return transfers


def post_receipts(uow: UnitOfWork, receipts: Iterable[Receipt]) -> int:
    """Post receipts on the unit of work's ledger; see ``post_transfer_groups``."""
    return post_transfer_groups(uow, map(transfers_for, receipts))


def post_transfer_groups(uow: UnitOfWork, groups: Iterable[list[TransferRequest]]) -> int:
    """Post linked groups in batches as full as the ledger allows (a group never splits).

    The money of a receipt has arrived: a cash transfer the ledger refuses is booked to suspense
    (``settlement.suspense``), never raised. How many transfers were new.
    """
    new_transfers = 0
    for batch in _batches(groups):
        for request, result in zip(batch, uow.ledger.post_batch(batch), strict=True):
            if result.code not in _ACCEPTED and request.debit == CLEARING_ACCOUNT:
                # only the cash leg is money that arrived; the refused MDR leg is an expense
                # nobody paid yet, reposted with the receipt when a person clears the item
                arrived = Unbooked("qris", request.id, request.asset, request.amount,
                                   request.debit, request.credit, request.external_ref)  # fmt: skip
                book_to_suspense(uow.conn, uow.ledger, arrived, result.code)
            new_transfers += result.code is ResultCode.OK
    return new_transfers


def _batches(groups: Iterable[list[TransferRequest]]) -> Iterator[list[TransferRequest]]:
    batch: list[TransferRequest] = []
    for transfers in groups:
        if len(batch) + len(transfers) > batch_transfers_max:
            yield batch
            batch = []
        batch.extend(transfers)
    if batch:
        yield batch
