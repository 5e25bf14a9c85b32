"""The PostgreSQL ledger's queries and lifecycle: balances in time, history, periods, expiry."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection

from escrow import ledger as ledger_module
from escrow.clock import FixedClock
from escrow.errors import AccountConflict, AccountNotFound, InvalidTransfer, PeriodNotClosable
from escrow.ledger import Ledger
from escrow.model import AccountFlags, AccountKind, ResultCode, TransferFlags, TransferRequest
from escrow.periods import period_of

pytestmark = pytest.mark.integration
day_s = 24 * 3600


@pytest.fixture
def ledger(module_conn: Connection, clock: FixedClock) -> Ledger:
    ledger = Ledger(module_conn, clock)
    ledger.ensure_account("t:bank", "IDR", AccountKind.ASSET)
    ledger.ensure_account(
        "t:merchant",
        "IDR",
        AccountKind.LIABILITY,
        owner="UM001",
        flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
    )
    return ledger


def pay(amount: int, **kwargs: object) -> TransferRequest:
    return TransferRequest(uuid.uuid4(), "t:bank", "t:merchant", amount, "IDR", "test", **kwargs)  # type: ignore[arg-type]


def test_balance_now_and_at_past_timestamps(ledger: Ledger, clock: FixedClock) -> None:
    first = ledger.post(pay(1000))
    clock.advance(60)
    hold = pay(300, flags=TransferFlags.PENDING)
    second = ledger.post(hold)
    clock.advance(60)
    third = ledger.post(
        TransferRequest(uuid.uuid4(), "", "", 200, "IDR", "t", TransferFlags.POST_PENDING, hold.id)
    )
    assert first.timestamp
    assert second.timestamp
    assert third.timestamp
    at_first = ledger.balance("t:merchant", at_ts=first.timestamp)
    assert (at_first.posted, at_first.pending_in) == (1000, 0)
    at_second = ledger.balance("t:merchant", at_ts=second.timestamp)
    assert (at_second.posted, at_second.pending_in) == (1000, 300)
    now = ledger.balance("t:merchant")
    assert (now.posted, now.pending_in) == (1200, 0)
    assert ledger.balance("t:merchant", at_ts=third.timestamp) == now
    assert ledger.balance("t:merchant", at_ts=first.timestamp - 1).posted == 0


def test_history_pages_in_ledger_order(ledger: Ledger) -> None:
    results = ledger.post_batch([pay(n) for n in range(1, 26)])
    assert all(r.code is ResultCode.OK for r in results)
    seen, after = [], 0
    while page := ledger.history("t:merchant", after_ts=after, limit=10):
        seen.extend(page)
        after = page[-1].timestamp
    assert [t.amount for t in seen] == list(range(1, 26))
    with pytest.raises(InvalidTransfer):
        ledger.history("t:merchant", limit=0)


@pytest.mark.parametrize(
    ("batch_size", "copy_from"),
    [(1, 1), (3, 1), (3, 4)],
    ids=["plain-statement", "batch-copy", "batch-insert"],
)
def test_stored_transfer_keeps_every_field(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, batch_size: int, copy_from: int
) -> None:
    """Every way in (the one-statement plain transfer, COPY, the array insert) stores alike."""
    monkeypatch.setattr(ledger_module, "copy_rows_min", copy_from)
    request = pay(77, external_ref="RRN123456789", user_data={"leg": "qris", "n": 1, "s": 'a,"{'})
    others = [pay(1, user_data={}) for _ in range(batch_size - 1)]
    assert all(r.code is ResultCode.OK for r in ledger.post_batch([*others, request]))
    stored = ledger.transfer(request.id)
    assert stored is not None
    assert (stored.debit, stored.credit, stored.amount, stored.external_ref, stored.user_data) == (
        "t:bank",
        "t:merchant",
        77,
        "RRN123456789",
        {"leg": "qris", "n": 1, "s": 'a,"{'},
    )
    assert all(ledger.transfer(o.id) is not None for o in others)
    assert ledger.post(request).code is ResultCode.EXISTS


def test_period_close_refuses_open_months_and_dates_inside_closed_ones(
    ledger: Ledger, clock: FixedClock
) -> None:
    this_month = period_of(clock.now_us())
    with pytest.raises(PeriodNotClosable):
        ledger.close_period(this_month, "officer")
    posted = ledger.post(pay(5))
    assert posted.code is ResultCode.OK
    clock.advance(40 * day_s)
    closed = ledger.close_period(this_month, "officer")
    assert closed.transfer_count >= 1
    assert ledger.close_period(this_month, "officer").period.name == this_month  # idempotent
    assert ledger.post(pay(5)).code is ResultCode.OK


def test_pending_timeout_voids_through_the_sweeper(ledger: Ledger, clock: FixedClock) -> None:
    hold = pay(400, flags=TransferFlags.PENDING, timeout_s=120)
    ledger.post(hold)
    assert ledger.void_expired() == 0
    clock.advance(10_000)
    # The ledger's own clock has to pass the expiry too: the sequence follows the wall clock.
    assert ledger.void_expired() == 1
    assert ledger.void_expired() == 0
    assert ledger.balance("t:merchant").pending_in == 0


def test_accounts(ledger: Ledger) -> None:
    with pytest.raises(AccountConflict):
        ledger.ensure_account("t:bank", "PI", AccountKind.ASSET)
    with pytest.raises(AccountNotFound):
        ledger.account("t:none")
    assert ledger.account("t:merchant").owner == "UM001"


def test_trial_balance_balances(ledger: Ledger) -> None:
    ledger.post_batch([pay(n) for n in range(1, 10)])
    assert all(line.balanced for line in ledger.trial_balance())


@pytest.mark.parametrize("copy_from", [1, ledger_module.copy_rows_min], ids=["copy", "insert"])
def test_a_replayed_id_inside_a_batch_is_replanned_not_applied_twice(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, copy_from: int
) -> None:
    """The batch is planned as if every id were new; a stored one sends it back to be replanned."""
    monkeypatch.setattr(ledger_module, "copy_rows_min", copy_from)
    deposit = pay(100)
    assert ledger.post(deposit).code is ResultCode.OK
    spend = TransferRequest(uuid.uuid4(), "t:merchant", "t:bank", 150, "IDR", "test")
    # Had the deposit counted twice, the spend would fit; it does not.
    results = ledger.post_batch([deposit, spend])
    assert [r.code for r in results] == [ResultCode.EXISTS, ResultCode.EXCEEDS_CREDITS]
    assert ledger.balance("t:merchant").posted == 100
    fits = TransferRequest(uuid.uuid4(), "t:merchant", "t:bank", 60, "IDR", "test")
    results = ledger.post_batch([deposit, fits])
    assert [r.code for r in results] == [ResultCode.EXISTS, ResultCode.OK]
    assert ledger.balance("t:merchant").posted == 40
