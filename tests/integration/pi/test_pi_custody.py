"""Custody deposits on PostgreSQL with the Pi sandbox: booked once, never a Pioneer's payment."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection
from stellar_sdk import Account as SdkAccount
from stellar_sdk import Asset, Keypair, TransactionBuilder

from escrow.clock import SystemClock
from escrow.ledger import Ledger
from settlement.pi import u2a
from settlement.pi.accounts import CUSTODY
from settlement.pi.custody import CAPITAL, book_deposit
from settlement.pi.reconcile import reconcile
from settlement.unit_of_work import bind
from tests.integration.pi.conftest import PiWorld
from tests.integration.pi.test_pi_u2a import refused, start

pytestmark = pytest.mark.integration


def treasury_sends(world: PiWorld, amount: str) -> str:
    """The treasury's own wallet pays the app wallet on the sandbox chain; the txid."""
    treasury = Keypair.random()
    world.driver.fund(treasury.public_key, "1000")
    sequence = world.deps.chain.account(treasury.public_key).sequence
    tx = (
        TransactionBuilder(
            SdkAccount(treasury.public_key, sequence),
            network_passphrase=world.deps.network,
            base_fee=100_000,
        )
        .append_payment_op(world.app.public_key, Asset.native(), amount)
        .add_time_bounds(0, 0)
        .build()
    )
    tx.sign(treasury)
    return world.deps.chain.submit(tx.to_xdr()).tx_hash


def test_a_deposit_is_booked_once_and_custody_reconciles(
    module_conn: Connection, pi_world: PiWorld
) -> None:
    txid = treasury_sends(pi_world, "250")
    first = book_deposit(
        bind(module_conn, SystemClock()), pi_world.deps, txid, booked_by="treasurer-a"
    )
    again = book_deposit(
        bind(module_conn, SystemClock()), pi_world.deps, txid, booked_by="treasurer-b"
    )
    assert (first.new, first.amount_units) == (True, 2_500_000_000)
    assert (again.new, again.transfer_id, again.booked_by) == (
        False,
        first.transfer_id,
        "treasurer-a",
    )
    ledger = Ledger(module_conn)
    assert ledger.balance(CUSTODY).posted == 2_500_000_000
    assert ledger.balance(CAPITAL).posted == 2_500_000_000
    assert reconcile(bind(module_conn, pi_world.deps.clock), pi_world.deps).ok


def test_a_pioneers_payment_is_not_a_deposit(module_conn: Connection, pi_world: PiWorld) -> None:
    pioneer, pid, _ = start(module_conn, pi_world)
    u2a.approve(bind(module_conn, pi_world.deps.clock), pi_world.deps, pid, pioneer.uid)
    txid = str(pi_world.driver.pay(pid)["txid"])
    u2a.complete(bind(module_conn, pi_world.deps.clock), pi_world.deps, pid, txid, pioneer.uid)
    with refused("pi_txid_reused"):
        book_deposit(bind(module_conn, SystemClock()), pi_world.deps, txid, booked_by="treasurer-a")
    assert Ledger(module_conn).balance(CUSTODY).posted == 31_415_926


@pytest.mark.parametrize(("txid", "code"), [("f" * 64, "pi_tx_not_found"), ("F00", "pi_bad_txid")])
def test_an_unknown_or_malformed_txid_books_nothing(
    module_conn: Connection, pi_world: PiWorld, txid: str, code: str
) -> None:
    with refused(code):
        book_deposit(bind(module_conn, SystemClock()), pi_world.deps, txid, booked_by="treasurer-a")
    assert module_conn.exec_driver_sql("SELECT count(*) FROM pi_custody_deposits").scalar_one() == 0
