"""Property: total MSCP issued never exceeds the points budget (decision 0029).

Across random fundings, onboarding bonuses, data dividends, locks opened (their maximum reward
reserved), time passing with the daily job, early unlocks, maturities and expiries on
PostgreSQL: what the Pioneers hold, what they were promised (pending reservations) and what
expired never exceed what the treasury funded, the budget never goes below zero, a refused
issuance or lock writes nothing, and the ledger balances.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey
from sqlalchemy import Connection, text

from escrow.clock import FixedClock
from escrow.errors import AccountNotFound
from escrow.refusals import Refusal
from settlement import chart, parameters
from settlement.locks import positions
from settlement.locks.accrual import accrue_chunk
from settlement.locks.closing import mature_due, unlock
from settlement.mscp import bonuses, dividend, expiry
from settlement.points import fund_budget
from settlement.unit_of_work import UnitOfWork, bind
from tests.support.locks import offer, receive

pytestmark = pytest.mark.integration
UIDS = ("p-ani", "p-budi", "p-citra")
SEED = "33" * 32


@dataclass(frozen=True)
class Fund:
    points: int


@dataclass(frozen=True)
class Bonus:
    uid: int


@dataclass(frozen=True)
class Dividend:
    points: tuple[int, ...]


@dataclass(frozen=True)
class Lock:
    uid: int
    term: int
    pi: int


@dataclass(frozen=True)
class Wait:
    days: int


@dataclass(frozen=True)
class Unlock:
    index: int


steps = st.one_of(
    st.builds(Fund, st.integers(1, 5_000)),
    st.builds(Bonus, st.integers(0, 2)),
    st.builds(Dividend, st.lists(st.integers(1, 800), min_size=1, max_size=3).map(tuple)),
    st.builds(Lock, st.integers(0, 2), st.sampled_from([30, 60, 90]), st.integers(1, 2_000)),
    st.builds(Wait, st.integers(1, 40)),
    st.builds(Unlock, st.integers(0, 20)),
)


def _posted(uow: UnitOfWork, code: str) -> int:
    try:
        return uow.ledger.balance(code).posted
    except AccountNotFound:
        return 0


def _written(conn: Connection) -> tuple[int, ...]:
    return tuple(
        int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
        for t in ("transfers", "mscp_lots", "lock_positions", "pi_expectations")
    )


def check(uow: UnitOfWork, funded: int) -> None:
    for line in uow.ledger.trial_balance():
        assert line.balanced, line
    try:
        budget = uow.ledger.balance(chart.mscp_budget().code)
    except AccountNotFound:
        assert funded == 0
        return
    assert budget.available >= 0
    held = promised = 0
    for uid in UIDS:
        try:
            points = uow.ledger.balance(chart.pioneer_balance(uid, "MSCP").code)
        except AccountNotFound:
            continue
        held += points.posted
        promised += points.pending_in
    expired = _posted(uow, chart.mscp_breakage().code)
    assert held + promised + expired == funded - budget.available
    assert held + promised + expired <= funded
    assert promised == budget.pending_out


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(steps, min_size=1, max_size=15))
def test_issued_and_promised_points_never_exceed_the_budget(
    module_conn: Connection, clock: FixedClock, plan: list[object]
) -> None:
    savepoint = module_conn.begin_nested()
    try:
        uow = bind(module_conn, clock)
        offer(uow, {30: "0.5", 60: "0.75", 90: "1"})
        parameters.set_(uow, parameters.MSCP_ONBOARDING_BONUS, 300, "prop")
        parameters.set_(uow, parameters.MSCP_EXPIRY_DAYS, 45, "prop")
        parameters.set_(uow, parameters.LOCK_PENALTY_BP, 100, "prop")
        public = SigningKey(bytes.fromhex(SEED)).verify_key.encode().hex()
        parameters.set_(uow, parameters.DATA_TEAM_KEYS, {"k": public}, "prop")
        funded = 0
        opened: list[positions.Position] = []
        for step in plan:
            before = _written(module_conn)
            try:
                with module_conn.begin_nested():
                    if isinstance(step, Fund):
                        fund_budget(uow, step.points, by="prop", key=uuid.uuid4().hex)
                        funded += step.points
                    elif isinstance(step, Bonus):
                        bonuses.onboarding(uow, UIDS[step.uid])
                    elif isinstance(step, Dividend):
                        batch = {
                            "batch_id": uuid.uuid4().hex[:16],
                            "month": "2026-11",
                            "lines": [
                                {"uid": UIDS[n], "points": p} for n, p in enumerate(step.points)
                            ],
                        }
                        raw = json.dumps(dividend.sign(batch, "k", SEED)).encode()
                        dividend.accept(uow, raw, "prop")
                    elif isinstance(step, Lock):
                        pos = positions.create(
                            uow, uid=UIDS[step.uid], term_days=step.term,
                            principal_units=step.pi * 10**7, action="a2u", key=uuid.uuid4().hex,
                        )  # fmt: skip
                        receive(uow, pos)
                        opened.append(pos)
                    elif isinstance(step, Wait):
                        clock.advance(step.days * 86_400)
                        accrue_chunk(module_conn, clock.now_us())
                        mature_due(uow)
                        expiry.expire_due(uow)
                    elif isinstance(step, Unlock) and opened:
                        pos = opened[step.index % len(opened)]
                        unlock(uow, pos.id, pos.uid)
                event(f"{type(step).__name__}: done")
            except Refusal as refused:
                event(f"{type(step).__name__}: {refused.code}")
                assert _written(module_conn) == before
            check(uow, funded)
    finally:
        savepoint.rollback()
