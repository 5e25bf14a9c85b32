"""Merchants with bank accounts and Rupiah to be paid, for the payout tests."""

from __future__ import annotations

import io
import uuid
from datetime import date, time

from chain.bank.account import BankAccount
from escrow.calendar import business_day, from_us
from escrow.model import TransferRequest, transfer_id
from settlement import chart
from settlement.chart import TransferCode, open_account
from settlement.payouts.cut import CutPolicy
from settlement.payouts.details import set_merchant_details
from settlement.payouts.store import Batch
from settlement.payouts.transfer_file import write_file
from settlement.unit_of_work import UnitOfWork
from tests.support.checkout_rows import insert_merchant, merchant_id

POLICY = CutPolicy(time(14, 0), 200_000)
BANK = BankAccount("014", "1234567890", "PECEL BU TIN")


def merchant_with_bank(uow: UnitOfWork, bank: BankAccount = BANK) -> str:
    """A fresh merchant whose payouts go to ``bank``."""
    mid = merchant_id()
    insert_merchant(uow.conn, mid)
    set_merchant_details(uow, mid, bank, None, "test")
    return mid


def credit(uow: UnitOfWork, mid: str, units: int) -> None:
    """Rupiah for the merchant, as a QRIS receipt would credit it."""
    clearing = open_account(uow.ledger, chart.qris_clearing()).code
    merchant = open_account(uow.ledger, chart.merchant_idr(mid)).code
    result = uow.ledger.post(
        TransferRequest(
            transfer_id("test.credit", str(uuid.uuid4())),
            clearing,
            merchant,
            units,
            "IDR",
            TransferCode.QRIS_RECEIVED,
        )
    )
    assert result.ok, result


def today(uow: UnitOfWork) -> date:
    """The clock's business day."""
    return business_day(from_us(uow.clock.now_us()))


def file_bytes(uow: UnitOfWork, batch: Batch) -> bytes:
    """The batch's transfer file."""
    out = io.BytesIO()
    write_file(uow.conn, batch, out.write)
    return out.getvalue()
