"""The daily payout batch on PostgreSQL: a merchant settled in IDR through a payout file and a
confirmation with one rejected line; the same confirmation twice; refusals change nothing."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace
from typing import Any, cast

import pytest
from sqlalchemy import Connection, text

from chain.bank.errors import BANK_ACCOUNT_INVALID, CONFIRMATION_LINE_UNKNOWN
from chain.bank.transfer_file import batch_id_of
from escrow.clock import FixedClock
from escrow.errors import InvariantViolation
from escrow.model import TransferRequest, transfer_id
from escrow.money import format_amount, parse_amount
from escrow.refusals import Refusal
from settlement import chart
from settlement.chart import TransferCode, open_account
from settlement.payouts import store, transfer_file
from settlement.payouts.confirm import confirm
from settlement.payouts.cut import cut
from settlement.payouts.details import set_merchant_details
from settlement.payouts.errors import (
    BATCH_CONFIRMED,
    CONFIRMATION_BATCH_MISMATCH,
    CONFIRMATION_BATCH_UNKNOWN,
    CONFIRMATION_INCOMPLETE,
    CONFIRMATION_LINE_MISMATCH,
    CUTOFF_NOT_REACHED,
    NOTHING_DUE,
    OBLIGATION_EXISTS,
    OBLIGATION_INVALID,
)
from settlement.payouts.obligations import record
from settlement.payouts.pi import payout_key
from settlement.pi.deps import PiDeps
from settlement.unit_of_work import UnitOfWork, bind
from tests.support.bank import confirmation, file_lines, sealed
from tests.support.payouts import (
    POLICY,
    credit,
    file_bytes,
    merchant_with_bank,
    owed_refund,
    redemption_obligation,
    today,
)

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
    ours = {row.payee: row for row in store.lines(uow.conn, batch.id, 0, 1000)}
    assert ours[paid].amount_units == 1_500_000
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
    lines = {row.payee: row for row in store.lines(uow.conn, batch.id, 0, 1000)}
    assert lines[returned].status == "returned"
    assert lines[returned].bank_reason == "R03: rekening ditutup"
    assert lines[paid].status == "paid"
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


def _written(uow: UnitOfWork, clock: FixedClock) -> tuple[store.Batch, bytes]:
    for units in (1_000_000, 250_000):
        credit(uow, merchant_with_bank(uow), units)
    clock.advance(15 * HOUR_S)
    batch = cut(uow, today(uow), POLICY, "test", None).batch
    assert batch is not None
    return batch, file_bytes(uow, batch)


def _answer_lines(data: bytes) -> list[str]:
    return confirmation(data).decode().splitlines(keepends=True)[:-1]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda lines: [line.replace(lines[0][4:12], "19700101") for line in lines],
         CONFIRMATION_BATCH_UNKNOWN),
        (lambda lines: [lines[0][:13] + "0" * 64 + "\n", *lines[1:]], CONFIRMATION_BATCH_MISMATCH),
        (lambda lines: lines[:-1], CONFIRMATION_INCOMPLETE),
        (lambda lines: [*lines, lines[-1].replace("-000002,", "-000009,")],
         CONFIRMATION_LINE_UNKNOWN),
        (lambda lines: [lines[0], lines[1].replace(".00,", ".01,", 1), *lines[2:]],
         CONFIRMATION_LINE_MISMATCH),
    ],
    ids=["unknown-batch", "other-file", "a-line-missing", "a-line-not-in-batch", "wrong-amount"],
)  # fmt: skip
def test_a_confirmation_that_does_not_answer_the_batch_changes_nothing(
    uow: UnitOfWork,
    clock: FixedClock,
    change: Callable[[list[str]], list[str]],
    code: str,
) -> None:
    batch, data = _written(uow, clock)
    lines = change(_answer_lines(data))
    total = sum(parse_amount(line.split(",")[2], 2) for line in lines[1:])
    answer = sealed(lines, format_amount(total, 2), len(lines) - 1)
    before = _totals(uow)
    with uow.conn.begin_nested() as nested:
        with pytest.raises(Refusal) as refused:
            confirm(uow, io.BytesIO(answer), "test")
        nested.rollback()
    assert refused.value.code == code
    assert _totals(uow) == before
    assert store.get(uow.conn, batch.id).status == "held"


def test_a_qris_refund_is_paid_to_the_payers_account_and_a_rejected_one_is_owed_again(
    uow: UnitOfWork, clock: FixedClock
) -> None:
    mid = merchant_with_bank(uow)
    paid, rejected = owed_refund(uow, mid, 50_000), owed_refund(uow, mid, 70_000)
    clock.advance(15 * HOUR_S)
    batch = cut(uow, today(uow), POLICY, "test", None).batch
    assert batch is not None
    data = file_lines(file_bytes(uow, batch))
    numbers = {int(f[5].replace(".", "")): int(f[1][-6:]) for f in data if f[6] == "qris_refund"}
    confirm(uow, io.BytesIO(confirmation(file_bytes(uow, batch), {numbers[70_000]: "R01"})), "t")
    statuses = dict(
        uow.conn.execute(
            text("SELECT transfer_id, status FROM checkout_refunds WHERE transfer_id IN (:a, :b)"),
            {"a": paid, "b": rejected},
        ).all()
    )
    assert statuses == {paid: "paid", rejected: "owed"}
    assert uow.ledger.balance(chart.qris_refunds().code).available == 70_000
    clock.advance(24 * HOUR_S)
    again = cut(uow, today(uow), POLICY, "test", None).batch
    assert again is not None
    assert [f[6] for f in file_lines(file_bytes(uow, again))] == ["qris_refund"]


def test_a_merchant_who_keeps_pi_is_paid_by_a2u_at_the_cut(
    uow: UnitOfWork, clock: FixedClock
) -> None:
    mid = merchant_with_bank(uow)
    set_merchant_details(uow, mid, None, "pioneer-uid-1", "test")
    pi_account = open_account(uow.ledger, chart.merchant_balance(mid, "PI")).code
    custody = open_account(uow.ledger, chart.pi_custody()).code
    request = TransferRequest(
        transfer_id("test.pi", mid), custody, pi_account, 30_000_000, "PI", TransferCode.PI_RECEIVED
    )
    assert uow.ledger.post(request).ok
    clock.advance(15 * HOUR_S)
    deps = PiDeps(cast(Any, None), cast(Any, None), "Pi Testnet", "G" + "A" * 55,
                  clock=clock, a2u_expiry_margin_s=120)  # fmt: skip
    result = cut(uow, today(uow), POLICY, "test", deps)
    assert result.batch is None
    assert result.pi_payouts == 1
    key = payout_key(batch_id_of(today(uow)), mid)
    row = uow.conn.execute(
        text("SELECT uid, amount_units, debit_account FROM pi_payouts WHERE key = :k"), {"k": key}
    ).one()
    assert tuple(row) == ("pioneer-uid-1", 30_000_000, pi_account)
    assert uow.ledger.balance(pi_account).available == 0
    with uow.conn.begin_nested() as nested:
        with pytest.raises(Refusal) as refused:  # the day's Pi payout is requested once
            cut(uow, today(uow), POLICY, "test", deps)
        nested.rollback()
    assert refused.value.code == NOTHING_DUE


def test_the_obligation_interface_is_idempotent_and_refuses_what_it_cannot_pay(
    uow: UnitOfWork,
) -> None:
    first = redemption_obligation(uow, 10_000, "redemption:r-1")
    assert record(uow, first) == record(uow, first)
    refusals = [
        replace(first, amount_units=20_000),  # the same source owed otherwise
        replace(first, source_ref="redemption:r-2", debit_account=chart.qris_clearing().code),
        replace(first, source_ref="redemption:r-3", debit_account="merchant:nobody:IDR"),
    ]
    before = _totals(uow)
    codes = []
    for wrong in refusals:
        with uow.conn.begin_nested() as nested:
            with pytest.raises(Refusal) as refused:
                record(uow, wrong)
            nested.rollback()
        codes.append(refused.value.code)
    assert codes == [OBLIGATION_EXISTS, OBLIGATION_INVALID, OBLIGATION_INVALID]
    assert _totals(uow) == before
    with pytest.raises(Refusal):
        replace(first, source_ref="no spaces allowed")


def test_a_bank_detail_the_file_cannot_carry_refuses_the_cut_and_writes_nothing(
    uow: UnitOfWork, clock: FixedClock
) -> None:
    """The obligations table bounds bank details by length only (migration 0027): the file
    writer's validation is what keeps a bad copy from the bank, and it refuses the whole cut."""
    owed = redemption_obligation(uow, 10_000, "redemption:r-bad")
    obligation = record(uow, owed)
    uow.conn.execute(
        text("UPDATE payout_obligations SET holder_name = 'bu tin' WHERE id = :id"),
        {"id": obligation},
    )
    clock.advance(15 * HOUR_S)
    before = _totals(uow)
    with uow.conn.begin_nested() as nested:
        with pytest.raises(Refusal) as refused:
            cut(uow, today(uow), POLICY, "test", None)
        nested.rollback()
    assert refused.value.code == BANK_ACCOUNT_INVALID
    assert _totals(uow) == before


