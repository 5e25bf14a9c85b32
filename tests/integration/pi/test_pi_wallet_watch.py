"""The wallet watch on PostgreSQL with the Pi sandbox: what reaches the app wallet without a
completion callback is booked once and completed through the outbox, or flagged for a person."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError
from stellar_sdk import Account as SdkAccount
from stellar_sdk import Asset, Keypair, TransactionBuilder

from escrow.clock import SystemClock
from settlement.bootstrap import assemble_container
from settlement.config import Settings
from settlement.outbox import Dispatcher, OutboxMessage
from settlement.pi import u2a, watch
from settlement.pi.custody import book_deposit
from settlement.pi.handlers import complete_u2a, register
from settlement.pi.watch import complete_approved, decide_incoming, resolve_booked, scan_wallet
from settlement.schedule import run_periodic
from settlement.unit_of_work import bind
from tests.integration.pi.conftest import PiWorld
from tests.integration.pi.test_pi_u2a import start

pytestmark = pytest.mark.integration
UNITS = 31_415_926


def approved_and_paid(conn: Connection, world: PiWorld) -> tuple[str, str]:
    """A Pioneer's payment approved by us and paid on chain; no completion callback follows."""
    pioneer, pid, _ = start(conn, world)
    u2a.approve(bind(conn, world.deps.clock), world.deps, pid, pioneer.uid)
    return pid, str(world.driver.pay(pid)["txid"])


def lose_link(world: PiWorld, pid: str) -> None:
    """Pi's servers lose the payment's transaction (the SDK then reports `transaction: null`)."""
    payment = world.sandbox.platform.payments[pid]
    payment["transaction"] = None
    payment["status"]["transaction_verified"] = False  # type: ignore[index]


def send_to_app(world: PiWorld, amount: str, memo: str | None = None) -> tuple[str, str]:
    """Someone else's wallet pays the app wallet directly; (txid, source address)."""
    sender = Keypair.random()
    world.driver.fund(sender.public_key, "1000")
    sequence = world.deps.chain.account(sender.public_key).sequence
    builder = TransactionBuilder(
        SdkAccount(sender.public_key, sequence),
        network_passphrase=world.deps.network,
        base_fee=100_000,
    ).append_payment_op(world.app.public_key, Asset.native(), amount)
    if memo is not None:
        builder.add_text_memo(memo)
    tx = builder.add_time_bounds(0, 0).build()
    tx.sign(sender)
    return world.deps.chain.submit(tx.to_xdr()).tx_hash, sender.public_key


def run(conn: Connection, world: PiWorld, delay_s: int = 0) -> tuple[int, int, int, int]:
    """Every pass of the watch on one connection: (seen, completed, booked, flagged)."""
    seen = scan_wallet(bind(conn, world.deps.clock), world.deps)
    completed = complete_approved(bind(conn, world.deps.clock), world.deps, delay_s)
    booked, flagged = decide_incoming(bind(conn, world.deps.clock), world.deps, delay_s)
    resolve_booked(bind(conn, SystemClock()))
    return seen, completed, booked, flagged


def postings(conn: Connection, txid: str) -> int:
    return int(
        conn.execute(
            text("SELECT count(*) FROM transfers WHERE external_ref = :tx"), {"tx": txid}
        ).scalar_one()
    )


def _ours(world: PiWorld) -> dict[str, list[str]]:
    """This test's transactions and payments (the database also holds other tests' rows)."""
    return {
        "txids": list(world.sandbox.chain.transactions),
        "pids": list(world.sandbox.platform.payments),
    }


