"""Pi: money that arrived but the ledger refused: booked to suspense, alarmed, never retried.

The U2A receipt (the Pioneer's credit account refuses credits) and the A2U settlement (the
reservation to post is missing) are forced into a ledger refusal; each must book the amount to
``suspense:PI``, record a ``suspense_items`` row, log ``money_in_suspense``, count in
``msc_money_in_suspense``, and return normally (no exception, so nothing is retried).
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection, text
from structlog.testing import capture_logs

from escrow.clock import SystemClock
from escrow.ledger import Ledger
from escrow.model import TransferFlags, TransferRequest
from settlement import chart
from settlement.chart import TransferCode
from settlement.pi import a2u, u2a
from settlement.pi.accounts import CUSTODY, ensure_custody
from settlement.pi.expectations import create_expectation, metadata_for
from settlement.suspense import suspense_transfer_id
from settlement.unit_of_work import bind
from tests.integration.pi.conftest import PiWorld
from tests.support.suspense import alarm, item, metric, open_refusing_credits, suspense_balance

pytestmark = pytest.mark.integration


def test_pi_payment_the_ledger_refuses_lands_insuspense_balance(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    credit = chart.pioneer_pi(f"sus{uuid.uuid4().hex[:10]}").code
    open_refusing_credits(db_conn, credit, "PI")
    pioneer = pi_world.driver.add_pioneer("sari", "100")
    exp = create_expectation(
        bind(db_conn, pi_world.deps.clock),
        purpose="test",
        amount_units=20_000_000,
        credit_account=credit,
    )
    pid = pi_world.driver.create_payment(pioneer, "2", "test", metadata_for(exp))
    u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, pioneer.uid)
    txid = str(pi_world.driver.pay(pid)["txid"])
    ledger = Ledger(db_conn)
    ensure_custody(ledger)
    custody_before = ledger.balance(CUSTODY).posted
    suspense_before = suspense_balance(ledger, "PI")

    with capture_logs() as logs:
        outcome = u2a.complete(
            bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, txid, pioneer.uid
        )

    refused = u2a.transfer_id(u2a.TRANSFER_NAMESPACE, pid)
    assert outcome.transfer_id == suspense_transfer_id(refused)
    assert ledger.transfer(refused) is None
    assert ledger.balance(credit).posted == 0
    assert ledger.balance(CUSTODY).posted == custody_before + 20_000_000
    assert suspense_balance(ledger, "PI") == suspense_before + 20_000_000
    row = item(db_conn, refused)
    assert (row.rail, row.asset, row.amount, row.credit) == ("pi", "PI", 20_000_000, credit)
    assert "exceeds_debits" in row.reason
    assert row.suspense_transfer_id == outcome.transfer_id
    assert alarm(logs, "pi")["amount"] == 20_000_000
    assert metric(db_conn, "pi", "PI") >= 1
    # The Pioneer's payment is complete for Pi (the money is ours): one completion, no retry.
    queued = db_conn.execute(
        text("SELECT kind, attempts FROM outbox WHERE key = :k"), {"k": pid}
    ).all()
    assert [(row.kind, row.attempts) for row in queued] == [("pi.complete", 0)]


def test_pi_payout_the_ledger_refuses_after_it_left_lands_insuspense_balance(
    db_conn: Connection,
) -> None:
    ledger = Ledger(db_conn)
    ensure_custody(ledger)
    debit = chart.pioneer_pi(f"out{uuid.uuid4().hex[:10]}").code
    payout = a2u.Payout(
        id=uuid.uuid4(), key="k", uid="u", amount_units=5_000_000, memo="m",
        debit_account=debit, wallet_address="G", status="submitted", payment_id=None,
        to_address=None, envelope_xdr=None, txid="ab" * 32,
    )  # fmt: skip
    # no reservation was ever made: posting it is refused (pending_not_found)
    post = TransferRequest(
        id=uuid.uuid4(), debit="", credit="", amount=payout.amount_units, asset="PI",
        code=TransferCode.PI_PAYOUT, flags=TransferFlags.POST_PENDING, pending_id=uuid.uuid4(),
    )  # fmt: skip
    chart.open_account(ledger, chart.pi_capital())
    deposit = TransferRequest(uuid.uuid4(), CUSTODY, chart.pi_capital().code, 5_000_000, "PI",
                              TransferCode.PI_CUSTODY_DEPOSIT)  # fmt: skip
    assert ledger.post(deposit).ok  # the Pi was in custody before it left
    before = suspense_balance(ledger, "PI")
    custody = ledger.balance(CUSTODY).posted

    with capture_logs() as logs:
        a2u._post_settled(bind(db_conn, SystemClock()), payout, [post])

    assert suspense_balance(ledger, "PI") == before - 5_000_000
    assert ledger.balance(CUSTODY).posted == custody - 5_000_000
    row = item(db_conn, post.id)
    assert (row.debit, row.credit) == (debit, CUSTODY)
    assert alarm(logs, "pi")["reason"].endswith("pending_not_found")
