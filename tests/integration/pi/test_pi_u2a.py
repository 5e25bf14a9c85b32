"""U2A approve/complete on PostgreSQL: the happy path, idempotency, and one test per refusal."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import Connection, text

from chain.pi import errors as chain_errors
from chain.pi.sandbox.client import SandboxPioneer
from escrow.ledger import Ledger
from settlement.outbox import OutboxMessage
from settlement.pi import recovery, u2a
from settlement.pi.accounts import CUSTODY
from settlement.pi.errors import PiRefusal
from settlement.pi.expectations import Expectation, create_expectation, metadata_for
from settlement.pi.handlers import complete_u2a
from settlement.unit_of_work import bind
from tests.integration.pi.conftest import PiWorld

pytestmark = pytest.mark.integration
LIABILITY = "pioneer:test:PI"


def expect(
    conn: Connection, world: PiWorld, amount_units: int = 31_415_926, **kw: object
) -> Expectation:
    return create_expectation(
        bind(conn, world.deps.clock),
        purpose="test",
        amount_units=amount_units,
        credit_account=LIABILITY,
        **kw,  # type: ignore[arg-type]
    )


def start(
    conn: Connection, world: PiWorld, amount: str = "3.1415926", **kw: object
) -> tuple[SandboxPioneer, str, Expectation]:
    pioneer = world.driver.add_pioneer("ani", "100")
    exp = expect(conn, world, **kw)  # type: ignore[arg-type]
    pid = world.driver.create_payment(pioneer, amount, "test", metadata_for(exp))
    return pioneer, pid, exp


def refused(code: str) -> pytest.RaisesExc[PiRefusal]:
    return pytest.raises(PiRefusal, match=f"^{code}:")


def test_happy_path_posts_once_and_queues_complete(db_conn: Connection, pi_world: PiWorld) -> None:
    pioneer, pid, exp = start(db_conn, pi_world)
    u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, pioneer.uid)
    u2a.approve(
        bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, pioneer.uid
    )  # the Pi app retries
    txid = str(pi_world.driver.pay(pid)["txid"])
    first = u2a.complete(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, txid, pioneer.uid)
    again = u2a.complete(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, txid, pioneer.uid)
    assert first.transfer_id == again.transfer_id
    ledger = Ledger(db_conn)
    assert ledger.balance(CUSTODY).posted == 31_415_926
    assert ledger.balance(exp.credit_account).posted == 31_415_926
    queued = db_conn.execute(
        text("SELECT count(*) FROM outbox WHERE kind = 'pi.complete' AND key = :k"), {"k": pid}
    ).scalar_one()
    assert queued == 1


def test_unknown_payment(db_conn: Connection, pi_world: PiWorld) -> None:
    with refused("pi_payment_not_found"):
        u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, "NoSuchPayment123", None)


def test_bad_payment_id_shape_before_network(db_conn: Connection, pi_world: PiWorld) -> None:
    with refused("pi_bad_payment_id"):
        u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, "../../etc", None)


def test_expectation_not_found(db_conn: Connection, pi_world: PiWorld) -> None:
    pioneer = pi_world.driver.add_pioneer("budi", "100")
    pid = pi_world.driver.create_payment(pioneer, "1", "m", {"msc": {"v": 1, "reference": "nope"}})
    with refused("pi_expectation_not_found"):
        u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, None)


def test_cancelled_payment(db_conn: Connection, pi_world: PiWorld) -> None:
    _, pid, _ = start(db_conn, pi_world)
    pi_world.driver.user_cancel(pid)
    with refused("pi_payment_cancelled"):
        u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, None)


def test_network_mismatch(db_conn: Connection, pi_world: PiWorld) -> None:
    _, pid, _ = start(db_conn, pi_world)
    with refused("pi_network_mismatch"):
        u2a.approve(
            bind(db_conn, pi_world.deps.clock),
            replace(pi_world.deps, network="Pi Network"),
            pid,
            None,
        )


def test_payer_mismatch(db_conn: Connection, pi_world: PiWorld) -> None:
    _, pid, _ = start(db_conn, pi_world)
    with refused("pi_payer_mismatch"):
        u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, "uid-someone-else")


def test_expectation_for_another_payer(db_conn: Connection, pi_world: PiWorld) -> None:
    _, pid, _ = start(db_conn, pi_world, payer_uid="uid-expected")
    with refused("pi_payer_mismatch"):
        u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, None)


def test_amount_mismatch_at_approval(db_conn: Connection, pi_world: PiWorld) -> None:
    _, pid, _ = start(db_conn, pi_world, amount="3.1415925")
    with refused("pi_amount_mismatch"):
        u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, None)


def test_purpose_mismatch(db_conn: Connection, pi_world: PiWorld) -> None:
    pioneer = pi_world.driver.add_pioneer("citra", "100")
    exp = expect(db_conn, pi_world)
    meta = metadata_for(exp)
    meta["msc"] = {**meta["msc"], "purpose": "convert"}  # type: ignore[dict-item]
    pid = pi_world.driver.create_payment(pioneer, "3.1415926", "m", meta)
    with refused("pi_purpose_mismatch"):
        u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, None)


def test_expired_expectation(db_conn: Connection, pi_world: PiWorld) -> None:
    _, pid, _ = start(db_conn, pi_world, expires_in_s=60)
    pi_world.clock.now += 61
    with refused("pi_expectation_expired"):
        u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, None)


def test_expectation_already_taken(db_conn: Connection, pi_world: PiWorld) -> None:
    pioneer, pid, exp = start(db_conn, pi_world)
    u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, None)
    other = pi_world.driver.add_pioneer("dewi", "100")
    second = pi_world.driver.create_payment(other, "3.1415926", "m", metadata_for(exp))
    with refused("pi_expectation_fulfilled"):
        u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, second, None)
    assert pioneer.uid != other.uid


def test_direction_mismatch(db_conn: Connection, pi_world: PiWorld) -> None:
    pioneer = pi_world.driver.add_pioneer("eko", "0")
    exp = expect(db_conn, pi_world, amount_units=10_000_000)
    payment = pi_world.deps.platform.create_payment(
        amount_units=10_000_000, memo="m", metadata=metadata_for(exp), uid=pioneer.uid
    )
    with refused("pi_direction_mismatch"):
        u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, payment.identifier, None)


def approved(conn: Connection, world: PiWorld) -> tuple[SandboxPioneer, str]:
    pioneer, pid, _ = start(conn, world)
    u2a.approve(bind(conn, world.deps.clock), world.deps, pid, pioneer.uid)
    return pioneer, pid


def assert_nothing_posted(conn: Connection) -> None:
    count = conn.execute(
        text("SELECT count(*) FROM pi_payments WHERE status IN ('credited', 'completed')")
    ).scalar_one()
    assert count == 0


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"amount": "3.1415927"}, "pi_amount_mismatch"),
        ({"memo": "notThePaymentId"}, "pi_memo_mismatch"),
        (
            {"destination": "GDNDEI3B7PZCHUBXEFDE6G2F2J2DWEXFLDTBCYCGH7O2ECA36A4QTAIO"},
            "pi_destination_mismatch",
        ),
    ],
)
def test_chain_mismatch_refused(
    db_conn: Connection, pi_world: PiWorld, overrides: dict[str, str], code: str
) -> None:
    pi_world.driver.fund("GDNDEI3B7PZCHUBXEFDE6G2F2J2DWEXFLDTBCYCGH7O2ECA36A4QTAIO", "1")
    pioneer, pid = approved(db_conn, pi_world)
    txid = str(pi_world.driver.pay(pid, **overrides)["txid"])
    with refused(code):
        u2a.complete(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, txid, pioneer.uid)
    assert_nothing_posted(db_conn)


def test_failed_transaction_refused(db_conn: Connection, pi_world: PiWorld) -> None:
    pioneer, pid = approved(db_conn, pi_world)
    pi_world.driver.fail_next_tx()
    txid = str(pi_world.driver.pay(pid)["txid"])
    with refused("pi_tx_failed"):
        u2a.complete(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, txid, pioneer.uid)
    assert_nothing_posted(db_conn)


def test_txid_reused_for_another_payment(db_conn: Connection, pi_world: PiWorld) -> None:
    pioneer, pid = approved(db_conn, pi_world)
    txid = str(pi_world.driver.pay(pid)["txid"])
    u2a.complete(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, txid, pioneer.uid)
    other, second = approved(db_conn, pi_world)
    with refused("pi_txid_reused"):
        u2a.complete(bind(db_conn, pi_world.deps.clock), pi_world.deps, second, txid, other.uid)


def test_txid_not_the_payments(db_conn: Connection, pi_world: PiWorld) -> None:
    pioneer, pid = approved(db_conn, pi_world)
    pi_world.driver.pay(pid)
    with refused("pi_txid_mismatch"):
        u2a.complete(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, "a" * 64, pioneer.uid)


def test_complete_without_approval(db_conn: Connection, pi_world: PiWorld) -> None:
    with refused("pi_not_approved"):
        u2a.complete(
            bind(db_conn, pi_world.deps.clock), pi_world.deps, "NeverApproved1", "b" * 64, None
        )


def test_cancelled_after_approval(db_conn: Connection, pi_world: PiWorld) -> None:
    pioneer, pid = approved(db_conn, pi_world)
    txid = str(pi_world.driver.pay(pid)["txid"])
    pi_world.driver.network_cancel(pid)
    with refused("pi_payment_cancelled"):
        u2a.complete(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, txid, pioneer.uid)
    assert_nothing_posted(db_conn)


def test_pi_outage_is_unavailable_and_posts_nothing(db_conn: Connection, pi_world: PiWorld) -> None:
    pioneer, pid = approved(db_conn, pi_world)
    txid = str(pi_world.driver.pay(pid)["txid"])
    pi_world.driver.arm_fault("horizon", "html_502", times=2)
    with refused("pi_unavailable"):
        u2a.complete(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, txid, pioneer.uid)
    assert_nothing_posted(db_conn)
    assert (
        u2a.complete(
            bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, txid, pioneer.uid
        ).status
        == "credited"
    )


class RefusingCompletion:
    """Pi's platform, except that /complete answers `txid_mismatch`."""

    def __init__(self, platform: object) -> None:
        self._platform = platform

    def __getattr__(self, name: str) -> object:
        return getattr(self._platform, name)

    def complete(self, payment_id: str, txid: str) -> None:
        raise chain_errors.TxidMismatchError("txid mismatch", api_code="txid_mismatch", status=400)


