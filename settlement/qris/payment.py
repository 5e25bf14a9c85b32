"""One matched QRIS payment, however it is told (a gateway notification or an acquirer's report
line): the receipt of the expectation it pays, and for a checkout leg the one rule of what the
leg takes. Both sources call this module; neither states the rule again.

A checkout leg's payment (its bill number is the leg's reference) is, in this order:
1. the payment that already paid the leg, told again (same RRN; without one, same gateway
   transaction): nothing more (``SEEN``); a paid leg and nothing to compare is listed for a
   person (``UNCLEAR``), never booked twice on a guess;
2. a second payment of a paid leg, or a short one: booked under the payment's own id
   (``qris.payment`` + its key) and handed to the checkout, which owes it back (``REFUND``;
   the leg stays as it is). The key is the payment's RRN when it has one, so a notification
   and a report line of the same payment book once, whichever comes first;
3. otherwise the leg's receipt, of the amount paid (``RECEIPT``): the checkout holds the leg's
   amount and owes back any excess, or expires and owes it all back when it came late.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import RowMapping, text

from escrow import model
from escrow.calendar import business_day, to_us
from escrow.errors import InvariantViolation
from escrow.model import TransferRequest
from settlement.checkout.receipts import leg_paid, lock_leg
from settlement.qris.accounts import ensure_rail_accounts
from settlement.qris.matching import AMOUNT_AGREES, BY_REFERENCE, LATE, PAYABLE
from settlement.qris.mdr import price
from settlement.qris.posting import (
    PAYMENT_RECEIPT_NAMESPACE,
    Receipt,
    post_receipts,
    post_transfer_groups,
    receipt_transfers,
    transfers_for,
)
from settlement.unit_of_work import UnitOfWork

__all__ = [
    "MATCHED",
    "LegOutcome",
    "Listing",
    "Payment",
    "claim",
    "match_by_reference",
    "settle_checkout_leg",
]

Listing = Callable[[str, uuid.UUID | None, int | None, str], None]
"""Lists an exception of the payment: kind, expectation, expected sen, detail (the source says
how it names the payment)."""

_PAYMENT = """(SELECT CAST(:reference AS text) AS reference, CAST(:nmid AS text) AS nmid,
    CAST(:amount AS bigint) AS amount_sen, CAST(:at AS timestamptz) AS transacted_at) p"""
MATCHED = f"""SELECT e.id AS expectation_id, e.amount_sen, e.credit_account, e.criteria,
    e.expires_at, e.status, e.purpose, e.reference, e.matched_tx_id, e.matched_rrn,
    {AMOUNT_AGREES} AS amount_agrees, {LATE} AS late
    FROM qris_expectations e, {_PAYMENT}"""  # noqa: S608 - constant SQL
"""The expectation row a payment ``p`` (parameters) is decided on, for a ``WHERE`` to follow."""
_BY_REFERENCE = f"""
    {MATCHED} WHERE {BY_REFERENCE} AND ({PAYABLE} OR e.status = 'paid') FOR UPDATE OF e
"""
_MARK_PAID = f"""
    UPDATE qris_expectations e SET status = 'paid', matched_source = :source, matched_rrn = :rrn,
        matched_tx_id = :provider_tx_id, paid_at = :paid_at, gross_sen = :gross, fee_sen = :fee
    WHERE e.id = :id AND {PAYABLE}
