"""Each invariant of the simulator fails on the state it watches when that state is broken on
purpose, naming what differs (as tests/integration/check/test_database_checks.py does for the
SQL checks of ``msc check``), and holds on a recovered history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from escrow.model import TransferRequest, transfer_id
from settlement import chart
from settlement.audit.proposal import sign
from settlement.chart import TransferCode
from settlement.checkout.model import CheckoutStatus, LegStatus
from settlement.conversions.conversion import ConversionStatus
from settlement.locks.closing import principal_transfer_id
from settlement.locks.positions import LockStatus
from settlement.simulation.engine import MONTH, Simulation
from settlement.simulation.world import PIONEER, Message, Payment
from settlement.tenders import Tender

SEED = 21
"""A history with every kind in it: conversions converted and refunded, locks matured and
unlocked, withdrawals minted, a proposal executed, checkouts released, payouts paid."""
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


def _converted(sim: Simulation) -> str:
    return next(
        ref for ref, c in sim.db.conversions.items() if c.status is ConversionStatus.CONVERTED
    )


def _msc_credited_twice(sim: Simulation) -> None:
    """A conversion's MSC credited again under another id."""
    conv = sim.db.conversions[_converted(sim)]
    result = sim.db.ledger.post(
        TransferRequest(
            transfer_id("test.again", conv.reference),
            chart.exchange("MSC").code,
            chart.pioneer_balance(PIONEER, "MSC").code,
            conv.buy_units,
            "MSC",
            TransferCode.CONVERSION_EXCHANGE,
        )
    )
    assert result.ok


def _conversion_undecided(sim: Simulation) -> None:
    ref = _converted(sim)
    sim.db.conversions[ref] = replace(sim.db.conversions[ref], status=ConversionStatus.QUOTED)


def _minted_twice(sim: Simulation) -> None:
    sim.rails.minted[next(iter(sim.db.withdrawals))] += 1


def _mint_lost(sim: Simulation) -> None:
    """A withdrawal recorded minted that the token never minted."""
    del sim.rails.minted[next(iter(sim.db.withdrawals))]


def _withdrawal_never_minted(sim: Simulation) -> None:
    key = next(iter(sim.db.withdrawals))
    sim.db.withdrawals[key] = replace(sim.db.withdrawals[key], minted=False)
    del sim.rails.minted[key]


def _matured(sim: Simulation) -> str:
    return next(r for r, p in sim.db.positions.items() if p.status is LockStatus.MATURED)


def _lock_reopened(sim: Simulation) -> None:
    """A matured lock read as open again: its reservation was resolved."""
    ref = _matured(sim)
    sim.db.positions[ref] = replace(sim.db.positions[ref], status=LockStatus.OPEN)


def _reward_short(sim: Simulation) -> None:
    ref = _matured(sim)
    pos = sim.db.positions[ref]
    sim.db.positions[ref] = replace(pos, reward_units=(pos.reward_units or 0) + 1)


def _principal_sent_twice(sim: Simulation) -> None:
    pos = sim.db.positions[_matured(sim)]
    sim.rails.landings[str(principal_transfer_id(pos.id))] += 1


def _executed_twice(sim: Simulation) -> None:
    sim.db.executed.append(sim.db.executed[0])


def _executed_unsigned(sim: Simulation) -> None:
    sim.db.signatures[sim.db.executed[0]] = ()


def _signed_other_bytes(sim: Simulation) -> None:
    """The officers' signatures on an executed proposal are over another proposal's bytes."""
    pid = sim.db.executed[0]
    other = replace(sim.db.proposals[pid], nonce=99)
    sim.db.signatures[pid] = tuple(sign(other, key) for key in sim.board.keys)


def _execution_not_done(sim: Simulation) -> None:
    sim.accepted.append(("execute", "key-never"))


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
    (_msc_credited_twice, "conversions_once"),
    (_conversion_undecided, "conversions_once"),
    (_minted_twice, "msc_onchain"),
    (_mint_lost, "msc_onchain"),
    (_withdrawal_never_minted, "nothing_stuck"),
    (_lock_reopened, "lock_reservations"),
    (_lock_reopened, "lock_principals"),
    (_lock_reopened, "nothing_stuck"),
    (_reward_short, "lock_principals"),
    (_principal_sent_twice, "a2u_once"),
    (_executed_twice, "proposals_once"),
    (_executed_unsigned, "proposals_once"),
    (_signed_other_bytes, "proposals_signed"),
    (_execution_not_done, "accepted_effects"),
]


def _results(sim: Simulation) -> dict[str, bool]:
    return {r.name: r.failed for r in (check(sim.db, sim.rails) for check in sim._final_checks())}


def test_every_check_holds_on_a_recovered_history(recovered: Simulation) -> None:
    assert not any(_results(recovered).values())
    assert len(_results(recovered)) == len(recovered.step_checks) + 8
    assert MONTH in recovered.db.closed
    assert recovered.db.batches
    assert all(batch.confirmed for batch in recovered.db.batches.values())
    assert recovered.db.executed
    assert recovered.db.withdrawals


def test_a_forged_signature_fails_only_the_check_that_verifies(recovered: Simulation) -> None:
    """The step check counts distinct officers; only the final one verifies the bytes."""
    _signed_other_bytes(recovered)
    failed = {check for check, bad in _results(recovered).items() if bad}
    assert failed == {"proposals_signed"}


@pytest.mark.parametrize(
    ("breaks", "name"), BROKEN, ids=[f"{name}-{breaks.__name__[1:]}" for breaks, name in BROKEN]
)
def test_a_broken_state_fails_the_check_that_watches_it(
    recovered: Simulation, breaks: Callable[[Simulation], None], name: str
) -> None:
    breaks(recovered)
    failed = {check for check, bad in _results(recovered).items() if bad}
    assert name in failed
