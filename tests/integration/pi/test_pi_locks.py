"""Lock-and-earn end to end on PostgreSQL with the Pi sandbox (decision 0029): the lock's U2A
payment verified on chain opens the position with its maximum reward reserved (one pending
transfer), the daily job accrues it, maturity posts the reward and pays the principal back by
A2U (the outbox drained to a completed payout); an early unlock posts the vested part and voids
the rest; a budget that cannot cover the reward refuses the position, refunds the Pi by A2U and
posts nothing else."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection, text

from escrow.errors import AccountNotFound
from escrow.ledger import Ledger
from escrow.model import TransferFlags
from settlement import chart, parameters
from settlement.conversions import conversion as conversions
from settlement.locks import positions
from settlement.locks.accrual import accrue_positions
from settlement.locks.closing import mature_due, unlock
from settlement.locks.opening import OUTBOX_PRINCIPAL, reservation_id
from settlement.locks.payouts import pay_principal
from settlement.mscp import lots
from settlement.outbox import OutboxMessage
from settlement.pi import a2u, u2a
from settlement.rates.panel import RatePanel
from settlement.unit_of_work import UnitOfWork, bind
from tests.integration.pi.conftest import PiWorld
from tests.support.conversions import MovableSource, fund_reserve
from tests.support.locks import offer

pytestmark = pytest.mark.integration
HUNDRED_PI = 100 * 10**7
RATE = "0.05"
"""MSCP per Pi per day: 100 Pi for 30 days earn 150 points."""
WALLET_FEES_UNITS = 10 * 10**7
"""Pi in the app wallet beyond the locked principal: the network fees of the payouts."""


def _posted(conn: Connection, code: str) -> int:
    try:
        return Ledger(conn).balance(code).posted
    except AccountNotFound:
        return 0


def _lock_and_pay(
    uow: UnitOfWork, world: PiWorld, name: str, term: int = 30
) -> tuple[positions.Position, str]:
    pioneer = world.driver.add_pioneer(name, "1000")
    pos = positions.create(
        uow, uid=pioneer.uid, term_days=term, principal_units=HUNDRED_PI, action="a2u",
        key=uuid.uuid4().hex,
    )  # fmt: skip
    view = pos.view()
    pid = world.driver.create_payment(
        pioneer, view["payment"]["amount"], view["payment"]["memo"], view["payment"]["metadata"]
    )
    u2a.approve(uow, world.deps, pid, pioneer.uid)
    txid = str(world.driver.pay(pid)["txid"])
    u2a.complete(uow, world.deps, pid, txid, pioneer.uid)
    return pos, pid


def _drain(conn: Connection, world: PiWorld) -> list[tuple[str, int, str]]:
    """Run the locks' outbox messages and every A2U payout they request to its end; the payouts
    (key, amount, status)."""
    rows = conn.execute(
        text("SELECT id, kind, key, payload FROM outbox WHERE kind = :k ORDER BY id"),
        {"k": OUTBOX_PRINCIPAL},
    ).all()
    deps = world.deps
    world.sandbox.chain.fund(world.app.public_key, WALLET_FEES_UNITS)
    for row in rows:
        message = OutboxMessage(row.id, row.kind, row.key, dict(row.payload), 0)
        pay_principal(deps)(conn, message)
        pay_principal(deps)(conn, message)  # a duplicated message: the same payout
    payouts = conn.execute(text("SELECT id FROM pi_payouts ORDER BY key")).all()
    for payout in payouts:
        for _ in range(10):
            if a2u.advance(bind(conn, deps.clock), deps, payout.id) in ("completed", "failed"):
                break
    done = conn.execute(text("SELECT key, amount_units, status FROM pi_payouts ORDER BY key"))
    return [(r.key, int(r.amount_units), str(r.status)) for r in done]


def test_lock_accrue_mature_and_principal_paid_back(db_conn: Connection, pi_world: PiWorld) -> None:
    uow = bind(db_conn, pi_world.clock)
    offer(uow, {30: RATE}, budget=1_000)
    pos, pid = _lock_and_pay(uow, pi_world, "ani")
    opened = positions.find(db_conn, pos.id)
    assert opened is not None
    assert opened.status is positions.LockStatus.OPEN
    assert (opened.reward_max, opened.payment_id) == (150, pid)
    reservation = Ledger(db_conn).transfer(reservation_id(pos.id))
    assert reservation is not None
    assert reservation.flags & TransferFlags.PENDING
    assert reservation.amount == 150
    budget = Ledger(db_conn).balance(chart.mscp_budget().code)
    assert (budget.posted, budget.pending_out, budget.available) == (1_000, 150, 850)
    assert positions.commitments(db_conn) == {"open_positions": 1, "reserved": 150, "vested": 0}
    assert _posted(db_conn, chart.locks_pi().code) == HUNDRED_PI

    pi_world.clock.now += 10 * 86_400
    accrue_positions(db_conn, pi_world.clock.now_us(), [pos.id])
    accrue_positions(db_conn, pi_world.clock.now_us(), [pos.id])  # a rerun changes nothing
    ten = positions.find(db_conn, pos.id)
    assert ten is not None
    assert (ten.accrued_days, ten.vested_units) == (10, 50)
    assert _posted(db_conn, chart.pioneer_balance(pos.uid, "MSCP").code) == 0  # vested, held

    pi_world.clock.now += 20 * 86_400
    assert mature_due(uow) == 1
    assert mature_due(uow) == 0
    matured = positions.find(db_conn, pos.id)
    assert matured is not None
    assert (matured.status, matured.reward_units, matured.vested_units) == (
        positions.LockStatus.MATURED, 150, 150,
    )  # fmt: skip
    assert _posted(db_conn, chart.pioneer_balance(pos.uid, "MSCP").code) == 150
    budget = Ledger(db_conn).balance(chart.mscp_budget().code)
    assert (budget.posted, budget.pending_out) == (850, 0)
    assert [(lot.source, lot.remaining) for lot in lots.held(uow, pos.uid)] == [("staking", 150)]
    assert _posted(db_conn, chart.locks_pi().code) == 0
    assert _posted(db_conn, chart.pioneer_pi(pos.uid).code) == HUNDRED_PI
    assert _drain(db_conn, pi_world) == [(f"lock:{pos.id}", HUNDRED_PI, "completed")]
    assert _posted(db_conn, chart.pioneer_pi(pos.uid).code) == 0
    for line in Ledger(db_conn).trial_balance():
        assert line.balanced, line


def test_early_unlock_posts_the_vested_part_and_applies_the_penalty(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    uow = bind(db_conn, pi_world.clock)
    offer(uow, {60: RATE}, budget=1_000)
    parameters.set_(uow, parameters.LOCK_PENALTY_BP, 200, "test")  # 2 % of the principal
    pos, _ = _lock_and_pay(uow, pi_world, "budi", term=60)
    pi_world.clock.now += 7 * 86_400 + 3600
    closed = unlock(uow, pos.id, pos.uid)
    assert closed.status is positions.LockStatus.UNLOCKED
    assert (closed.reward_units, closed.penalty_units) == (35, 2 * 10**7)
    assert _posted(db_conn, chart.pioneer_balance(pos.uid, "MSCP").code) == 35
    budget = Ledger(db_conn).balance(chart.mscp_budget().code)
    assert (budget.posted, budget.pending_out) == (1_000 - 35, 0)
    assert _posted(db_conn, chart.lock_penalties().code) == 2 * 10**7
    with pytest.raises(positions.LockRefused) as again:
        unlock(uow, pos.id, pos.uid)
    assert again.value.code == "lock_not_open"
    assert _drain(db_conn, pi_world) == [(f"lock:{pos.id}", 98 * 10**7, "completed")]


def test_a_budget_spent_before_the_payment_refuses_the_lock_and_refunds_the_pi(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    uow = bind(db_conn, pi_world.clock)
    offer(uow, {30: RATE}, budget=200)
    first = positions.create(
        uow, uid="someone", term_days=30, principal_units=HUNDRED_PI, action="a2u", key="k"
    )
    assert first.reward_max == 150
    pioneer = pi_world.driver.add_pioneer("citra", "1000")
    pos = positions.create(
        uow, uid=pioneer.uid, term_days=30, principal_units=HUNDRED_PI, action="a2u", key="k2"
    )
    view = pos.view()["payment"]
    pid = pi_world.driver.create_payment(pioneer, view["amount"], view["memo"], view["metadata"])
    u2a.approve(uow, pi_world.deps, pid, pioneer.uid)
    other, _ = _lock_and_pay(uow, pi_world, "dewi")  # takes 150 of the 200 first
    before = db_conn.execute(text("SELECT count(*) FROM transfers")).scalar_one()
    txid = str(pi_world.driver.pay(pid)["txid"])
    u2a.complete(uow, pi_world.deps, pid, txid, pioneer.uid)
    refused = positions.find(db_conn, pos.id)
    assert refused is not None
    assert (refused.status, refused.refusal_code) == (
        positions.LockStatus.REFUSED, "lock_budget_exhausted",
    )  # fmt: skip
    after = db_conn.execute(text("SELECT code FROM transfers ORDER BY ts")).all()
    assert [r.code for r in after[before:]] == ["pi.received", "lock.refund"]  # nothing else
    assert Ledger(db_conn).transfer(reservation_id(pos.id)) is None
    budget = Ledger(db_conn).balance(chart.mscp_budget().code)
    assert (budget.posted, budget.pending_out) == (200, 150)
    assert _drain(db_conn, pi_world) == [(f"lock:{pos.id}", HUNDRED_PI, "completed")]
    opened = positions.find(db_conn, other.id)
    assert opened is not None
    assert opened.status is positions.LockStatus.OPEN


def test_asking_for_a_lock_the_budget_cannot_cover_writes_nothing(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    uow = bind(db_conn, pi_world.clock)
    offer(uow, {30: RATE}, budget=149)

    def written() -> tuple[int, ...]:
        return tuple(
            int(db_conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
            for t in ("lock_positions", "pi_expectations", "transfers", "outbox")
        )

    before = written()
    for term, code in ((30, "lock_budget_exhausted"), (90, "lock_term_not_offered")):
        with pytest.raises(positions.LockRefused) as refused:
            positions.create(
                uow, uid="eka", term_days=term, principal_units=HUNDRED_PI, action="a2u", key="x"
            )
        assert refused.value.code == code
    assert written() == before


def test_a_lock_set_to_convert_becomes_msc_at_maturity(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    uow = bind(db_conn, pi_world.clock)
    offer(uow, {30: RATE}, budget=1_000)
    fund_reserve(uow, 10**10)
    pos, _ = _lock_and_pay(uow, pi_world, "fajar")
    positions.set_maturity_action(uow, pos.id, pos.uid, "convert")
    panel = RatePanel((MovableSource(pi_world.clock, 500_000),))
    pi_world.clock.now += 30 * 86_400
    assert mature_due(uow, panel=panel) == 1
    converted = conversions.page(db_conn, uid=pos.uid)
    assert [c.status for c in converted] == [conversions.ConversionStatus.CONVERTED]
    assert converted[0].sell_units == HUNDRED_PI
    msc = _posted(db_conn, chart.pioneer_balance(pos.uid, "MSC").code)
    assert msc == converted[0].converted_units == 495_000_00  # 100 Pi at Rp 5,000 less 1 %
    assert _posted(db_conn, chart.locks_pi().code) == 0
    assert _posted(db_conn, chart.conversions_pi().code) == 0
    assert _posted(db_conn, chart.pioneer_balance(pos.uid, "MSCP").code) == 150
    assert _drain(db_conn, pi_world) == []  # no A2U: the principal is MSC now
    with pytest.raises(positions.LockRefused) as closed:
        positions.set_maturity_action(uow, pos.id, pos.uid, "a2u")
    assert closed.value.code == "lock_not_open"


def test_a_conversion_that_cannot_be_made_pays_the_principal_back(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    uow = bind(db_conn, pi_world.clock)
    offer(uow, {30: RATE}, budget=1_000)
    pos, _ = _lock_and_pay(uow, pi_world, "gita")
    positions.set_maturity_action(uow, pos.id, pos.uid, "convert")
    panel = RatePanel((MovableSource(pi_world.clock, None),))  # no rate to quote at
    pi_world.clock.now += 30 * 86_400
    assert mature_due(uow, panel=panel) == 1
    assert conversions.page(db_conn, uid=pos.uid) == []
    assert _drain(db_conn, pi_world) == [(f"lock:{pos.id}", HUNDRED_PI, "completed")]
