"""Merchants with bank accounts and Rupiah to be paid, for the payout tests."""

from __future__ import annotations

import io
import uuid
from datetime import date, time

from sqlalchemy import text

from chain.bank.account import BankAccount
from escrow.calendar import business_day, from_us
from escrow.model import TransferRequest, transfer_id
from settlement import chart
from settlement.chart import TransferCode, open_account
from settlement.payouts.cut import CutPolicy
from settlement.payouts.details import set_merchant_details, set_refund_account
from settlement.payouts.obligations import Obligation, ObligationKind, record
from settlement.payouts.store import Batch
from settlement.payouts.transfer_file import write_file
from settlement.unit_of_work import UnitOfWork
from tests.support.checkout_rows import (
    checkout_id,
    insert_checkout,
    insert_leg,
    insert_merchant,
    merchant_id,
)

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


def owed_refund(uow: UnitOfWork, mid: str, units: int, bank: BankAccount = BANK) -> uuid.UUID:
    """A QRIS refund owed to its payer (booked to ``refunds:qris:IDR``), paid to ``bank``."""
    cid = checkout_id()
    now_us = uow.clock.now_us()
    insert_checkout(uow.conn, cid, mid, price_units=units, status="refunded", at_us=now_us)
    leg = insert_leg(
        uow.conn, cid, 0, "QRIS", "IDR", idr_units=units, amount_units=units, status="refunded"
    )
    refund_id = uuid.uuid4()
    uow.conn.execute(
        text(
            "INSERT INTO checkout_refunds (transfer_id, checkout_id, leg_reference, cause, reason,"
            " asset, amount_units, destination, status, created_at) VALUES (:id, :c, :leg,"
            " :cause, 'refunded', 'IDR', :units, :dest, 'owed', :at)"
        ),
        {"id": refund_id, "c": cid, "leg": leg, "cause": f"test:{refund_id}", "units": units,
         "dest": chart.qris_refunds().code, "at": from_us(now_us)},
    )  # fmt: skip
    _fund(
        uow,
        open_account(uow.ledger, chart.qris_refunds()).code,
        units,
        TransferCode.CHECKOUT_REFUND,
    )
    set_refund_account(uow, refund_id, bank)
    return refund_id


def redemption(uow: UnitOfWork, units: int) -> uuid.UUID:
    """A redemption-shaped obligation recorded through the interface (``redemption_obligation``)."""
    return record(uow, redemption_obligation(uow, units, f"redemption:{uuid.uuid4()}"))


def redemption_obligation(uow: UnitOfWork, units: int, source_ref: str) -> Obligation:
    """What a redemption would record: paid from ``suspense:IDR`` (funded here; any IDR
    liability of the chart will do for the batch)."""
    account = open_account(uow.ledger, chart.suspense("IDR")).code
    _fund(uow, account, units, TransferCode.SUSPENSE)
    return Obligation(
        ObligationKind.REDEMPTION, f"R{uuid.uuid4().hex[:10]}", BANK, units, source_ref,
        account, uow.clock.now_us(),
    )  # fmt: skip


def _fund(uow: UnitOfWork, account: str, units: int, code: str) -> None:
    clearing = open_account(uow.ledger, chart.qris_clearing()).code
    request = TransferRequest(
        transfer_id("test.fund", str(uuid.uuid4())), clearing, account, units, "IDR", code
    )
    assert uow.ledger.post(request).ok
