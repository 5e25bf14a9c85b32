"""Property: across random obligations (merchants, QRIS refunds, redemptions) and random
accept/reject confirmations over two days, the ledger balances, every obligation is paid at most
once, rejected money returns exactly, and what is paid is exactly what was owed."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text

from escrow.calendar import WIB, business_day, from_us, to_us
from escrow.clock import FixedClock
from escrow.periods import period, period_of
from settlement import chart
from settlement.payouts.confirm import confirm
from settlement.payouts.cut import cut
from settlement.payouts.errors import NOTHING_DUE, PayoutRefused
from settlement.payouts.store import Batch
from settlement.unit_of_work import UnitOfWork, bind
from tests.conftest import rolled_back
from tests.support.bank import confirmation
from tests.support.payouts import (
    POLICY,
    credit,
    file_bytes,
    merchant_with_bank,
    owed_refund,
    redemption,
)

UNITS = st.integers(1, 10**10)
hour_us = 3600 * 1_000_000
day_us = 24 * hour_us


def _fresh_day(conn: Connection) -> FixedClock:
    last = conn.exec_driver_sql("SELECT last_value FROM ledger_ts_seq").scalar_one()
    start = period(period_of(int(last) + 40 * day_us)).starts_at_us
    return FixedClock(start + 3 * day_us)


def _cut_day(uow: UnitOfWork, clock: FixedClock) -> Batch | None:
    """Cut the clock's day at 15:00 WIB (None when nothing was due), then move to the next day."""
    day = business_day(from_us(clock.now_us()))
    midnight = to_us(datetime.combine(day, datetime.min.time(), tzinfo=WIB))
    clock.advance_to(midnight + 15 * hour_us)
    try:
        return cut(uow, day, POLICY, "test", None).batch
    except PayoutRefused as refused:
        if refused.code != NOTHING_DUE:
            raise
        return None
    finally:
        clock.advance_to(midnight + 24 * hour_us)


def _confirm(uow: UnitOfWork, batch: Batch | None, rejects: set[int]) -> dict[str, str]:
    """Confirm with ``rejects`` (line numbers) rejected; each line's status by (kind, source)."""
    if batch is None:
        return {}
    rejected = {n: "R01" for n in rejects if n <= batch.line_count}
    confirm(uow, io.BytesIO(confirmation(file_bytes(uow, batch), rejected)), "test")
    rows = uow.conn.execute(
        text("SELECT kind, source_ref, status FROM payout_obligations WHERE batch_id = :b"),
        {"b": batch.id},
    ).all()
    return {f"{kind}:{source}": status for kind, source, status in rows}


@settings(max_examples=15, deadline=timedelta(seconds=30))
@given(
    st.lists(UNITS, min_size=1, max_size=5),
    st.lists(UNITS, max_size=3),
    st.lists(UNITS, max_size=3),
    st.sets(st.integers(1, 11)),
    st.booleans(),
)
def test_payouts_balance_pay_once_and_return_exactly(
    module_engine: Engine,
    merchants: list[int],
    refunds: list[int],
    redemptions: list[int],
    rejects: set[int],
    late: bool,
) -> None:
    with rolled_back(module_engine) as conn:
        clock = _fresh_day(conn)
        uow = bind(conn, clock)
        mids = [merchant_with_bank(uow) for _ in merchants]
        for mid, units in zip(mids, merchants, strict=True):
            credit(uow, mid, units)
        refund_ids = [owed_refund(uow, mids[0], units) for units in refunds]
        for units in redemptions:
            redemption(uow, units)
        owed = sum(merchants) + sum(refunds) + sum(redemptions)

        first_batch = _cut_day(uow, clock)
        if late:  # the bank answers day 1 after day 2 was cut: day 2 must not pay it again
            second_batch = _cut_day(uow, clock)
            first = _confirm(uow, first_batch, rejects)
            second = _confirm(uow, second_batch, set())
            third = _confirm(uow, _cut_day(uow, clock), set())
        else:
            first = _confirm(uow, first_batch, rejects)
            for mid, units in zip(mids, merchants, strict=True):
                status = next(v for k, v in first.items() if k.startswith(f"merchant:{mid}:"))
                balance = uow.ledger.balance(chart.merchant_idr(mid).code)
                assert (balance.posted, balance.pending_out) == (
                    0 if status == "paid" else units,
                    0,
                )
            second = _confirm(uow, _cut_day(uow, clock), set())
            third = {}
        assert len(first) == len(merchants) + len(refunds) + len(redemptions)
        again = {**second, **third}
        assert set(again.values()) <= {"paid"}
        assert not any(key.startswith("redemption:") for key in again)
        retried = [k for k, s in first.items() if s == "returned" and "redemption:" not in k]
        assert len(again) == len(retried)

        paid_once = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT kind, source_ref FROM payout_obligations"
                " WHERE status = 'paid' GROUP BY 1, 2 HAVING count(*) > 1) twice"
            )
        ).scalar_one()
        assert paid_once == 0
        bank = uow.ledger.balance(chart.bank_payouts().code)
        suspense = uow.ledger.balance(chart.suspense("IDR").code).posted if redemptions else 0
        assert (bank.pending_out, bank.pending_in) == (0, 0)
        assert -bank.posted + suspense == owed
        statuses = conn.execute(
            text("SELECT status FROM checkout_refunds WHERE transfer_id = ANY(:ids)"),
            {"ids": refund_ids},
        ).scalars()
        assert set(statuses) <= {"paid"}
        assert all(line.balanced for line in uow.ledger.trial_balance())