def test_the_file_reads_its_lines_a_page_at_a_time_and_refuses_a_gap(
    uow: UnitOfWork, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch, whole = _written(uow, clock)
    monkeypatch.setattr(transfer_file, "file_page_lines", 1)
    assert file_bytes(uow, batch) == whole
    uow.conn.execute(
        text("UPDATE payout_obligations SET line_no = 3 WHERE batch_id = :b AND line_no = 2"),
        {"b": batch.id},
    )
    with pytest.raises(InvariantViolation, match=f"batch {batch.id} has no line 2"):
        file_bytes(uow, batch)
    monkeypatch.setattr(transfer_file, "file_page_lines", 8190)
    with pytest.raises(InvariantViolation, match=f"batch {batch.id} has no line 2"):
        file_bytes(uow, batch)
    uow.conn.execute(
        text("UPDATE payout_obligations SET line_no = 2 WHERE batch_id = :b AND line_no = 3"),
        {"b": batch.id},
    )
    assert file_bytes(uow, batch) == whole
    uow.conn.execute(
        text("UPDATE payout_batches SET line_count = 1 WHERE id = :b"), {"b": batch.id}
    )
    with pytest.raises(InvariantViolation, match=f"batch {batch.id} has more than its 1 lines"):
        file_bytes(uow, store.get(uow.conn, batch.id))
