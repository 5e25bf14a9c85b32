"""Two locks asked for while the points budget covers each but not both: the first paid opens
with its reward reserved, the second paid is refused and its principal refunded by one A2U (the
simulator's path of ``locks/opening.py``'s refusal, which its seeds reach only now and then)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from settlement.locks.opening import refund_transfer_id
from settlement.locks.positions import LockStatus
from settlement.simulation import pioneer
from settlement.simulation.engine import OUTBOX_A2U, Simulation
from settlement.simulation.faults import Boundary
from settlement.simulation.world import LOCK, PIONEER, Payment, points_budget_units
from settlement.tenders import Tender


def _asked(sim: Simulation) -> None:
    pioneer.client_lock(sim)
    job = sim.jobs.pop()
    gen = job.start()
    assert next(gen) is Boundary.COMMIT
    with pytest.raises(StopIteration):
        gen.send(None)


def test_the_lock_paid_after_the_budget_was_spent_is_refused_and_refunded_once() -> None:
    sim = Simulation(3, 0)
    sim.injector.enabled = False
    _asked(sim)
    _asked(sim)
    reward = points_budget_units // 2 + 1  # each fits the budget alone, not both
    first, second = (replace(p, reward_max=reward) for p in sim.db.positions.values())
    for pos in (first, second):
        sim.db.positions[pos.reference] = pos

    payments = [
        Payment(f"pay-{n}", Tender.PI, p.reference, p.reference, p.principal_units, PIONEER, LOCK)
        for n, p in enumerate((first, second))
    ]
    for payment in (*payments, payments[1]):  # the second delivered twice
        sim.rails.payments[payment.id] = payment
        sim._book(payment)

    assert sim.db.positions[first.reference].status is LockStatus.OPEN
    assert sim.db.positions[second.reference].status is LockStatus.REFUSED
    refunds = [m for (kind, _), m in sim.db.outbox.items() if kind == OUTBOX_A2U]
    assert [(m.key, m.amount_units) for m in refunds] == [
        (str(refund_transfer_id(second.id)), second.principal_units)
    ]
    assert sim.db.ledger.transfer(refund_transfer_id(second.id)) is not None
    results = [check(sim.db, sim.rails) for check in sim.step_checks]
    assert [r.name for r in results if r.failed] == []
