"""A retried payout cut keeps the batch its first, committed, attempt cut, even once the bank
confirmed it and more is owed: found by a long ``msc-sim`` run (seeds 1460, 1594, ... of 300
steps: ``payout hold refused: exists_with_different_fields``), before the fix the retry cut a
second batch under the same id."""

from __future__ import annotations

import pytest

from escrow.model import TransferRequest, transfer_id
from settlement import chart
from settlement.chart import TransferCode
from settlement.simulation.engine import Failed, Simulation, Step
from settlement.simulation.faults import Boundary, Fault
from settlement.simulation.world import MERCHANT


def _owe_merchant(sim: Simulation, units: int, key: str) -> None:
    result = sim.db.ledger.post(
        TransferRequest(
            transfer_id("test.owed", key),
            chart.qris_clearing().code,
            chart.merchant_balance(MERCHANT, "IDR").code,
            units,
            "IDR",
            TransferCode.QRIS_RECEIVED,
        )
    )
    assert result.ok


def _cross(gen: Step, faults: list[Fault | None]) -> None:
    """Drive a job: each boundary it yields gets the next fault."""
    assert next(gen) in set(Boundary)
    for fault in faults[:-1]:
        gen.send(fault)
    with pytest.raises(StopIteration):
        gen.send(faults[-1])


def test_a_cut_retried_after_its_batch_was_confirmed_cuts_nothing_more() -> None:
    sim = Simulation(5, 0)
    sim.injector.enabled = False
    _owe_merchant(sim, 1000, "first")
    sim._cut()
    cut = sim.jobs.pop()
    gen = cut.start()
    assert next(gen) is Boundary.COMMIT
    with pytest.raises(Failed):
        gen.send(Fault.TIMEOUT)  # committed; the answer lost, so the caller will retry
    (batch_id,) = sim.db.batches
    sim._bank_takes(batch_id)
    _cross(sim.jobs.pop().start(), [None, None])  # the bank's confirmation, taken
    assert sim.db.batches[batch_id].confirmed
    _owe_merchant(sim, 250, "second")

    _cross(cut.start(), [None])  # the retry

    assert list(sim.db.batches) == [batch_id]
    assert sim.db.batches[batch_id].lines[0].amount_units == 1000
    sim._cut()
    _cross(sim.jobs.pop().start(), [None])  # the next cut takes what is owed since
    assert [b.lines[0].amount_units for b in sim.db.batches.values()] == [1000, 250]