def flags(conn: Connection, world: PiWorld) -> list[tuple[str, str, dict[str, Any], bool]]:
    rows = conn.execute(
        text(
            "SELECT payment_id, reason, detail, resolved_at IS NULL FROM pi_flags"
            " WHERE txid = ANY(:txids) OR payment_id = ANY(:pids) ORDER BY id"
        ),
        _ours(world),
    ).all()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def outbox_count(conn: Connection, world: PiWorld) -> int:
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM outbox"
                " WHERE key = ANY(:pids) OR payload->>'txid' = ANY(:txids)"
            ),
            _ours(world),
        ).scalar_one()
    )


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("lost", ["callback", "callback_and_link"])
def test_a_lost_completion_is_booked_once_and_completed_with_pi_through_the_outbox(
    module_engine: Engine, pi_world: PiWorld, tmp_path: Path, lost: str
) -> None:
    with module_engine.begin() as conn:
        pid, txid = approved_and_paid(conn, pi_world)
    if lost == "callback_and_link":
        lose_link(pi_world, pid)
    settings = Settings(
        data_dir=tmp_path,
        evm_rpc_url=_closed_port_url(),
        evm_rpc_timeout_s=1.0,
        pi_watch_delay_s=0,
    )
    dispatcher = Dispatcher(module_engine, {})
    register(dispatcher, pi_world.deps)
    container = assemble_container(settings, "unused", module_engine, dispatcher, pi=pi_world.deps)

    outcomes = run_periodic(container)
    dispatcher.dispatch_due()

    with module_engine.begin() as conn:
        assert postings(conn, txid) == 1
        late = u2a.complete(
            bind(conn, pi_world.deps.clock), pi_world.deps, pid, txid, None
        )  # the callback comes after all
        assert late.status == "completed"
    run_periodic(container)
    with module_engine.connect() as conn:
        assert postings(conn, txid) == 1
        status = conn.execute(
            text("SELECT status FROM pi_payments WHERE payment_id = :p"), {"p": pid}
        ).scalar_one()
        sent = conn.execute(
            text("SELECT status FROM outbox WHERE kind = 'pi.complete' AND key = :p"), {"p": pid}
        ).scalar_one()
        wallet = conn.execute(
            text("SELECT status, booked_as FROM pi_wallet_payments WHERE txid = :tx"), {"tx": txid}
        ).one()
    assert (status, sent, tuple(wallet)) == ("completed", "done", ("booked", "u2a"))
    assert outcomes["pi_wallet"].startswith("seen 1,")
    remote = pi_world.sandbox.platform.payments[pid]
    assert remote["status"]["developer_completed"] is True  # type: ignore[index]
    assert remote["transaction"]["txid"] == txid  # type: ignore[index]


