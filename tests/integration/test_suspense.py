"""Money that arrived but the ledger refused: booked to suspense, alarmed, never retried.

Each rail's arrival path is forced into a ledger refusal (the credit account is flagged so that
it can take no credit, or the debit cannot be debited) and must: book the amount to
``suspense:{asset}``, record a ``suspense_items`` row, log ``money_in_suspense``, show in the
``msc_money_in_suspense`` metric, and return normally (no exception, so nothing is retried).
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection, text
from structlog.testing import capture_logs

from escrow.clock import SystemClock
from escrow.ledger import Ledger
from escrow.model import AccountKind, TransferRequest, transfer_id
from settlement.evm import deposits
from settlement.evm.bridge import ONCHAIN_ACCOUNT, ensure_bridge_accounts
from settlement.qris.accounts import ensure_rail_accounts, merchant_account
from settlement.qris.posting import Receipt, post_receipts
from settlement.unit_of_work import bind
from tests.support.suspense import alarm, item, metric, open_refusing_credits, suspense_balance

pytestmark = pytest.mark.integration


def test_qris_receipt_the_ledger_refuses_lands_its_cash_in_suspense(db_conn: Connection) -> None:
    nmid = f"ID{uuid.uuid4().int % 10**13:013d}"
    credit = merchant_account(nmid)
    uow = bind(db_conn, SystemClock())
    ledger = Ledger(db_conn)
    ensure_rail_accounts(ledger)
    open_refusing_credits(db_conn, credit, "IDR")
    before = suspense_balance(ledger, "IDR")
    receipt = Receipt(uuid.uuid4(), credit, 1_500_000, 10_500, "RRN123456789", "event")

    with capture_logs() as logs:
        assert post_receipts(uow, [receipt]) == 0  # nothing new where it belongs

    assert ledger.balance(credit).posted == 0
    # the cash that reached clearing is the net; the refused MDR leg is no money that arrived
    assert suspense_balance(ledger, "IDR") == before + 1_489_500
    items = db_conn.execute(
        text("SELECT amount FROM suspense_items WHERE rail = 'qris' AND external_ref = :r"),
        {"r": "RRN123456789"},
    ).scalars()
    assert sorted(items) == [1_489_500]
    assert len([e for e in logs if e["event"] == "money_in_suspense"]) == 1
    assert metric(db_conn, "qris", "IDR") >= 1


def _deposit(amount: int, ref: bytes) -> deposits.DepositEvent:
    return deposits.DepositEvent(
        tx_hash="0x" + uuid.uuid4().hex * 2, log_index=0, block_number=1,
        from_address="0x" + "11" * 20, amount=amount, ledger_ref=ref,
    )  # fmt: skip


def _refused_id(event: deposits.DepositEvent) -> uuid.UUID:
    external = deposits.deposit_transfer_id_for(31337, event.tx_hash, event.log_index)
    return transfer_id(deposits.DEPOSIT_NAMESPACE, external)


def test_evm_deposit_the_ledger_refuses_lands_in_suspense(db_conn: Connection) -> None:
    tag = uuid.uuid4().hex[:10]
    ledger = Ledger(db_conn)
    ensure_bridge_accounts(ledger)
    funding, holder = f"test:{tag}:funding", f"test:{tag}:MSC"
    ledger.ensure_account(funding, "MSC", AccountKind.ASSET)
    minted = TransferRequest(uuid.uuid4(), funding, ONCHAIN_ACCOUNT, 700, "MSC", "test.mint")
    assert ledger.post(minted).ok
    open_refusing_credits(db_conn, holder, "MSC")
    ref = uuid.uuid4().bytes * 2
    db_conn.execute(
        text("INSERT INTO evm_deposit_refs (ledger_ref, holder) VALUES (:r, :h)"),
        {"r": ref, "h": holder},
    )
    event = _deposit(700, ref)
    before, float_before = suspense_balance(ledger, "MSC"), ledger.balance(ONCHAIN_ACCOUNT).posted

    with capture_logs() as logs:
        assert (
            deposits._post_deposit(bind(db_conn, SystemClock()), 31337, event) == 0
        )  # in suspense, not posted

    refused = _refused_id(event)
    assert ledger.transfer(refused) is None
    assert ledger.balance(holder).posted == 0
    assert suspense_balance(ledger, "MSC") == before + 700
    assert ledger.balance(ONCHAIN_ACCOUNT).posted == float_before - 700  # burnt is burnt
    row = item(db_conn, refused)
    assert (row.credit, row.reason.endswith("exceeds_debits")) == (holder, True)
    assert row.suspense_transfer_id is not None
    assert alarm(logs, "evm")["asset"] == "MSC"
    assert metric(db_conn, "evm", "MSC") >= 1


def test_when_suspense_refuses_too_the_item_alone_keeps_the_money(db_conn: Connection) -> None:
    ledger = Ledger(db_conn)
    ensure_bridge_accounts(ledger)
    event = _deposit(ledger.balance(ONCHAIN_ACCOUNT).posted + 1, b"\x00" * 32)  # > ever minted
    before = suspense_balance(ledger, "MSC")

    with capture_logs() as logs:
        assert (
            deposits._post_deposit(bind(db_conn, SystemClock()), 31337, event) == 0
        )  # in suspense, not posted

    assert suspense_balance(ledger, "MSC") == before
    row = item(db_conn, _refused_id(event))
    assert (row.amount, row.suspense_transfer_id) == (event.amount, None)
    assert alarm(logs, "evm")["suspense_result"] == "exceeds_credits"