def test_pi_refusing_completion_of_posted_pi_is_flagged_and_the_message_done(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    """The flag used to be rolled back with the handler's savepoint when it raised."""
    pioneer, pid = approved(db_conn, pi_world)
    txid = str(pi_world.driver.pay(pid)["txid"])
    u2a.complete(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, txid, pioneer.uid)
    refusing = replace(pi_world.deps, platform=RefusingCompletion(pi_world.deps.platform))
    message = OutboxMessage(1, u2a.OUTBOX_COMPLETE, pid, {"payment_id": pid, "txid": txid}, 0)
    with db_conn.begin_nested():
        complete_u2a(refusing)(db_conn, message)  # returns: nothing to retry
    reasons = db_conn.execute(
        text("SELECT reason FROM pi_flags WHERE payment_id = :p"), {"p": pid}
    ).scalars()
    assert list(reasons) == ["u2a_complete_refused"]
    assert Ledger(db_conn).balance(LIABILITY).posted == 31_415_926  # the Pi stays posted


def test_recovery_of_a_payment_we_never_approved_flags_nothing(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    """Any signed-in Pioneer could name any of the app's payments and leave a flag on it."""
    pioneer, pid, _ = start(db_conn, pi_world)
    approval = db_conn.begin_nested()  # Pi approves; our record of it is gone (not ours)
    u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, pioneer.uid)
    approval.rollback()
    pi_world.driver.pay(pid)
    stranger = pi_world.driver.add_pioneer("budi", "100")
    with refused("pi_not_approved"):
        recovery.recover_u2a(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, stranger.uid)
    flags = db_conn.execute(text("SELECT count(*) FROM pi_flags WHERE payment_id = :p"), {"p": pid})
    assert flags.scalar_one() == 0
    assert pioneer.uid != stranger.uid
