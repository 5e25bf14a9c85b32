"""Property: a position's rewards do not depend on when the daily job ran (decision 0029).

Four positions with the same principal, rate and term, opened at the same moment, accrued on
PostgreSQL by the set-based job on four schedules: every day, once a week, twice a day, and at
random moments (reruns included). Their accrual rows (day, accrued, credited) are identical, equal
the exact reference ``floor(principal x rate x day)``, their credits add up to what vested; at
maturity each posts exactly its maximum reward, and the ledger balances.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, text

from escrow.clock import FixedClock
from escrow.errors import AccountNotFound
from settlement import chart
from settlement.locks import positions
from settlement.locks.accrual import accrue_positions
from settlement.locks.closing import mature_due
from settlement.locks.reward import US_PER_DAY, accrued_units, rate_per_unit
from settlement.unit_of_work import UnitOfWork, bind
from tests.support.locks import offer, open_lock

pytestmark = pytest.mark.integration
HOUR_US = 3600 * 1_000_000

rates = st.builds(
    lambda whole, frac, digits: f"{whole}.{frac:0{digits}d}",
    st.integers(0, 3), st.integers(0, 10**6 - 1), st.just(6),
)  # fmt: skip


def _rows(conn: Connection, pos: positions.Position) -> list[tuple[int, int, int]]:
    return [
        (int(r.day), int(r.accrued_units), int(r.credited_units))
        for r in conn.execute(
            text(
                "SELECT day, accrued_units, credited_units FROM lock_accruals"
                " WHERE position_id = :id ORDER BY day"
            ),
            {"id": pos.id},
        )
    ]


def _points(uow: UnitOfWork, uid: str) -> tuple[int, int]:
    """The Pioneer's points: posted and still pending in (no account yet: nothing)."""
    try:
        points = uow.ledger.balance(chart.pioneer_balance(uid, "MSCP").code)
    except AccountNotFound:
        return 0, 0
    return points.posted, points.pending_in


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    principal=st.integers(1, 10**6 * 10**7),
    rate=rates,
    term=st.sampled_from([30, 60, 90]),
    random_hours=st.lists(st.integers(0, 95 * 24), max_size=12),
)
def test_rewards_are_the_same_whatever_the_schedule(
    module_conn: Connection,
    clock: FixedClock,
    principal: int,
    rate: str,
    term: int,
    random_hours: list[int],
) -> None:
    savepoint = module_conn.begin_nested()
    try:
        uow = bind(module_conn, clock)
        per_unit = rate_per_unit(Decimal(rate))
        maximum = accrued_units(principal, per_unit, term)
        offer(uow, {term: rate}, budget=4 * maximum + 1)
        start = clock.now_us()
        four = [open_lock(uow, f"uid-{n}", term, principal) for n in range(4)]
        assert all(p.status is positions.LockStatus.OPEN for p in four)
        budget = uow.ledger.balance(chart.mscp_budget().code)
        assert budget.pending_out == 4 * maximum
        end_us = start + (term + 5) * US_PER_DAY
        schedules = [
            range(start, end_us, US_PER_DAY),
            range(start, end_us, 7 * US_PER_DAY),
            range(start, end_us, 12 * HOUR_US),
            sorted(start + h * HOUR_US for h in random_hours),
        ]
        for pos, moments in zip(four, schedules, strict=True):
            for moment in moments:
                accrue_positions(module_conn, moment, [pos.id])
        for pos in four:  # every schedule ends with a run after maturity
            accrue_positions(module_conn, end_us, [pos.id])
        expected = [
            (
                day,
                accrued_units(principal, per_unit, day),
                accrued_units(principal, per_unit, day)
                - accrued_units(principal, per_unit, day - 1),
            )
            for day in range(1, term + 1)
        ]
        for pos in four:
            assert _rows(module_conn, pos) == expected
            after = positions.find(module_conn, pos.id)
            assert after is not None
            assert after.vested_units == maximum == sum(c for _, _, c in expected)
        clock.advance_to(end_us)
        assert mature_due(uow) == 4
        for pos in four:
            assert _points(uow, pos.uid) == (maximum, 0)
        budget = uow.ledger.balance(chart.mscp_budget().code)
        assert (budget.posted, budget.pending_out) == (1, 0)
        for line in uow.ledger.trial_balance():
            assert line.balanced, line
    finally:
        savepoint.rollback()
