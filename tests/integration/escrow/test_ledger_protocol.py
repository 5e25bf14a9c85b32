"""Both ledgers satisfy ``LedgerProtocol``: a use case runs the same on PostgreSQL and in memory."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection

from escrow.clock import FixedClock
from escrow.ledger import Ledger
from escrow.memory import MemoryLedger
from escrow.model import AccountKind, ResultCode, TransferRequest
from escrow.ports import LedgerProtocol
from settlement.pi.accounts import CUSTODY, ensure_custody, ensure_liability

pytestmark = pytest.mark.integration


def pioneer_pays(ledger: LedgerProtocol, who: str) -> dict[str, object]:
    """A small use case: open the rail's accounts, book a payment, replay it, overdraw custody."""
    ensure_custody(ledger)
    pioneer = f"pioneer:{who}:PI"
    ensure_liability(ledger, pioneer, owner=who)
    capital = ledger.ensure_account(f"test:capital:{who}", "PI", AccountKind.EQUITY).code
    before = ledger.balance(CUSTODY).posted
    paid = TransferRequest(uuid.uuid4(), CUSTODY, pioneer, 31_415_926, "PI", "test.pi.paid")
    too_much = before + paid.amount + 1
    overdraw = TransferRequest(uuid.uuid4(), capital, CUSTODY, too_much, "PI", "test.pi.out")
    codes = [ledger.post(paid).code, ledger.post(paid).code, ledger.post_batch([overdraw])[0].code]
    record = ledger.transfer(paid.id)
    account = ledger.account(pioneer)
    return {
        "codes": codes,
        "custody_delta": ledger.balance(CUSTODY).posted - before,
        "pioneer": ledger.balance(pioneer).posted,
        "recorded": None if record is None else (record.amount, record.code),
        "account": (account.kind, account.owner, account.asset),
        "balanced": all(line.balanced for line in ledger.trial_balance()),
        "voided": ledger.void_expired(),
    }


def expected(who: str) -> dict[str, object]:
    return {
        "codes": [ResultCode.OK, ResultCode.EXISTS, ResultCode.EXCEEDS_DEBITS],
        "custody_delta": 31_415_926,
        "pioneer": 31_415_926,
        "recorded": (31_415_926, "test.pi.paid"),
        "account": (AccountKind.LIABILITY, who, "PI"),
        "balanced": True,
        "voided": 0,
    }


def test_the_postgres_ledger_runs_the_use_case(module_conn: Connection, clock: FixedClock) -> None:
    ledger: LedgerProtocol = Ledger(module_conn, clock)
    who = uuid.uuid4().hex[:10]
    assert pioneer_pays(ledger, who) == expected(who)


def test_the_memory_ledger_runs_the_same_use_case(clock: FixedClock) -> None:
    ledger: LedgerProtocol = MemoryLedger(clock)
    who = uuid.uuid4().hex[:10]
    assert pioneer_pays(ledger, who) == expected(who)