def test_the_wallet_books_a_payment_pi_lost_the_link_of(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    pid, txid = approved_and_paid(db_conn, pi_world)
    lose_link(pi_world, pid)

    assert run(db_conn, pi_world) == (1, 0, 1, 0)
    assert postings(db_conn, txid) == 1
    row = db_conn.execute(
        text("SELECT id, kind, key, payload, attempts FROM outbox WHERE key = :p"), {"p": pid}
    ).one()
    complete_u2a(pi_world.deps)(db_conn, OutboxMessage(*row))
    assert pi_world.sandbox.platform.payments[pid]["status"]["developer_completed"] is True  # type: ignore[index]
    assert run(db_conn, pi_world) == (0, 0, 0, 0)
    assert postings(db_conn, txid) == 1
    assert flags(db_conn, pi_world) == []


def test_nothing_is_decided_before_the_delay(db_conn: Connection, pi_world: PiWorld) -> None:
    pid, txid = approved_and_paid(db_conn, pi_world)
    lose_link(pi_world, pid)
    send_to_app(pi_world, "5")

    assert run(db_conn, pi_world, delay_s=120) == (2, 0, 0, 0)
    assert postings(db_conn, txid) == 0
    assert (flags(db_conn, pi_world), outbox_count(db_conn, pi_world)) == ([], 0)
    pi_world.clock.now += 121
    assert run(db_conn, pi_world, delay_s=120) == (0, 0, 1, 1)
    assert postings(db_conn, txid) == 1


@pytest.mark.parametrize("memo", [None, "nobody-knows-this", "NoSuchPayment123", "pay\x00me"])
def test_a_stray_payment_is_flagged_with_its_amount_and_source_and_nothing_is_posted(
    db_conn: Connection, pi_world: PiWorld, memo: str | None
) -> None:
    txid, source = send_to_app(pi_world, "12.5", memo)

    assert run(db_conn, pi_world) == (1, 0, 0, 1)
    assert run(db_conn, pi_world) == (0, 0, 0, 0)
    ((key, reason, detail, open_),) = flags(db_conn, pi_world)
    assert (reason, open_) == ("wallet_unbooked", True)
    assert key == f"op:{detail['operation_id']}:{pi_world.app.public_key}"
    assert (detail["amount"], detail["amount_units"], detail["from"]) == (
        "12.5000000",
        125_000_000,
        source,
    )
    shown = memo.replace("\x00", "\ufffd") if memo else None
    assert (detail["asset_type"], detail["memo"]) == ("native", shown)
    assert detail["code"] == ("pi_no_memo" if memo is None else "pi_unknown_memo")
    assert postings(db_conn, txid) == 0
    assert outbox_count(db_conn, pi_world) == 0


def test_a_deposit_booked_by_the_treasurer_is_not_flagged(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    txid, _ = send_to_app(pi_world, "250")
    book_deposit(bind(db_conn, SystemClock()), pi_world.deps, txid, booked_by="treasurer-a")

    assert run(db_conn, pi_world) == (1, 0, 1, 0)
    assert flags(db_conn, pi_world) == []
    assert postings(db_conn, txid) == 1


def test_a_flagged_deposit_booked_later_has_its_flag_resolved(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    txid, _ = send_to_app(pi_world, "250")
    run(db_conn, pi_world)
    book_deposit(bind(db_conn, SystemClock()), pi_world.deps, txid, booked_by="treasurer-a")

    assert resolve_booked(bind(db_conn, SystemClock())) == 1
    ((_, _, _, open_),) = flags(db_conn, pi_world)
    assert open_ is False
    wallet = db_conn.execute(
        text("SELECT status, booked_as FROM pi_wallet_payments WHERE txid = :tx"), {"tx": txid}
    ).one()
    assert tuple(wallet) == ("booked", "deposit")
    assert postings(db_conn, txid) == 1


def test_a_payment_that_fails_verification_is_flagged_once(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    pioneer, pid, _ = start(db_conn, pi_world)
    u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, pioneer.uid)
    txid = str(pi_world.driver.pay(pid, amount="3")["txid"])  # the Pioneer's wallet pays less

    assert run(db_conn, pi_world) == (1, 0, 0, 1)
    assert run(db_conn, pi_world) == (0, 0, 0, 0)
    ((key, reason, _, _),) = flags(db_conn, pi_world)
    assert (key, reason) == (pid, "pi_amount_mismatch")
    assert postings(db_conn, txid) == 0
    assert outbox_count(db_conn, pi_world) == 0


def test_an_approved_payment_pi_cancelled_stops_being_fetched(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    pioneer, pid, _ = start(db_conn, pi_world)
    u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, pioneer.uid)
    pi_world.driver.network_cancel(pid)

    assert complete_approved(bind(db_conn, pi_world.deps.clock), pi_world.deps, 0) == 0
    status = db_conn.execute(
        text("SELECT status FROM pi_payments WHERE payment_id = :p"), {"p": pid}
    ).scalar_one()
    assert status == "cancelled"


def test_an_unpaid_approved_payment_waits(db_conn: Connection, pi_world: PiWorld) -> None:
    pioneer, pid, _ = start(db_conn, pi_world)
    u2a.approve(bind(db_conn, pi_world.deps.clock), pi_world.deps, pid, pioneer.uid)

    assert run(db_conn, pi_world) == (0, 0, 0, 0)
    assert (flags(db_conn, pi_world), outbox_count(db_conn, pi_world)) == ([], 0)


def test_the_cursor_pages_through_and_payments_the_wallet_sent_are_not_recorded(
    db_conn: Connection, pi_world: PiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch, "page_records", 2)
    sent = [send_to_app(pi_world, f"{n}")[0] for n in range(1, 6)]
    app_pays_out(pi_world)

    assert scan_wallet(bind(db_conn, pi_world.deps.clock), pi_world.deps) == 5
    assert scan_wallet(bind(db_conn, pi_world.deps.clock), pi_world.deps) == 0
    recorded = db_conn.execute(
        text("SELECT txid FROM pi_wallet_payments WHERE address = :a ORDER BY closed_at, 1"),
        {"a": pi_world.app.public_key},
    ).scalars()
    assert sorted(recorded) == sorted(sent)
    cursor = db_conn.execute(
        text("SELECT paging_token FROM pi_wallet_cursors WHERE address = :a"),
        {"a": pi_world.app.public_key},
    ).scalar_one()
    last = pi_world.sandbox.chain.payments_of(pi_world.app.public_key, 0, 200)[-1]
    assert cursor == last["paging_token"]


def app_pays_out(world: PiWorld) -> None:
    """The app wallet pays someone (as an A2U payout would)."""
    receiver = Keypair.random()
    world.driver.fund(receiver.public_key, "1")
    sequence = world.deps.chain.account(world.app.public_key).sequence
    tx = (
        TransactionBuilder(
            SdkAccount(world.app.public_key, sequence),
            network_passphrase=world.deps.network,
            base_fee=100_000,
        )
        .append_payment_op(receiver.public_key, Asset.native(), "1")
        .add_time_bounds(0, 0)
        .build()
    )
    tx.sign(world.app)
    world.deps.chain.submit(tx.to_xdr())


def test_horizon_down_defers_the_scan_and_the_other_passes_still_run(
    module_engine: Engine, pi_world: PiWorld
) -> None:
    with module_engine.begin() as conn:
        pid, txid = approved_and_paid(conn, pi_world)
    pi_world.driver.arm_fault("horizon", "status_500", times=2, path_contains="/payments")

    report = watch.watch(module_engine, pi_world.deps, 0)

    assert (report.seen, report.completed) == (0, 1)
    with module_engine.connect() as conn:
        assert postings(conn, txid) == 1
    assert watch.watch(module_engine, pi_world.deps, 0).seen == 1
    with module_engine.connect() as conn:
        assert postings(conn, txid) == 1
        status = conn.execute(
            text("SELECT status FROM pi_payments WHERE payment_id = :p"), {"p": pid}
        ).scalar_one()
    assert status == "credited"


class ProbingChain:
    """Horizon that, when asked for ``probe_txid``, checks from another connection that the
    payment completed before it is unlocked (and committed)."""

    def __init__(self, chain: object, engine: Engine, probe_txid: str, first: str) -> None:
        self._chain, self._engine = chain, engine
        self.probe_txid, self.first = probe_txid, first
        self.first_was_free: bool | None = None

    def __getattr__(self, name: str) -> object:
        return getattr(self._chain, name)

    def transaction(self, txid: str) -> object:
        if txid == self.probe_txid and self.first_was_free is None:
            with self._engine.connect() as other:
                other.execute(text("SET lock_timeout = '200ms'"))
                try:
                    status = other.execute(
                        text("SELECT status FROM pi_payments WHERE payment_id = :p FOR UPDATE"),
                        {"p": self.first},
                    ).scalar_one()
                    self.first_was_free = status == "credited"
                except OperationalError:
                    self.first_was_free = False
                other.rollback()
        return self._chain.transaction(txid)  # type: ignore[attr-defined]


def test_each_lost_completion_is_booked_in_its_own_unit_of_work(
    module_engine: Engine, pi_world: PiWorld
) -> None:
    """The pass held every payment it had booked locked (and uncommitted) while it asked Pi and
    Horizon about the next: a late callback for the first waited on the whole pass."""
    with module_engine.begin() as conn:
        first, _ = approved_and_paid(conn, pi_world)
        conn.execute(  # listed first: it has waited longest
            text(
                "UPDATE pi_payments SET updated_at = now() - interval '1 hour'"
                " WHERE payment_id = :p"
            ),
            {"p": first},
        )
        _, second_txid = approved_and_paid(conn, pi_world)
    probing = ProbingChain(pi_world.deps.chain, module_engine, second_txid, first)
    report = watch.watch(module_engine, replace(pi_world.deps, chain=probing), 0)
    assert report.completed == 2
    assert probing.first_was_free is True
