"""MSC redemptions in the daily payout batch on PostgreSQL: an owed redemption is taken by the
cut, paid from the reserve's own bank account when the bank accepts its line (the reserve's
Rupiah figure does not move: what left the bank was owed), and stays owed for the next day's cut
when the bank rejects it."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import Connection, text

from chain.bank.account import BankAccount
from escrow.clock import FixedClock
from settlement import chart
from settlement.payouts import store
from settlement.payouts.confirm import confirm
from settlement.payouts.cut import cut
from settlement.reserves.issuance import BankDeposit, issue, record_bank_deposit
from settlement.reserves.redemption import RedemptionRequest, redeem
from settlement.reserves.reserve import read_figures
from settlement.unit_of_work import UnitOfWork, bind
from tests.support.bank import confirmation, file_lines
from tests.support.payouts import POLICY, file_bytes, today

pytestmark = pytest.mark.integration
HOUR_S = 3600
DAY_S = 24 * HOUR_S
HOLDER = "pioneer:uid-redeemer:MSC"
ACCOUNT = BankAccount("014", "1234567890", "ANI LESTARI")


@pytest.fixture
def uow(module_conn: Connection, clock: FixedClock) -> UnitOfWork:
    return bind(module_conn, clock)


def _redeemed(uow: UnitOfWork, units: int, key: str) -> str:
    """MSC issued against a bank deposit, then ``units`` of it redeemed: the redemption's id."""
    reference = f"BCA-{key}"
    record_bank_deposit(uow, BankDeposit(reference, 2 * units, HOLDER, date(2026, 12, 1)), "ana")
    issue(uow, reference, "ana")
    done = redeem(uow, RedemptionRequest(key, HOLDER, units, ACCOUNT), "ana")
    return str(done.id)


def _status(uow: UnitOfWork, redemption_id: str) -> str:
    query = text("SELECT status FROM msc_redemptions WHERE id = CAST(:id AS uuid)")
    return str(uow.conn.execute(query, {"id": redemption_id}).scalar_one())


def _line_of(uow: UnitOfWork, batch_id: str, redemption_id: str) -> store.StoredLine:
    lines = store.lines(uow.conn, batch_id, 0, 1000)
    return next(row for row in lines if row.source_ref == redemption_id)


def test_an_owed_redemption_is_paid_from_the_reserve_bank(
    uow: UnitOfWork, clock: FixedClock
) -> None:
    redemption_id = _redeemed(uow, 500_000, "redeem-paid")
    before = read_figures(uow.conn)
    clock.advance(15 * HOUR_S)  # past the cut-off
    batch = cut(uow, today(uow), POLICY, "test", None).batch
    assert batch is not None
    line = _line_of(uow, batch.id, redemption_id)
    assert (line.kind, line.payee, line.amount_units) == ("redemption", HOLDER, 500_000)
    assert uow.ledger.balance(chart.reserve_bank().code).pending_out == 500_000
    assert uow.ledger.balance(chart.redemptions_payable().code).pending_out == 500_000

    done = confirm(uow, io.BytesIO(confirmation(file_bytes(uow, batch))), "test")
    assert done.applied
    after = read_figures(uow.conn)
    assert after.idr_bank == before.idr_bank - 500_000
    assert after.idr_redemptions_payable == before.idr_redemptions_payable - 500_000
    assert after.idr_reserve == before.idr_reserve
    assert _status(uow, redemption_id) == "paid"
    assert all(line.balanced for line in uow.ledger.trial_balance())


def test_a_rejected_redemption_stays_owed_and_the_next_cut_takes_it_again(
    uow: UnitOfWork, clock: FixedClock
) -> None:
    redemption_id = _redeemed(uow, 300_000, "redeem-rejected")
    before = read_figures(uow.conn)
    clock.advance(15 * HOUR_S)
    first = cut(uow, today(uow), POLICY, "test", None).batch
    assert first is not None
    data = file_bytes(uow, first)
    number = next(n for n, fields in enumerate(file_lines(data), start=1) if fields[7] == HOLDER)
    confirm(uow, io.BytesIO(confirmation(data, {number: "R03"})), "test")
    assert _status(uow, redemption_id) == "owed"
    assert read_figures(uow.conn) == before

    clock.advance(DAY_S)
    second = cut(uow, today(uow), POLICY, "test", None).batch
    assert second is not None
    assert second.id != first.id
    assert _line_of(uow, second.id, redemption_id).amount_units == 300_000
