"""A2U payouts: a crash before or after any outside call never loses nor doubles a payout."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Connection, text

from chain.pi.errors import PiTransientError
from chain.pi.sandbox.client import SandboxPioneer
from escrow.clock import Clock, SystemClock
from escrow.ledger import Ledger
from escrow.model import TransferFlags, TransferRequest
from settlement.outbox import OutboxMessage
from settlement.pi import a2u, handlers, recovery, u2a
from settlement.pi.accounts import CUSTODY, NETWORK_FEES
from settlement.pi.expectations import create_expectation, metadata_for
from settlement.pi.reconcile import reconcile
from settlement.unit_of_work import UnitOfWork, bind
from tests.integration.pi.conftest import EXPIRY_MARGIN_S, PiWorld

pytestmark = pytest.mark.integration
LIABILITY = "pioneer:a2u:PI"
PAYOUT_UNITS = 30_000_000
steps_max = 12


class Crash(Exception):
    """The process died here."""


class CrashAt:
    """Proxy that dies before or after the `target`-th call it forwards (counting all calls).

    `error` says how: `Crash` (the process dies) or an outage the caller is meant to survive.
    """

    def __init__(
        self,
        inner: object,
        counter: list[int],
        target: int,
        after: bool,
        error: Callable[[str], Exception] = Crash,
    ) -> None:
        self._inner, self._counter, self._target, self._after = inner, counter, target, after
        self._error = error

    def __getattr__(self, name: str) -> Callable[..., Any]:
        real = getattr(self._inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            index = self._counter[0]
            self._counter[0] += 1
            if index == self._target and not self._after:
                raise self._error(f"before {name}")
            result = real(*args, **kwargs)
            if index == self._target:
                raise self._error(f"after {name}")
            return result

        return call


def fund_custody(conn: Connection, world: PiWorld) -> SandboxPioneer:
    """A Pioneer pays 10 Pi in, so custody and the wallet both hold 10 Pi."""
    pioneer = world.driver.add_pioneer("ani", "20")
    exp = create_expectation(
        bind(conn, world.deps.clock),
        purpose="lock",
        amount_units=100_000_000,
        credit_account=LIABILITY,
    )
    pid = world.driver.create_payment(pioneer, "10", "lock", metadata_for(exp))
    u2a.approve(bind(conn, world.deps.clock), world.deps, pid, pioneer.uid)
    txid = str(world.driver.pay(pid)["txid"])
    u2a.complete(bind(conn, world.deps.clock), world.deps, pid, txid, pioneer.uid)
    world.deps.platform.complete(pid, txid)
    return pioneer


def run_to_end(conn: Connection, world: PiWorld, payout_id: uuid.UUID, deps: Any) -> str:
    status = ""
    for _ in range(steps_max):
        try:
            with conn.begin_nested():
                status = a2u.advance(bind(conn, deps.clock), deps, payout_id)
        except Crash:
            deps = world.deps  # the process restarts without the fault
            continue
        if status in ("completed", "failed"):
            break
    return status


def assert_exactly_one_payout(conn: Connection, world: PiWorld, pioneer: SandboxPioneer) -> None:
    payments = [
        p
        for p in world.sandbox.platform.payments.values()
        if p["user_uid"] == pioneer.uid and p["direction"] == "app_to_user"
    ]
    assert len(payments) == 1
    assert payments[0]["status"]["developer_completed"] is True  # type: ignore[index]
    from_app = [
        t
        for t in world.sandbox.chain.transactions.values()
        if t.record["source_account"] == world.app.public_key
    ]
    assert len(from_app) == 1
    assert from_app[0].record["memo"] == payments[0]["identifier"]
    assert world.sandbox.chain.accounts[pioneer.address].balance_units == 100_000_000 + PAYOUT_UNITS
    ledger = Ledger(conn)
    fee = ledger.balance(NETWORK_FEES).posted
    assert fee == 100_000
    assert ledger.balance(LIABILITY).posted == 100_000_000 - PAYOUT_UNITS
    assert ledger.balance(CUSTODY).posted == 100_000_000 - PAYOUT_UNITS - fee
    assert reconcile(bind(conn, world.deps.clock), world.deps).ok


@pytest.mark.parametrize("after", [False, True], ids=["before-call", "after-call"])
@pytest.mark.parametrize("target", range(9))
def test_crash_anywhere_then_resume(
    db_conn: Connection, pi_world: PiWorld, target: int, after: bool
) -> None:
    pioneer = fund_custody(db_conn, pi_world)
    received = pi_world.sandbox.chain.accounts[pioneer.address].balance_units
    pi_world.sandbox.chain.accounts[pioneer.address].balance_units = 100_000_000
    assert received > 0
    payout_id = a2u.request_payout(
        bind(db_conn, pi_world.deps.clock),
        pi_world.deps,
        key=f"refund:{target}:{after}",
        uid=pioneer.uid,
        amount_units=PAYOUT_UNITS,
        memo="refund",
        debit_account=LIABILITY,
    )
    counter = [0]
    crashing = replace(
        pi_world.deps,
        platform=CrashAt(pi_world.deps.platform, counter, target, after),
        chain=CrashAt(pi_world.deps.chain, counter, target, after),
    )
    assert run_to_end(db_conn, pi_world, payout_id, crashing) == "completed"
    assert_exactly_one_payout(db_conn, pi_world, pioneer)


def test_request_is_idempotent_by_key(db_conn: Connection, pi_world: PiWorld) -> None:
    pioneer = fund_custody(db_conn, pi_world)
    kwargs: dict[str, Any] = dict(
        key="refund:same",
        uid=pioneer.uid,
        amount_units=PAYOUT_UNITS,
        memo="r",
        debit_account=LIABILITY,
    )
    first = a2u.request_payout(bind(db_conn, pi_world.deps.clock), pi_world.deps, **kwargs)
    assert a2u.request_payout(bind(db_conn, pi_world.deps.clock), pi_world.deps, **kwargs) == first
    reserved = Ledger(db_conn).balance(CUSTODY).pending_out
    assert reserved == PAYOUT_UNITS


def test_submit_outage_resubmits_the_same_envelope(db_conn: Connection, pi_world: PiWorld) -> None:
    pioneer = fund_custody(db_conn, pi_world)
    payout_id = a2u.request_payout(
        bind(db_conn, pi_world.deps.clock),
        pi_world.deps,
        key="refund:outage",
        uid=pioneer.uid,
        amount_units=PAYOUT_UNITS,
        memo="r",
        debit_account=LIABILITY,
    )
    a2u.advance(bind(db_conn, pi_world.deps.clock), pi_world.deps, payout_id)
    a2u.advance(bind(db_conn, pi_world.deps.clock), pi_world.deps, payout_id)
    envelope = a2u.load(bind(db_conn, SystemClock()), payout_id).envelope_xdr
    pi_world.driver.arm_fault("horizon", "status_500", times=2, path_contains="/transactions")
    with pytest.raises(Exception, match="attempts"), db_conn.begin_nested():
        a2u.advance(bind(db_conn, pi_world.deps.clock), pi_world.deps, payout_id)
    assert a2u.load(bind(db_conn, SystemClock()), payout_id).envelope_xdr == envelope
    assert a2u.advance(bind(db_conn, pi_world.deps.clock), pi_world.deps, payout_id) == "confirmed"
    assert a2u.load(bind(db_conn, SystemClock()), payout_id).envelope_xdr == envelope


def test_failed_on_chain_releases_reservation_and_flags(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    pioneer = fund_custody(db_conn, pi_world)
    payout_id = a2u.request_payout(
        bind(db_conn, pi_world.deps.clock),
        pi_world.deps,
        key="refund:fails",
        uid=pioneer.uid,
        amount_units=PAYOUT_UNITS,
        memo="r",
        debit_account=LIABILITY,
    )
    pi_world.driver.fail_next_tx()
    assert run_to_end(db_conn, pi_world, payout_id, pi_world.deps) == "failed"
    ledger = Ledger(db_conn)
    assert ledger.balance(CUSTODY).pending_out == 0
    assert ledger.balance(LIABILITY).posted == 100_000_000
    flags = db_conn.execute(text("SELECT reason FROM pi_flags")).scalars().all()
    assert flags == ["a2u_failed"]


def test_failed_on_chain_books_the_fee_it_was_charged(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    pioneer = fund_custody(db_conn, pi_world)
    payout_id = a2u.request_payout(
        bind(db_conn, pi_world.deps.clock),
        pi_world.deps,
        key="refund:fails:fee",
        uid=pioneer.uid,
        amount_units=PAYOUT_UNITS,
        memo="r",
        debit_account=LIABILITY,
    )
    pi_world.driver.fail_next_tx()
    assert run_to_end(db_conn, pi_world, payout_id, pi_world.deps) == "failed"
    [failed] = [
        t
        for t in pi_world.sandbox.chain.transactions.values()
        if t.record["source_account"] == pi_world.app.public_key
    ]
    charged = int(str(failed.record["fee_charged"]))
    assert failed.record["successful"] is False
    assert charged > 0
    ledger = Ledger(db_conn)
    assert ledger.balance(NETWORK_FEES).posted == charged
    assert ledger.balance(CUSTODY).posted == 100_000_000 - charged
    assert reconcile(bind(db_conn, pi_world.deps.clock), pi_world.deps).ok


def test_a_void_the_ledger_refuses_still_ends_the_payout_and_frees_the_wallet(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    """`_fail` raised on a refused void: the payout stayed `signed`, retried until parked, and
    the one-in-flight index refused every later payout of the wallet."""
    pioneer = fund_custody(db_conn, pi_world)
    request = partial(
        a2u.request_payout, bind(db_conn, pi_world.deps.clock), pi_world.deps,
        uid=pioneer.uid, amount_units=PAYOUT_UNITS, memo="r", debit_account=LIABILITY,
    )  # fmt: skip
    payout_id = request(key="refund:void-refused")
    voided_by_hand = TransferRequest(
        id=uuid.uuid4(), debit="", credit="", amount=0, asset="PI", code="pi.payout",
        flags=TransferFlags.VOID_PENDING, pending_id=a2u.reservation_id(payout_id),
    )  # fmt: skip
    assert Ledger(db_conn).post(voided_by_hand).ok  # so the payout's own void is refused
    pi_world.driver.fail_next_tx()
    assert run_to_end(db_conn, pi_world, payout_id, pi_world.deps) == "failed"
    reasons = db_conn.execute(text("SELECT reason FROM pi_flags")).scalars().all()
    assert "a2u_void_refused" in reasons
    assert Ledger(db_conn).balance(NETWORK_FEES).posted > 0  # the fee the chain took
    assert run_to_end(db_conn, pi_world, request(key="refund:next"), pi_world.deps) == "completed"


def test_one_in_flight_per_wallet(db_conn: Connection, pi_world: PiWorld) -> None:
    pioneer = fund_custody(db_conn, pi_world)
    other = pi_world.driver.add_pioneer("budi", "0")
    ids = [
        a2u.request_payout(
            bind(db_conn, pi_world.deps.clock),
            pi_world.deps,
            key=f"refund:{n}",
            uid=who.uid,
            amount_units=1_000_000,
            memo="r",
            debit_account=LIABILITY,
        )
        for n, who in enumerate((pioneer, other))
    ]
    for payout_id in ids:
        a2u.advance(bind(db_conn, pi_world.deps.clock), pi_world.deps, payout_id)
    assert a2u.advance(bind(db_conn, pi_world.deps.clock), pi_world.deps, ids[0]) == "signed"
    with pytest.raises(a2u.PayoutBusy):
        a2u.advance(bind(db_conn, pi_world.deps.clock), pi_world.deps, ids[1])
    assert a2u.advance(bind(db_conn, pi_world.deps.clock), pi_world.deps, ids[0]) == "confirmed"
    assert a2u.advance(bind(db_conn, pi_world.deps.clock), pi_world.deps, ids[1]) == "signed"


def run_outbox(conn: Connection, deps: Any, payout_id: uuid.UUID, messages_max: int) -> None:
    """The worker: each pending step message of this payout in its own committed transaction."""
    handle = handlers.advance_a2u(deps)
    for _ in range(messages_max):
        row = conn.execute(
            text(
                "SELECT id, kind, key, payload, attempts FROM outbox WHERE kind = :kind"
                " AND status = 'pending' AND payload->>'payout_id' = :payout ORDER BY id LIMIT 1"
            ),
            {"kind": a2u.OUTBOX_A2U, "payout": str(payout_id)},
        ).first()
        if row is None:
            return
        with conn.begin_nested():
            handle(conn, OutboxMessage(*row))
            conn.execute(text("UPDATE outbox SET status = 'done' WHERE id = :id"), {"id": row[0]})


@contextlib.contextmanager
def committed(conn: Connection, clock: Clock) -> Iterator[UnitOfWork]:
    """One unit of work of the code under test: a savepoint of the test's rolled-back one."""
    with conn.begin_nested():
        yield bind(conn, clock)


