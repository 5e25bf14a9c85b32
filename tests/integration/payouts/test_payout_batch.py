"""The daily payout batch on PostgreSQL: a merchant settled in IDR through a payout file and a
confirmation with one rejected line; the same confirmation twice; refusals change nothing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import Connection, text

from escrow.clock import FixedClock
from escrow.refusals import Refusal
from settlement import chart
from settlement.payouts import store
from settlement.payouts.confirm import confirm
from settlement.payouts.cut import cut
from settlement.payouts.errors import BATCH_CONFIRMED, CUTOFF_NOT_REACHED, NOTHING_DUE
from settlement.unit_of_work import UnitOfWork, bind
from tests.support.bank import confirmation, file_lines
from tests.support.payouts import POLICY, credit, file_bytes, merchant_with_bank, today

pytestmark = pytest.mark.integration
HOUR_S = 3600


@pytest.fixture
def uow(module_conn: Connection, clock: FixedClock) -> UnitOfWork:
    """At 00:00 WIB of a fresh day (the clock fixture)."""
    return bind(module_conn, clock)


def _balance(uow: UnitOfWork, code: str) -> tuple[int, int]:
    found = uow.ledger.balance(code)
    return found.posted, found.pending_out


def _totals(uow: UnitOfWork) -> tuple[object, ...]:
    return tuple(
        uow.conn.execute(
            text(
                "SELECT (SELECT count(*) FROM transfers), (SELECT count(*) FROM payout_batches),"
                " (SELECT count(*) FROM payout_obligations WHERE status <> 'open'),"
                " (SELECT count(*) FROM outbox)"
            )
        ).one()
    )


def test_a_merchant_is_paid_through_the_file_and_a_rejected_line_returns(
    uow: UnitOfWork, clock: FixedClock
) -> None:
    paid, returned = merchant_with_bank(uow), merchant_with_bank(uow)
    credit(uow, paid, 1_500_000)
    credit(uow, returned, 700_000)
    clock.advance(15 * HOUR_S)  # 15:00 WIB: past the 14:00 cut-off
    late = merchant_with_bank(uow)
    credit(uow, late, 300_000)  # after the cut-off: the next day's
    result = cut(uow, today(uow), POLICY, "test", None)
    batch = result.batch
    assert batch is not None
    assert result.written
    ours = {row["payee"]: row for row in store.lines(uow.conn, batch.id, 0, 1000)}
    assert ours[paid]["amount_units"] == 1_500_000
    assert late not in ours
    assert _balance(uow, chart.merchant_idr(paid).code) == (1_500_000, 1_500_000)

    data = file_bytes(uow, batch)
    assert data == file_bytes(uow, batch)
    assert data.startswith(f"H,{batch.id},".encode())
    assert data.splitlines()[-1].decode().startswith(f"T,{batch.line_count},")
    numbers = {fields[7]: int(fields[1].rsplit("-", 1)[1]) for fields in file_lines(data)}
    answer = confirmation(data, {numbers[returned]: "R03"})

    done = confirm(uow, io.BytesIO(answer), "test")
    assert done.applied
    assert done.batch.status == "confirmed"
    assert _balance(uow, chart.merchant_idr(paid).code) == (0, 0)
    assert _balance(uow, chart.merchant_idr(returned).code) == (700_000, 0)
    lines = {row["payee"]: row for row in store.lines(uow.conn, batch.id, 0, 1000)}
    assert lines[returned]["status"] == "returned"
    assert lines[returned]["bank_reason"] == "R03: rekening ditutup"
    assert lines[paid]["status"] == "paid"
    assert all(line.balanced for line in uow.ledger.trial_balance())

    before = _totals(uow)
    again = confirm(uow, io.BytesIO(answer), "test")
    assert not again.applied
    assert _totals(uow) == before
    with uow.conn.begin_nested() as nested:
        with pytest.raises(Refusal) as refused:
            confirm(uow, io.BytesIO(confirmation(data)), "test")
        nested.rollback()
    assert refused.value.code == BATCH_CONFIRMED
    assert cut(uow, today(uow), POLICY, "test", None).batch == done.batch


def test_a_cut_before_the_cut_off_is_refused(uow: UnitOfWork) -> None:
    credit(uow, merchant_with_bank(uow), 1_000)
    with pytest.raises(Refusal) as refused:
        cut(uow, today(uow), POLICY, "test", None)
    assert refused.value.code == CUTOFF_NOT_REACHED


def test_a_day_with_nothing_due_is_refused_and_writes_nothing(
    uow: UnitOfWork, clock: FixedClock
) -> None:
    clock.advance(15 * HOUR_S)
    merchant_with_bank(uow)  # no balance
    uow.conn.execute(text("UPDATE payout_obligations SET status = status"))
    before = _totals(uow)
    with uow.conn.begin_nested() as nested:
        with pytest.raises(Refusal) as refused:
            cut(uow, today(uow), POLICY, "test", None)
        nested.rollback()
    assert refused.value.code == NOTHING_DUE
    assert _totals(uow) == before
