"""Each invariant of the simulator fails on the state it watches when that state is broken on
purpose, naming what differs (as tests/integration/check/test_database_checks.py does for the
SQL checks of ``msc check``), and holds on a recovered history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from settlement import chart
from settlement.checkout.model import CheckoutStatus, LegStatus
from settlement.simulation import invariants
from settlement.simulation.engine import MONTH, Simulation
from settlement.simulation.world import Message, Payment
from settlement.tenders import Tender

SEED = 4
STEPS = 150


@pytest.fixture
def recovered() -> Simulation:
    sim = Simulation(SEED, STEPS)
    assert sim.run().failure is None
    return sim


def _released(sim: Simulation) -> str:
    return next(c.id for c in sim.db.checkouts.values() if c.status is CheckoutStatus.RELEASED)


def _unbalance(sim: Simulation) -> None:
    sim.db.ledger._accounts[chart.platform_fee("IDR").code].credits_posted += 1


def _unhold(sim: Simulation) -> None:
    """A released checkout read as paid again: its legs are no longer held."""
    cid = _released(sim)
    co = sim.db.checkouts[cid]
    legs = tuple(replace(leg, status=LegStatus.PAID) for leg in co.legs)
    sim.db.checkouts[cid] = replace(co, status=CheckoutStatus.PAID, legs=legs)


def _forget_booking(sim: Simulation) -> None:
    pid = next(p for p, _ in sim.db.booked.items() if sim.rails.payments[p].tender is Tender.PI)
    del sim.db.booked[pid]


def _gateway_payment(sim: Simulation) -> None:
    some = next(iter(sim.rails.payments.values()))
    sim.db.booked["pay-x"] = some.leg_reference
    sim.rails.payments["pay-x"] = Payment("pay-x", Tender.QRIS, some.checkout_id,
                                          some.leg_reference, 5, None)  # fmt: skip


def _never_told(sim: Simulation) -> None:
    some = next(iter(sim.rails.payments.values()))
    sim.rails.payments["pay-y"] = replace(some, id="pay-y")


def _sent_twice(sim: Simulation) -> None:
    key = next(iter(sim.rails.landings))
    sim.rails.landings[key] += 1


def _stuck(sim: Simulation) -> None:
    sim.db.outbox[("pi.complete", "pay-z")] = Message("pi.complete", "pay-z")


def _accepted_not_done(sim: Simulation) -> None:
    cid = next(c.id for c in sim.db.checkouts.values() if c.status is not CheckoutStatus.REFUNDED)
    sim.accepted.append(("refund", cid))


def _merchant_short(sim: Simulation) -> None:
    cid = _released(sim)
    co = sim.db.checkouts[cid]
    legs = tuple(replace(leg, amount_units=leg.amount_units + 10**6) for leg in co.legs)
    sim.db.checkouts[cid] = replace(co, legs=legs)


def _bank_paid_twice(sim: Simulation) -> None:
    sim.rails.bank_paid[next(iter(sim.rails.bank_paid))] += 1


def _bank_never_paid(sim: Simulation) -> None:
    sim.rails.bank_paid.clear()


def _month_grew(sim: Simulation) -> None:
    sim.db.closed[MONTH] -= 1


BROKEN: list[tuple[Callable[[Simulation], None], str]] = [
    (_unbalance, "double_entry"),
    (_unhold, "escrow_holds"),
    (_forget_booking, "pi_custody"),
    (_gateway_payment, "qris_clearing"),
    (_never_told, "payments_booked_once"),
    (_sent_twice, "a2u_once"),
    (_stuck, "nothing_stuck"),
    (_accepted_not_done, "accepted_effects"),
    (_merchant_short, "merchant_paid_once"),
    (_month_grew, "closed_periods"),
    (_bank_paid_twice, "payout_holds"),
    (_bank_never_paid, "payouts_once"),
]


def _results(sim: Simulation) -> dict[str, bool]:
    return {r.name: r.failed for r in (check(sim.db, sim.rails) for check in sim._final_checks())}


def test_every_check_holds_on_a_recovered_history(recovered: Simulation) -> None:
    assert not any(_results(recovered).values())
    assert len(_results(recovered)) == len(recovered.step_checks) + 8
    assert MONTH in recovered.db.closed
    assert recovered.db.batches
    assert all(batch.confirmed for batch in recovered.db.batches.values())


@pytest.mark.parametrize(("breaks", "name"), BROKEN, ids=[name for _, name in BROKEN])
def test_a_broken_state_fails_the_check_that_watches_it(
    recovered: Simulation, breaks: Callable[[Simulation], None], name: str
) -> None:
    breaks(recovered)
    failed = {check for check, bad in _results(recovered).items() if bad}
    assert name in failed
