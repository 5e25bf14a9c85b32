"""Hand-written SQL that would break the books is refused by PostgreSQL itself, not by Python.

Each statement expected to fail runs inside a SAVEPOINT, so the test's transaction (rolled back
by ``db_conn``) goes on; the last test shows that a correct hand-written transfer is applied.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from escrow.clock import FixedClock
from escrow.ledger import Ledger
from escrow.model import AccountFlags, AccountKind, Balance, TransferFlags, TransferRequest
from escrow.periods import period

pytestmark = pytest.mark.integration

FUNDING = 10_000
INSERT_TRANSFER = """
    INSERT INTO transfers (id, ts, debit_account_id, credit_account_id, amount, asset, code, flags)
    VALUES (:id, :ts, :debit, :credit, :amount, :asset, 'test.hand', 0)
"""


@dataclass(frozen=True)
class Books:
    """Accounts of one test: a treasury, a flagged wallet funded with FUNDING, a merchant."""

    ledger: Ledger
    treasury: str
    wallet: str
    merchant: str
    pi_account: str
    funding_id: uuid.UUID


@pytest.fixture
def books(db_conn: Connection) -> Books:
    suffix = uuid.uuid4().hex[:12]
    ledger = Ledger(db_conn)
    treasury, wallet, merchant = (f"guard-{n}:{suffix}" for n in ("treasury", "wallet", "merchant"))
    pi_account = f"guard-pi:{suffix}"
    ledger.ensure_account(treasury, "IDR", AccountKind.ASSET)
    ledger.ensure_account(
        wallet, "IDR", AccountKind.LIABILITY, flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    )
    ledger.ensure_account(merchant, "IDR", AccountKind.LIABILITY)
    ledger.ensure_account(pi_account, "PI", AccountKind.ASSET)
    funding_id = uuid.uuid4()
    result = ledger.post(TransferRequest(funding_id, treasury, wallet, FUNDING, "IDR", "test.fund"))
    assert result.ok
    return Books(ledger, treasury, wallet, merchant, pi_account, funding_id)


def refused(conn: Connection, sql: str, params: dict[str, Any], match: str) -> None:
    """Run ``sql`` in a savepoint and require PostgreSQL to refuse it with a matching error."""
    with pytest.raises(IntegrityError, match=match), conn.begin_nested():
        conn.execute(text(sql), params)


def next_ts(conn: Connection) -> int:
    """A valid ledger timestamp, allocated the way the ledger does it."""
    now_us = time.time_ns() // 1000
    conn.execute(text("SELECT ledger_clock_catch_up(:now, 0)"), {"now": now_us})
    return int(conn.execute(text("SELECT nextval('ledger_ts_seq')")).scalar_one())


def account_id(books: Books, code: str) -> int:
    return books.ledger.account(code).id


def totals(books: Books, code: str) -> tuple[int, int, int, int]:
    account = books.ledger.account(code)
    return (
        account.debits_pending,
        account.debits_posted,
        account.credits_pending,
        account.credits_posted,
    )


def test_updating_an_accounts_totals_is_refused(db_conn: Connection, books: Books) -> None:
    before = totals(books, books.wallet)
    refused(
        db_conn,
        "UPDATE accounts SET credits_posted = credits_posted + 1 WHERE code = :code",
        {"code": books.wallet},
        "balances change only by inserting transfers",
    )
    # Even one balanced statement (a debit on one account, a credit on another) is not a transfer.
    refused(
        db_conn,
        "UPDATE accounts"
        " SET debits_posted = debits_posted + CASE WHEN code = :debit THEN 5 ELSE 0 END,"
        " credits_posted = credits_posted + CASE WHEN code = :credit THEN 5 ELSE 0 END"
        " WHERE code IN (:debit, :credit)",
        {"credit": books.merchant, "debit": books.treasury},
        "balances change only by inserting transfers",
    )
    assert totals(books, books.wallet) == before


def test_changing_an_accounts_identity_is_refused(db_conn: Connection, books: Books) -> None:
    refused(
        db_conn,
        "UPDATE accounts SET flags = 0 WHERE code = :code",
        {"code": books.wallet},
        "never change",
    )
    refused(
        db_conn,
        "UPDATE accounts SET asset = 'PI' WHERE code = :code",
        {"code": books.merchant},
        "never change",
    )
    assert books.ledger.account(books.wallet).flags == AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS


def test_deleting_an_account_is_refused(db_conn: Connection, books: Books) -> None:
    refused(
        db_conn,
        "DELETE FROM accounts WHERE code = :code",
        {"code": books.merchant},
        "never deleted",
    )


def test_updating_or_deleting_a_transfer_is_refused(db_conn: Connection, books: Books) -> None:
    params = {"id": books.funding_id}
    refused(db_conn, "UPDATE transfers SET amount = amount + 1 WHERE id = :id", params, "immutable")
    refused(db_conn, "DELETE FROM transfers WHERE id = :id", params, "immutable")
    stored = books.ledger.transfer(books.funding_id)
    assert stored is not None
    assert stored.amount == FUNDING


def test_opening_an_account_with_a_balance_is_refused(db_conn: Connection, books: Books) -> None:
    code = f"guard-rich:{uuid.uuid4().hex[:12]}"
    refused(
        db_conn,
        "INSERT INTO accounts (code, asset, kind, credits_posted)"
        " VALUES (:code, 'IDR', 'liability', 5)",
        {"code": code},
        "zero balances",
    )
    assert (
        db_conn.execute(
            text("SELECT count(*) FROM accounts WHERE code = :code"), {"code": code}
        ).scalar_one()
        == 0
    )


def test_a_transfer_dated_inside_a_closed_period_is_refused(
    db_conn: Connection, books: Books
) -> None:
    month = period("2020-01")
    closer = Ledger(db_conn, FixedClock(month.ends_at_us + 86_400 * 1_000_000))
    closer.close_period(month.name, closed_by="test")
    before = totals(books, books.merchant)
    refused(
        db_conn,
        INSERT_TRANSFER,
        {
            "id": uuid.uuid4(),
            "ts": month.ends_at_us - 1_000_000,
            "debit": account_id(books, books.treasury),
            "credit": account_id(books, books.merchant),
            "amount": 100,
            "asset": "IDR",
        },
        "period_closed",
    )
    assert totals(books, books.merchant) == before


def test_a_transfer_overdrawing_a_flagged_account_is_refused(
    db_conn: Connection, books: Books
) -> None:
    before = totals(books, books.wallet)
    refused(
        db_conn,
        INSERT_TRANSFER,
        {
            "id": uuid.uuid4(),
            "ts": next_ts(db_conn),
            "debit": account_id(books, books.wallet),
            "credit": account_id(books, books.merchant),
            "amount": FUNDING + 1,
            "asset": "IDR",
        },
        "debits_must_not_exceed_credits",
    )
    assert totals(books, books.wallet) == before


def test_a_transfer_between_assets_or_to_no_account_is_refused(
    db_conn: Connection, books: Books
) -> None:
    refused(
        db_conn,
        INSERT_TRANSFER,
        {
            "id": uuid.uuid4(),
            "ts": next_ts(db_conn),
            "debit": account_id(books, books.pi_account),
            "credit": account_id(books, books.merchant),
            "amount": 100,
            "asset": "IDR",
        },
        "asset_mismatch|debits must equal credits",
    )
    missing = int(
        db_conn.execute(text("SELECT coalesce(max(id), 0) + 1000 FROM accounts")).scalar_one()
    )
    refused(
        db_conn,
        INSERT_TRANSFER,
        {
            "id": uuid.uuid4(),
            "ts": next_ts(db_conn),
            "debit": account_id(books, books.treasury),
            "credit": missing,
            "amount": 100,
            "asset": "IDR",
        },
        "foreign key|not found|debits must equal credits",
    )


def test_hand_editing_pending_reservations_is_refused(db_conn: Connection, books: Books) -> None:
    pending_id = uuid.uuid4()
    result = books.ledger.post(
        TransferRequest(
            pending_id, books.wallet, books.merchant, 300, "IDR", "test.hold",
            flags=TransferFlags.PENDING,
        )
    )  # fmt: skip
    assert result.ok
    params = {"id": pending_id}
    refused(
        db_conn,
        "UPDATE pending_transfers SET status = 'voided' WHERE id = :id",
        params,
        "only through transfers",
    )
    refused(
        db_conn, "DELETE FROM pending_transfers WHERE id = :id", params, "only through transfers"
    )
    status = db_conn.execute(
        text("SELECT status FROM pending_transfers WHERE id = :id"), params
    ).scalar_one()
    assert status == "pending"
    assert books.ledger.balance(books.wallet).pending_out == 300


def test_reopening_a_closed_period_is_refused(db_conn: Connection, books: Books) -> None:
    month = period("2020-02")
    Ledger(db_conn, FixedClock(month.ends_at_us + 1)).close_period(month.name, closed_by="test")
    refused(
        db_conn,
        "UPDATE ledger_state SET closed_through_us = :earlier WHERE id = 1",
        {"earlier": month.starts_at_us},
        "never reopens",
    )
    closed = db_conn.execute(text("SELECT closed_through_us FROM ledger_state")).scalar_one()
    assert closed >= month.ends_at_us


def test_a_correct_hand_written_transfer_is_applied_by_the_trigger(
    db_conn: Connection, books: Books
) -> None:
    wallet_before = totals(books, books.wallet)
    merchant_before = totals(books, books.merchant)
    transfer_id = uuid.uuid4()
    db_conn.execute(
        text(INSERT_TRANSFER),
        {
            "id": transfer_id,
            "ts": next_ts(db_conn),
            "debit": account_id(books, books.wallet),
            "credit": account_id(books, books.merchant),
            "amount": 2_500,
            "asset": "IDR",
        },
    )
    dp, dpo, cp, cpo = wallet_before
    assert totals(books, books.wallet) == (dp, dpo + 2_500, cp, cpo)
    dp, dpo, cp, cpo = merchant_before
    assert totals(books, books.merchant) == (dp, dpo, cp, cpo + 2_500)
    assert books.ledger.balance(books.wallet) == Balance(
        AccountKind.LIABILITY, 2_500, FUNDING, 0, 0
    )
    assert all(line.balanced for line in books.ledger.trial_balance())
    stored = books.ledger.transfer(transfer_id)
    assert stored is not None
    assert (stored.debit, stored.credit, stored.amount) == (books.wallet, books.merchant, 2_500)
