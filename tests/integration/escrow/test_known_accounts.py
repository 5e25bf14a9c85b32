"""Accounts known to be open (``escrow.known_accounts``) on PostgreSQL: an account is known only
once the transaction that found or opened it committed, so a rolled-back transaction or savepoint
never leaves a known account that does not exist, and a known one costs no statement."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, text

from escrow.chart import AccountSpec
from escrow.clock import SystemClock
from escrow.known_accounts import known_accounts
from escrow.model import AccountFlags
from settlement import chart
from settlement.db import make_engine
from settlement.unit_of_work import transaction, unit_of_work

pytestmark = pytest.mark.integration


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine of the test's own (its cache starts empty)."""
    made = make_engine(database_url)
    yield made
    made.dispose()


def _code() -> str:
    return _spec(f"known{uuid.uuid4().hex[:12]}").code


def _spec(uid: str) -> AccountSpec:
    return chart.pioneer_balance(uid, "MSC")


def _spec_of(code: str) -> AccountSpec:
    return chart.CHART.spec_of(code)


def _open(engine: Engine, code: str) -> list[str]:
    """Open ``code`` in a committed unit of work; the statements it took."""
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        with unit_of_work(engine, SystemClock()) as uow:
            chart.ensure_open(uow.ledger, _spec_of(code))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return seen


def _open_then_fail(engine: Engine, code: str) -> None:
    with unit_of_work(engine, SystemClock()) as uow:
        chart.ensure_open(uow.ledger, _spec_of(code))
        raise RuntimeError("the command fails after opening the account")


def _exists(engine: Engine, code: str) -> bool:
    with engine.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM accounts WHERE code = :c"), {"c": code})
        return found.first() is not None


def test_a_committed_account_is_known_and_costs_no_statement(engine: Engine) -> None:
    code = _code()
    assert _open(engine, code)  # opened: read, insert, read
    assert _open(engine, code) == []
    assert _exists(engine, code)


def test_an_account_opened_in_a_rolled_back_transaction_is_not_known(engine: Engine) -> None:
    code = _code()
    with pytest.raises(RuntimeError, match="fails"):
        _open_then_fail(engine, code)
    assert not _exists(engine, code)
    assert _open(engine, code)  # opened again, for real
    assert _exists(engine, code)


def test_an_account_opened_in_a_rolled_back_savepoint_is_not_known(engine: Engine) -> None:
    code = _code()
    with unit_of_work(engine, SystemClock()) as uow:
        savepoint = uow.conn.begin_nested()
        chart.ensure_open(uow.ledger, _spec_of(code))
        savepoint.rollback()
    assert not _exists(engine, code)
    assert _open(engine, code)
    assert _exists(engine, code)


def test_a_known_account_is_known_in_its_own_shape_only(engine: Engine) -> None:
    code = _code()
    _open(engine, code)
    spec = _spec_of(code)
    known = known_accounts(engine)
    assert known.knows(code, spec.asset, spec.kind, spec.flags)
    assert not known.knows(code, spec.asset, spec.kind, spec.flags ^ AccountFlags(1))
    assert not known.knows(code, "IDR", spec.kind, spec.flags)


def test_another_engine_knows_nothing_of_this_one(engine: Engine, database_url: str) -> None:
    code = _code()
    _open(engine, code)
    other = make_engine(database_url)
    try:
        assert _open(other, code)  # found by a read: its own cache was empty
    finally:
        other.dispose()


def test_a_plain_transaction_notes_what_its_ledger_found(engine: Engine) -> None:
    code = _code()
    _open(engine, code)
    fresh = make_engine(str(engine.url.render_as_string(hide_password=False)))
    try:
        with transaction(fresh) as conn:
            conn.execute(text("SELECT 1"))
        assert _open(fresh, code)  # the first finds it by a read and notes it
        assert _open(fresh, code) == []
    finally:
        fresh.dispose()