def recovery_job(conn: Connection, deps: Any) -> None:
    """One run of the scheduled recovery job, as bootstrap wires it."""
    recovery.recover_all(lambda: committed(conn, deps.clock), deps)


def outage(message: str) -> Exception:
    return PiTransientError(f"sandbox outage {message}")


def leave_payout_at(conn: Connection, world: PiWorld, payout_id: uuid.UUID, start: str) -> None:
    """`created`: the worker ran the first step, then stopped. `orphaned`: it died between Pi
    creating the payment and the commit, so only Pi knows the payment."""
    if start == "created":
        run_outbox(conn, world.deps, payout_id, messages_max=1)
    else:
        dying = replace(world.deps, platform=CrashAt(world.deps.platform, [0], 0, after=True))
        with contextlib.suppress(Crash):
            run_outbox(conn, dying, payout_id, messages_max=1)
        assert a2u.load(bind(conn, SystemClock()), payout_id).status == "requested"
    assert len(world.deps.platform.incomplete_server_payments()) == 1


@pytest.mark.parametrize("start", ["created", "orphaned"])
@pytest.mark.parametrize("error", [Crash, outage], ids=["crash", "outage"])
@pytest.mark.parametrize("after", [False, True], ids=["before-call", "after-call"])
@pytest.mark.parametrize("target", range(8))
def test_recovery_fault_anywhere_then_resume(
    db_conn: Connection,
    pi_world: PiWorld,
    target: int,
    after: bool,
    error: Callable[[str], Exception],
    start: str,
) -> None:
    """Recovery finds a payout the worker left behind: whatever fails where, one payment."""
    pioneer = fund_custody(db_conn, pi_world)
    pi_world.sandbox.chain.accounts[pioneer.address].balance_units = 100_000_000
    payout_id = a2u.request_payout(
        bind(db_conn, pi_world.deps.clock),
        pi_world.deps,
        key=f"refund:recovery:{target}:{after}",
        uid=pioneer.uid,
        amount_units=PAYOUT_UNITS,
        memo="refund",
        debit_account=LIABILITY,
    )
    leave_payout_at(db_conn, pi_world, payout_id, start)
    counter = [0]
    faulty = replace(
        pi_world.deps,
        platform=CrashAt(pi_world.deps.platform, counter, target, after, error),
        chain=CrashAt(pi_world.deps.chain, counter, target, after, error),
    )
    with contextlib.suppress(Crash):
        recovery_job(db_conn, faulty)
    recovery_job(db_conn, pi_world.deps)
    run_outbox(db_conn, pi_world.deps, payout_id, messages_max=steps_max)
    assert a2u.load(bind(db_conn, SystemClock()), payout_id).status == "completed"
    assert_exactly_one_payout(db_conn, pi_world, pioneer)