"""  # noqa: S608 - constant SQL


@dataclass(frozen=True, slots=True)
class Payment:
    """A QRIS payment as one source tells it. ``own_id`` names it at that source (the gateway's
    transaction, the report's line) for a payment without an RRN."""

    source: str
    rrn: str | None
    provider_tx_id: str | None
    own_id: str
    reference: str | None
    nmid: str | None
    amount_sen: int
    reported_fee_sen: int | None
    paid_at: datetime

    @property
    def key(self) -> str:
        """The payment's own id: its RRN when it has one (the same from every source)."""
        return f"qris:rrn:{self.rrn}" if self.rrn else self.own_id

    def params(self) -> dict[str, Any]:
        """The payment as ``MATCHED``'s parameters."""
        return {
            "reference": self.reference,
            "nmid": self.nmid,
            "amount": self.amount_sen,
            "at": self.paid_at,
        }


class LegOutcome(StrEnum):
    """What a checkout leg's payment did (see the module doc)."""

    RECEIPT = "receipt"
    REFUND = "refund"
    SEEN = "seen"
    UNCLEAR = "unclear"


def match_by_reference(uow: UnitOfWork, payment: Payment) -> RowMapping | None:
    """The expectation of the payment's bill number, payable or already paid, locked."""
    return uow.conn.execute(text(_BY_REFERENCE), payment.params()).mappings().first()


def claim(uow: UnitOfWork, payment: Payment, row: RowMapping, listing: Listing) -> bool:
    """Book the payment as the receipt of expectation ``row`` (payable) and mark it paid; a
    late payment and a fee off the schedule are listed. Whether the receipt reached its credit
    account (a refused one is in suspense)."""
    fee = _fee(uow, payment, row, listing)
    receipt = Receipt(
        row["expectation_id"],
        row["credit_account"],
        payment.amount_sen,
        fee,
        payment.rrn,
        payment.source,
    )
    ensure_rail_accounts(uow.ledger)
    post_receipts(uow, [receipt])
    booked = _booked(uow, transfers_for(receipt))
    uow.conn.execute(
        text(_MARK_PAID),
        {
            "id": row["expectation_id"],
            "source": payment.source,
            "rrn": payment.rrn,
            "provider_tx_id": payment.provider_tx_id,
            "paid_at": payment.paid_at,
            "gross": payment.amount_sen,
            "fee": fee,
        },
    )
    if row["late"]:
        detail = (
            f"paid at {payment.paid_at.isoformat()} after expiry {row['expires_at'].isoformat()}"
        )
        listing("late", row["expectation_id"], row["amount_sen"], detail)
    return booked


def settle_checkout_leg(
    uow: UnitOfWork, payment: Payment, row: RowMapping, listing: Listing
) -> LegOutcome:
    """Decide and book a payment of the checkout leg whose expectation is ``row`` (locked, from
    ``match_by_reference``), and hand what reached the escrow to the checkout."""
    if row["reference"] is None:
        raise InvariantViolation(f"checkout expectation {row['expectation_id']} has no reference")
    lock_leg(uow, row["reference"])  # the checkout's row before the escrow account's
    paid = row["status"] == "paid"
    if paid:
        same = _same_payment(row, payment)
        if same is None:
            return LegOutcome.UNCLEAR
        if same:
            return LegOutcome.SEEN
    if paid or payment.amount_sen < row["amount_sen"]:
        return _book_for_refund(uow, payment, row, listing)
    if claim(uow, payment, row, listing):  # money in suspense is not the escrow's to hold
        leg_paid(uow, row["reference"], payment.amount_sen, None, payment.key,
                 to_us(payment.paid_at))  # fmt: skip
    return LegOutcome.RECEIPT


def _same_payment(row: RowMapping, payment: Payment) -> bool | None:
    """Whether ``payment`` is the one that paid the leg: by RRN when both carry one, else by the
    gateway's transaction id; None when nothing can tell."""
    if row["matched_rrn"] is not None and payment.rrn is not None:
        same_rrn: bool = row["matched_rrn"] == payment.rrn
        return same_rrn
    if row["matched_tx_id"] is not None and payment.provider_tx_id is not None:
        same_tx: bool = row["matched_tx_id"] == payment.provider_tx_id
        return same_tx
    return None


def _book_for_refund(
    uow: UnitOfWork, payment: Payment, row: RowMapping, listing: Listing
) -> LegOutcome:
    """Book a payment the leg cannot take under the payment's own id (the expectation stays as
    it is) and hand it to the checkout, which owes it back; told again, it books nothing."""
    fee = _fee(uow, payment, row, listing)
    ensure_rail_accounts(uow.ledger)
    transfers = receipt_transfers(
        row["expectation_id"], model.transfer_id(PAYMENT_RECEIPT_NAMESPACE, payment.key),
        row["credit_account"], payment.amount_sen, fee, payment.rrn, payment.source,
        mdr_key=payment.key,
    )  # fmt: skip
    new = post_transfer_groups(uow, [transfers])
    if not _booked(uow, transfers):
        return LegOutcome.REFUND  # in suspense: a person clears it
    if new == 0:
        return LegOutcome.SEEN  # the other source booked it first
    leg_paid(uow, row["reference"], payment.amount_sen, None, payment.key, to_us(payment.paid_at))
    return LegOutcome.REFUND


def _booked(uow: UnitOfWork, transfers: list[TransferRequest]) -> bool:
    """Whether a receipt's transfers reached their credit account (not suspense)."""
    return all(uow.ledger.transfer(request.id) is not None for request in transfers)


def _fee(uow: UnitOfWork, payment: Payment, row: RowMapping, listing: Listing) -> int:
    """The fee booked (``settlement.qris.mdr``); a reported fee off the schedule is listed."""
    mdr = price(
        uow.conn,
        row["criteria"],
        payment.amount_sen,
        payment.reported_fee_sen,
        business_day(payment.paid_at),
    )
    if mdr.disputed:
        detail = f"reported MDR {payment.reported_fee_sen} sen, schedule {mdr.floor_sen} sen"
        listing("fee_mismatch", row["expectation_id"], mdr.floor_sen, detail)
    return mdr.fee_sen
