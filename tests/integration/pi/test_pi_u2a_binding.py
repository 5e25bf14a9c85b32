"""Two first approvals of one payment, each naming another expectation, at the same time.

The second waits for the first (the payment's lock), then sees the binding and refuses with
`pi_expectation_mismatch`; without the lock both would find the payment unbound and the second
would die on the unique index of `pi_expectations.payment_id`.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import replace

import pytest
from sqlalchemy import Engine, text

from settlement.pi import u2a
from settlement.pi.errors import PiRefusal
from settlement.pi.expectations import Expectation, create_expectation, metadata_for
from settlement.unit_of_work import bind
from tests.integration.pi.conftest import PiWorld

pytestmark = pytest.mark.integration
wait_s = 0.5


def expect(engine: Engine, world: PiWorld) -> Expectation:
    with engine.begin() as conn:
        return create_expectation(
            bind(conn, world.deps.clock),
            purpose="test",
            amount_units=10_000_000,
            credit_account=f"pioneer:{uuid.uuid4().hex[:12]}:PI",
        )


def test_concurrent_first_approvals_naming_two_expectations(
    db_engine: Engine, pi_world: PiWorld
) -> None:
    first, other = expect(db_engine, pi_world), expect(db_engine, pi_world)
    pioneer = pi_world.driver.add_pioneer("ani", "100")
    pid = pi_world.driver.create_payment(pioneer, "1", "test", metadata_for(first))
    outcome: list[BaseException | str] = []

    def second_approval() -> None:
        try:
            with db_engine.begin() as conn:
                outcome.append(
                    u2a.approve(bind(conn, pi_world.deps.clock), pi_world.deps, pid, None).status
                )
        except BaseException as error:
            outcome.append(error)

    with db_engine.connect() as holder:
        with holder.begin():
            u2a.approve(bind(holder, pi_world.deps.clock), pi_world.deps, pid, None)
            pi_world.sandbox.platform.payments[pid]["metadata"] = metadata_for(other)
            racer = threading.Thread(target=second_approval)
            racer.start()
            time.sleep(wait_s)
            assert outcome == []  # it waits for the first approval's transaction
        racer.join(timeout=10)
    assert len(outcome) == 1
    assert isinstance(outcome[0], PiRefusal), outcome
    assert outcome[0].code == "pi_expectation_mismatch"
    with db_engine.connect() as conn:
        bound = conn.execute(
            text("SELECT expectation_id FROM pi_payments WHERE payment_id = :pid"), {"pid": pid}
        ).scalar_one()
        unbound = conn.execute(
            text("SELECT status FROM pi_expectations WHERE id = :id"), {"id": other.id}
        ).scalar_one()
    assert (bound, unbound) == (first.id, "open")


class _LockProbe:
    """The chain, and at each look-up a try, from another connection, at the locks that
    completion takes: the payment's row and the txid's advisory lock."""

    def __init__(self, inner: object, engine: Engine, payment_id: str, txid: str) -> None:
        self._inner, self._engine = inner, engine
        self._payment_id, self._txid = payment_id, txid
        self.free: list[bool] = []

    def transaction(self, txid: str) -> object:
        with self._engine.connect() as other, other.begin():
            row = other.execute(
                text(
                    "SELECT 1 FROM pi_payments WHERE payment_id = :payment_id"
                    " FOR UPDATE SKIP LOCKED"
                ),
                {"payment_id": self._payment_id},
            ).first()
            advisory = other.execute(
                text("SELECT pg_try_advisory_xact_lock(hashtextextended(:txid, 7305002))"),
                {"txid": self._txid},
            ).scalar_one()
        self.free.append(row is not None and bool(advisory))
        return self._inner.transaction(txid)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def test_complete_asks_horizon_before_it_locks(db_engine: Engine, pi_world: PiWorld) -> None:
    exp = expect(db_engine, pi_world)
    pioneer = pi_world.driver.add_pioneer("ani", "100")
    payment_id = pi_world.driver.create_payment(pioneer, "1", "test", metadata_for(exp))
    with db_engine.begin() as conn:
        u2a.approve(bind(conn, pi_world.deps.clock), pi_world.deps, payment_id, pioneer.uid)
    txid = str(pi_world.driver.pay(payment_id)["txid"])
    probe = _LockProbe(pi_world.deps.chain, db_engine, payment_id, txid)
    deps = replace(pi_world.deps, chain=probe)  # type: ignore[arg-type]
    with db_engine.begin() as conn:
        outcome = u2a.complete(bind(conn, deps.clock), deps, payment_id, txid, pioneer.uid)
    assert outcome.status == "credited"
    assert probe.free == [True]  # Horizon was asked while nothing was locked
