"""State machine: lock positions on PostgreSQL under random opens, waits, daily runs, early
unlocks, maturity-action changes and maturities (decision 0029).

After every step: an open position has exactly its maximum reward reserved (pending) and its
principal in ``locks:PI``; the budget's pending equals the open positions' maxima; vested points
are the reference ``floor(principal x rate x days)`` of the days the job has seen; a closed
position posted what vested (all of it at maturity) and released the rest; statuses only move
``open -> matured | unlocked``; the ledger balances.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import Connection

from escrow.calendar import to_us
from escrow.clock import FixedClock
from escrow.errors import AccountNotFound
from escrow.refusals import Refusal
from settlement import chart
from settlement.locks import positions
from settlement.locks.accrual import accrue_chunk
from settlement.locks.closing import mature_due, unlock
from settlement.locks.opening import reservation_id
from settlement.locks.reward import accrued_units, days_elapsed, rate_per_unit
from settlement.unit_of_work import bind
from tests.support.locks import offer, open_lock

pytestmark = pytest.mark.integration
RATES = {30: "0.25", 60: "0.333333", 90: "0.5"}
UIDS = ("m-ani", "m-budi")
Status = positions.LockStatus
MOVES = {
    Status.OPEN: {Status.OPEN, Status.MATURED, Status.UNLOCKED},
    Status.MATURED: {Status.MATURED},
    Status.UNLOCKED: {Status.UNLOCKED},
    Status.REFUSED: {Status.REFUSED},
}


def test_positions_follow_their_rules(module_conn: Connection, clock: FixedClock) -> None:
    class Positions(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.savepoint = module_conn.begin_nested()
            self.uow = bind(module_conn, clock)
            offer(self.uow, RATES, budget=20_000)
            self.ids: list[uuid.UUID] = []
            self.seen: dict[uuid.UUID, Status] = {}

        def teardown(self) -> None:
            self.savepoint.rollback()

        @rule(uid=st.sampled_from(UIDS), term=st.sampled_from([30, 60, 90]),
              pi=st.integers(1, 300))  # fmt: skip
        def open_one(self, uid: str, term: int, pi: int) -> None:
            try:
                pos = open_lock(self.uow, uid, term, pi * 10**7)
            except Refusal as refused:
                code = refused.code
            else:
                self.ids.append(pos.id)
                return
            assert code == "lock_budget_exhausted"

        @rule(hours=st.integers(1, 24 * 40))
        def wait(self, hours: int) -> None:
            clock.advance(hours * 3600)

        @rule()
        def daily_job(self) -> None:
            accrue_chunk(module_conn, clock.now_us())
            mature_due(self.uow)

        @rule(index=st.integers(0, 50))
        def unlock_one(self, index: int) -> None:
            if not self.ids:
                return
            target = self.ids[index % len(self.ids)]
            before = positions.find(module_conn, target)
            assert before is not None
            try:
                unlock(self.uow, target, before.uid)
            except positions.LockRefused as refused:
                code = refused.code
            else:
                return
            assert code == "lock_not_open"
            assert before.status is not Status.OPEN

        @rule(index=st.integers(0, 50), action=st.sampled_from(["a2u", "convert"]))
        def change_action(self, index: int, action: str) -> None:
            if not self.ids:
                return
            target = self.ids[index % len(self.ids)]
            found = positions.find(module_conn, target)
            assert found is not None
            try:
                positions.set_maturity_action(self.uow, target, found.uid, action)
            except positions.LockRefused as refused:
                code = refused.code
            else:
                return
            assert code == "lock_not_open"
            assert found.status is not Status.OPEN

        @invariant()
        def positions_keep_their_rules(self) -> None:
            reserved = 0
            for position_id in self.ids:
                pos = positions.find(module_conn, position_id)
                assert pos is not None
                assert pos.started_at is not None
                assert pos.status in MOVES[self.seen.get(position_id, Status.OPEN)]
                self.seen[position_id] = pos.status
                per_unit = rate_per_unit(Decimal(RATES[pos.term_days]))
                assert pos.rate_per_unit == per_unit
                assert pos.reward_max == accrued_units(pos.principal_units, per_unit, pos.term_days)
                held = self.uow.ledger.transfer(reservation_id(pos.id))
                assert held is not None
                assert held.amount == pos.reward_max
                assert pos.vested_units == accrued_units(
                    pos.principal_units, per_unit, pos.accrued_days
                )
                if pos.status is Status.OPEN:
                    reserved += pos.reward_max
                    elapsed = days_elapsed(to_us(pos.started_at), clock.now_us(), pos.term_days)
                    assert pos.accrued_days <= elapsed
                elif pos.status is Status.MATURED:
                    assert pos.reward_units == pos.reward_max == pos.vested_units
                else:
                    assert pos.reward_units == pos.vested_units <= pos.reward_max
            budget = self.uow.ledger.balance(chart.mscp_budget().code)
            assert budget.pending_out == reserved
            assert budget.available >= 0
            principal_open = sum(
                p.principal_units
                for p in (positions.find(module_conn, i) for i in self.ids)
                if p is not None and p.status is Status.OPEN
            )
            try:
                locked = self.uow.ledger.balance(chart.locks_pi().code).posted
            except AccountNotFound:
                locked = 0
            assert locked == principal_open
            for line in self.uow.ledger.trial_balance():
                assert line.balanced, line

    run_state_machine_as_test(
        Positions,
        settings=settings(
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
