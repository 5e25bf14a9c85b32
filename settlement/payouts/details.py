"""Where payouts go: a merchant's bank account and Pi uid, a QRIS payer's bank account for the
refund owed to them; each set by the treasury, validated, recorded with who and when."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from chain.bank.account import BankAccount
from chain.pi.ids import check_uid
from escrow.calendar import from_us, iso_or_none
from settlement.merchants.model import MerchantRefused
from settlement.payouts.errors import REFUND_NOT_FOUND, REFUND_NOT_OWED, PayoutRefused
from settlement.unit_of_work import UnitOfWork


def bank_account(bank_code: str, account_number: str, holder_name: str) -> BankAccount:
    """The account as a person typed it, normalised and validated (``bank_account_invalid``)."""
    return BankAccount.of(bank_code, account_number, holder_name)


def set_merchant_details(
    uow: UnitOfWork, merchant_id: str, bank: BankAccount | None, pi_uid: str | None, by: str
) -> dict[str, Any]:
    """Replace the merchant's payout details (None clears one); its details as stored."""
    if pi_uid is not None:
        check_uid(pi_uid)
    bank_fields = bank.view() if bank is not None else dict.fromkeys(_BANK_FIELDS)
    row = uow.conn.execute(
        text(
            "UPDATE merchants SET bank_code = :bank_code, account_number = :account_number,"
            " holder_name = :holder_name, pi_uid = :uid, payout_details_at = :now,"
            " payout_details_by = :by WHERE id = :id RETURNING id"
        ),
        {**bank_fields, "uid": pi_uid, "now": from_us(uow.clock.now_us()), "by": by,
         "id": merchant_id},
    ).first()  # fmt: skip
    if row is None:
        raise MerchantRefused(f"no merchant {merchant_id}", code="merchant_unknown")
    return merchant_details(uow, merchant_id)


_BANK_FIELDS = ("bank_code", "account_number", "holder_name")


def merchant_details(uow: UnitOfWork, merchant_id: str) -> dict[str, Any]:
    """The merchant's payout details."""
    row = (
        uow.conn.execute(
            text(
                "SELECT id, bank_code, account_number, holder_name, pi_uid, payout_details_at,"
                " payout_details_by FROM merchants WHERE id = :id"
            ),
            {"id": merchant_id},
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise MerchantRefused(f"no merchant {merchant_id}", code="merchant_unknown")
    at = row["payout_details_at"]
    bank = {k: row[k] for k in _BANK_FIELDS} if row["bank_code"] is not None else None
    return {
        "merchant_id": row["id"],
        "bank_account": bank,
        "pi_uid": row["pi_uid"],
        "updated_at": iso_or_none(at),
        "updated_by": row["payout_details_by"],
    }


def set_refund_account(uow: UnitOfWork, refund_id: uuid.UUID, bank: BankAccount) -> dict[str, Any]:
    """Record where an owed QRIS refund is paid (``payout_refund_not_found`` / ``_not_owed``)."""
    row = (
        uow.conn.execute(
            text(
                "SELECT transfer_id, checkout_id, status, amount_units, destination"
                " FROM checkout_refunds WHERE transfer_id = :id AND asset = 'IDR' FOR UPDATE"
            ),
            {"id": refund_id},
        )
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise PayoutRefused(f"no Rupiah refund {refund_id}", code=REFUND_NOT_FOUND)
    if row["status"] != "owed":
        raise PayoutRefused(f"refund {refund_id} is {row['status']}", code=REFUND_NOT_OWED)
    uow.conn.execute(
        text(
            "UPDATE checkout_refunds SET bank_code = :bank_code, account_number = :account_number,"
            " holder_name = :holder_name WHERE transfer_id = :id"
        ),
        {**bank.view(), "id": refund_id},
    )
    return {
        "refund_id": str(row["transfer_id"]),
        "checkout_id": row["checkout_id"],
        "amount_units": row["amount_units"],
        "bank_account": bank.view(),
    }
