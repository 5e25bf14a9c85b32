"""A merchant's points redeemed for Rupiah are paid by the day's payout batch (decision 0029)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection

from escrow.clock import FixedClock
from escrow.model import TransferRequest, transfer_id
from settlement import chart, parameters
from settlement.chart import TransferCode, open_account
from settlement.mscp.redemption import redeem
from settlement.payouts import store
from settlement.payouts.cut import cut
from settlement.points import fund_budget
from settlement.unit_of_work import bind
from tests.support.payouts import POLICY, merchant_with_bank, today

pytestmark = pytest.mark.integration


def test_redeemed_points_are_in_the_merchants_payout_line(
    module_conn: Connection, clock: FixedClock
) -> None:
    uow = bind(module_conn, clock)
    parameters.set_(uow, parameters.POINT_VALUE_IDR, "500.00", "test")
    fund_budget(uow, 1_000, by="test", key=uuid.uuid4().hex)
    merchant = merchant_with_bank(uow)
    held = open_account(uow.ledger, chart.merchant_balance(merchant, "MSCP")).code
    taken = TransferRequest(  # points a checkout paid in MSCP released to the merchant
        transfer_id("test.points", merchant), chart.mscp_budget().code, held, 40, "MSCP",
        TransferCode.CHECKOUT_RELEASE,
    )  # fmt: skip
    assert uow.ledger.post(taken).ok
    done = redeem(uow, merchant, 40, "r-1")
    assert (done["idr_units"], uow.ledger.balance(held).posted) == (40 * 50_000, 0)
    clock.advance(15 * 3600)  # past the 14:00 WIB cut-off
    batch = cut(uow, today(uow), POLICY, "test", None).batch
    assert batch is not None
    lines = {row.payee: row for row in store.lines(uow.conn, batch.id, 0, 1000)}
    assert lines[merchant].amount_units == 40 * 50_000
    assert all(line.balanced for line in uow.ledger.trial_balance())
