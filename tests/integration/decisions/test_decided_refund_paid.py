"""A QRIS refund the treasury decided is paid by the next daily batch to the payer's bank
account, and the bank's acceptance settles it out of the refunds owed."""

from __future__ import annotations

import io
import uuid
from datetime import date

import pytest
from sqlalchemy import Connection, text

from chain.bank.account import BankAccount
from escrow.clock import FixedClock
from settlement import chart
from settlement.decisions.qris import decide_qris_exception
from settlement.decisions.record import Outcome
from settlement.payouts.confirm import confirm
from settlement.payouts.cut import cut
from settlement.qris import exceptions
from settlement.qris.exceptions import ExceptionLine
from settlement.unit_of_work import bind
from tests.support.bank import confirmation, file_lines
from tests.support.payouts import POLICY, file_bytes, today

pytestmark = pytest.mark.integration
HOUR_S = 3600
AMOUNT = 1_250_000


def test_a_decided_refund_goes_out_in_the_next_batch(
    module_conn: Connection, clock: FixedClock
) -> None:
    uow = bind(module_conn, clock)
    source_id = uuid.uuid4().hex
    exceptions.record(
        module_conn,
        ExceptionLine(kind="unmatched_event", source="event", source_id=source_id,
                      business_date=date(2026, 11, 2), detail="no expectation",
                      action=exceptions.ACTIONS["unmatched_event"], actual_sen=AMOUNT),
    )  # fmt: skip
    exception_id = module_conn.execute(
        text("SELECT id FROM qris_exceptions WHERE source_id = :s"), {"s": source_id}
    ).scalar_one()
    payer = BankAccount("014", "9876543210", "SITI AMINAH")
    decide_qris_exception(uow, exception_id, Outcome.REFUND, by="ani", note="payer called",
                          payer_account=payer)  # fmt: skip
    clock.advance(15 * HOUR_S)

    batch = cut(uow, today(uow), POLICY, "test", None).batch

    assert batch is not None
    lines = [f for f in file_lines(file_bytes(uow, batch)) if f[6] == "qris_refund"]
    assert len(lines) == 1
    assert payer.account_number in lines[0]
    confirm(uow, io.BytesIO(confirmation(file_bytes(uow, batch), {})), "t")
    assert uow.ledger.balance(chart.qris_refunds().code).posted == 0
    status = module_conn.execute(
        text("SELECT status FROM payout_obligations WHERE payee = :p"),
        {"p": f"qris-exception:{exception_id}"},
    ).scalar_one()
    assert status == "paid"