def signed_payout(
    conn: Connection, world: PiWorld, pioneer: SandboxPioneer, key: str
) -> a2u.Payout:
    payout_id = a2u.request_payout(
        bind(conn, world.deps.clock),
        world.deps,
        key=key,
        uid=pioneer.uid,
        amount_units=PAYOUT_UNITS,
        memo="r",
        debit_account=LIABILITY,
    )
    a2u.advance(bind(conn, world.deps.clock), world.deps, payout_id)
    assert a2u.advance(bind(conn, world.deps.clock), world.deps, payout_id) == "signed"
    return a2u.load(bind(conn, SystemClock()), payout_id)


def valid_until(conn: Connection, payout_id: uuid.UUID) -> int:
    return int(
        conn.execute(
            text("SELECT valid_until FROM pi_payouts WHERE id = :id"), {"id": payout_id}
        ).scalar_one()
    )


def test_landed_but_not_yet_on_horizon_is_not_voided_at_valid_until(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    """The submission landed, its answer was lost, and Horizon lags: wait, then confirm."""
    pioneer = fund_custody(db_conn, pi_world)
    pi_world.sandbox.chain.accounts[pioneer.address].balance_units = 100_000_000
    payout = signed_payout(db_conn, pi_world, pioneer, "refund:lag")
    pi_world.driver.horizon_lag(200)
    pi_world.driver.arm_fault("horizon", "lost_response", path_contains="/transactions")
    with pytest.raises(Exception, match="tx_bad_seq"), db_conn.begin_nested():
        a2u.advance(bind(db_conn, pi_world.deps.clock), pi_world.deps, payout.id)
    pi_world.clock.now = valid_until(db_conn, payout.id) + 1
    with pytest.raises(Exception, match="tx_bad_seq"), db_conn.begin_nested():
        a2u.advance(bind(db_conn, pi_world.deps.clock), pi_world.deps, payout.id)
    assert a2u.load(bind(db_conn, SystemClock()), payout.id).status == "signed"
    assert Ledger(db_conn).balance(CUSTODY).pending_out == PAYOUT_UNITS
    pi_world.clock.now += EXPIRY_MARGIN_S // 2
    assert run_to_end(db_conn, pi_world, payout.id, pi_world.deps) == "completed"
    assert_exactly_one_payout(db_conn, pi_world, pioneer)


class Recording:
    """Proxy that records the names of the calls it forwards."""

    def __init__(self, inner: object, calls: list[str]) -> None:
        self._inner, self._calls = inner, calls

    def __getattr__(self, name: str) -> Any:
        self._calls.append(name)
        return getattr(self._inner, name)


def test_never_landed_is_voided_only_after_the_margin_and_a_last_lookup(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    pioneer = fund_custody(db_conn, pi_world)
    payout = signed_payout(db_conn, pi_world, pioneer, "refund:late")
    until = valid_until(db_conn, payout.id)
    pi_world.clock.now = until + EXPIRY_MARGIN_S  # clock skew, Horizon lag: not yet
    with pytest.raises(Exception, match="tx_too_late"), db_conn.begin_nested():
        a2u.advance(bind(db_conn, pi_world.deps.clock), pi_world.deps, payout.id)
    assert a2u.load(bind(db_conn, SystemClock()), payout.id).status == "signed"
    assert Ledger(db_conn).balance(CUSTODY).pending_out == PAYOUT_UNITS
    pi_world.clock.now = until + EXPIRY_MARGIN_S + 1
    calls: list[str] = []
    recording = replace(pi_world.deps, chain=Recording(pi_world.deps.chain, calls))
    assert a2u.advance(bind(db_conn, recording.clock), recording, payout.id) == "failed"
    assert calls == ["submit", "transaction"]
    ledger = Ledger(db_conn)
    assert ledger.balance(CUSTODY).pending_out == 0
    assert ledger.balance(NETWORK_FEES).posted == 0
    assert ledger.balance(LIABILITY).posted == 100_000_000
    assert reconcile(bind(db_conn, pi_world.deps.clock), pi_world.deps).ok


def test_recovery_flags_a_transaction_pi_links_to_a_payout_that_signed_none(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    pioneer = fund_custody(db_conn, pi_world)
    payout_id = a2u.request_payout(
        bind(db_conn, pi_world.deps.clock),
        pi_world.deps,
        key="refund:foreign-tx",
        uid=pioneer.uid,
        amount_units=PAYOUT_UNITS,
        memo="r",
        debit_account=LIABILITY,
    )
    run_outbox(db_conn, pi_world.deps, payout_id, messages_max=1)
    payment = pi_world.sandbox.platform.payments[
        str(a2u.load(bind(db_conn, SystemClock()), payout_id).payment_id)
    ]
    foreign = next(iter(pi_world.sandbox.chain.transactions))  # the Pioneer's own U2A payment
    pi_world.sandbox.platform.link(payment, foreign)
    chain_before = dict(pi_world.sandbox.chain.transactions)
    [action] = recovery.recover_all(lambda: committed(db_conn, pi_world.deps.clock), pi_world.deps)
    assert (action.action, action.detail) == ("flagged", "transaction is not the one we signed")
    assert a2u.load(bind(db_conn, SystemClock()), payout_id).status == "created"
    assert pi_world.sandbox.chain.transactions == chain_before
    flags = db_conn.execute(text("SELECT reason FROM pi_flags")).scalars().all()
    assert flags == ["a2u_txid_mismatch"]
