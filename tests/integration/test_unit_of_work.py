"""A command runs in one transaction, rerun whole when a concurrent writer raced it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection, Engine, text

from escrow.errors import LedgerConflict
from escrow.ledger import Ledger
from escrow.model import AccountKind, ResultCode, TransferRequest
from settlement import unit_of_work
from settlement.unit_of_work import in_transaction

pytestmark = pytest.mark.integration


def test_a_conflict_rolls_back_and_runs_the_work_again(db_engine: Engine) -> None:
    suffix = uuid.uuid4().hex[:8]
    attempts: list[int] = []

    def work(conn: Connection) -> ResultCode:
        ledger = Ledger(conn)
        ledger.ensure_account(f"uow:a:{suffix}", "IDR", AccountKind.ASSET)
        ledger.ensure_account(f"uow:b:{suffix}", "IDR", AccountKind.LIABILITY)
        result = ledger.post(
            TransferRequest(
                uuid.uuid5(uuid.NAMESPACE_URL, suffix),
                f"uow:a:{suffix}",
                f"uow:b:{suffix}",
                10,
                "IDR",
                "test",
            )
        )
        attempts.append(1)
        if len(attempts) == 1:
            raise LedgerConflict("raced")
        return result.code

    assert in_transaction(db_engine, work) is ResultCode.OK
    assert len(attempts) == 2
    with db_engine.connect() as conn:
        # The first attempt was rolled back: the account holds one posting, not two.
        assert Ledger(conn).balance(f"uow:b:{suffix}").posted == 10


def test_other_errors_are_not_retried(db_engine: Engine) -> None:
    calls: list[int] = []

    def work(conn: Connection) -> None:
        calls.append(1)
        conn.execute(text("SELECT 1"))
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        in_transaction(db_engine, work)
    assert calls == [1]


def test_conflicts_give_up_after_the_limit(db_engine: Engine) -> None:
    calls: list[int] = []

    def work(conn: Connection) -> None:
        calls.append(1)
        raise LedgerConflict("always")

    with pytest.raises(LedgerConflict):
        in_transaction(db_engine, work)
    assert len(calls) == unit_of_work.attempts_max
