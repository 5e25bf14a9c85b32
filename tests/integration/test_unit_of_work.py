"""A command runs in one transaction, rerun whole when a concurrent writer raced it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection, Engine, text

from escrow.chart import AccountUndeclared
from escrow.clock import FixedClock, SystemClock
from escrow.errors import AccountNotFound, LedgerConflict
from escrow.ledger import Ledger
from escrow.model import AccountKind, ResultCode, TransferRequest
from settlement import chart, unit_of_work
from settlement.chart import TransferCode
from settlement.unit_of_work import UnitOfWork, in_transaction

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


def _outbox_rows(engine: Engine, key: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM outbox WHERE key = :k"), {"k": key}
            ).scalar_one()
        )


def _credited(suffix: str) -> str:
    """The account ``_book`` credits: a merchant of its own, so each test sees only its posting."""
    return chart.merchant_idr(f"UOW{suffix}").code


def _book(uow: UnitOfWork, suffix: str) -> ResultCode:
    """A use case as stage 2 writes them: everything it touches comes in the unit of work, and
    its ledger takes only the chart's accounts and transfer codes."""
    debit = chart.open_account(uow.ledger, chart.qris_clearing()).code
    credit = chart.open_account(uow.ledger, chart.merchant_idr(f"UOW{suffix}")).code
    result = uow.ledger.post(
        TransferRequest(
            uuid.uuid5(uuid.NAMESPACE_URL, f"uow-{suffix}"),
            debit,
            credit,
            10,
            "IDR",
            TransferCode.QRIS_RECEIVED,
            user_data={"at_us": uow.clock.now_us()},
        )
    )
    assert uow.outbox.enqueue("test.notify", suffix, {"suffix": suffix}) is True
    assert uow.outbox.enqueue("test.notify", suffix, {"suffix": suffix}) is False
    return result.code


def test_run_commits_the_ledger_and_the_outbox_together(db_engine: Engine) -> None:
    suffix, clock = uuid.uuid4().hex[:8], FixedClock(1_750_000_000_000_000)
    assert unit_of_work.run(db_engine, clock, lambda uow: _book(uow, suffix)) is ResultCode.OK
    assert _outbox_rows(db_engine, suffix) == 1
    with db_engine.connect() as conn:
        assert Ledger(conn).balance(_credited(suffix)).posted == 10


def test_the_unit_of_works_ledger_refuses_what_the_chart_does_not_declare(
    db_engine: Engine,
) -> None:
    suffix = uuid.uuid4().hex[:8]
    with (
        pytest.raises(AccountUndeclared),
        unit_of_work.unit_of_work(db_engine, SystemClock()) as uow,
    ):
        uow.ledger.ensure_account(f"uow:a:{suffix}", "IDR", AccountKind.ASSET)
    with db_engine.connect() as conn, pytest.raises(AccountNotFound):
        Ledger(conn).account(f"uow:a:{suffix}")


def test_a_failed_unit_of_work_leaves_neither_posting_nor_message(db_engine: Engine) -> None:
    suffix = uuid.uuid4().hex[:8]

    def work(uow: UnitOfWork) -> None:
        _book(uow, suffix)
        raise ValueError("refused after posting")

    with pytest.raises(ValueError, match="refused after posting"):
        unit_of_work.run(db_engine, SystemClock(), work)
    with (
        pytest.raises(ValueError, match="refused after posting"),
        unit_of_work.unit_of_work(db_engine, SystemClock()) as uow,
    ):
        work(uow)
    assert _outbox_rows(db_engine, suffix) == 0
    with db_engine.connect() as conn, pytest.raises(AccountNotFound):
        Ledger(conn).account(_credited(suffix))


def test_run_reruns_the_whole_unit_of_work_on_a_race(db_engine: Engine) -> None:
    suffix, attempts = uuid.uuid4().hex[:8], []

    def work(uow: UnitOfWork) -> ResultCode:
        code = _book(uow, suffix)
        attempts.append(code)
        if len(attempts) == 1:
            raise LedgerConflict("raced")
        return code

    assert unit_of_work.run(db_engine, SystemClock(), work) is ResultCode.OK
    assert attempts == [ResultCode.OK, ResultCode.OK]
    assert _outbox_rows(db_engine, suffix) == 1
