"""The sandbox speaks the same API as Pi: our real clients run against it in-process."""

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from stellar_sdk import Keypair

from chain.pi import errors
from chain.pi.a2u import build_a2u
from chain.pi.horizon import HorizonClient
from chain.pi.platform import PiPlatformClient
from chain.pi.sandbox.app import Sandbox, build_app, make_sandbox
from chain.pi.sandbox.client import SandboxDriver
from chain.pi.sandbox.inprocess import inprocess_client
from chain.pi.transport import HttpLimits, JsonTransport
from chain.pi.verify import ExpectedPayment, verify_payment
from escrow.clock import FixedClock

APP = Keypair.from_raw_ed25519_seed(bytes(range(5, 37)))
BASE = "http://sandbox.test"


@dataclass
class World:
    sandbox: Sandbox
    platform: PiPlatformClient
    horizon: HorizonClient
    driver: SandboxDriver


@pytest.fixture
def world() -> Iterator[World]:
    sandbox = make_sandbox(
        api_key="k", app_address=APP.public_key, app_balance_units=10**9, base_url=BASE
    )
    with inprocess_client(build_app(sandbox), BASE) as http:
        transport = JsonTransport(http, HttpLimits(attempts_max=3), sleep=lambda _s: None)
        yield World(
            sandbox,
            PiPlatformClient(transport, BASE, "k"),
            HorizonClient(transport, BASE),
            SandboxDriver(http, BASE),
        )


def test_u2a_flow_verifies_on_chain(world: World) -> None:
    pioneer = world.driver.add_pioneer("ani", "50")
    assert world.platform.me(pioneer.access_token).uid == pioneer.uid
    pid = world.driver.create_payment(pioneer, "3.1415926", "test", {"ref": "r1"})
    approved = world.platform.approve(pid)
    assert approved.status.developer_approved
    txid = str(world.driver.pay(pid)["txid"])
    tx = world.horizon.transaction(txid)
    verified = verify_payment(
        tx,
        ExpectedPayment(txid, pid, pioneer.address, APP.public_key, 31_415_926, "Pi Testnet"),
    )
    assert verified.amount_units == 31_415_926
    done = world.platform.complete(pid, txid)
    assert done.status.developer_completed
    assert world.horizon.account(APP.public_key).balance_units == 10**9 + 31_415_926


def test_wrong_amount_is_caught_by_verification(world: World) -> None:
    pioneer = world.driver.add_pioneer("budi", "50")
    pid = world.driver.create_payment(pioneer, "2", "test", {})
    world.platform.approve(pid)
    txid = str(world.driver.pay(pid, amount="1.9999999")["txid"])
    with pytest.raises(errors.TxVerificationError) as info:
        verify_payment(
            world.horizon.transaction(txid),
            ExpectedPayment(txid, pid, pioneer.address, APP.public_key, 20_000_000, "Pi Testnet"),
        )
    assert info.value.code == "pi_amount_mismatch"
    assert world.platform.get_payment(pid).transaction is not None


def test_failed_tx_is_in_ledger_unsuccessful(world: World) -> None:
    pioneer = world.driver.add_pioneer("citra", "50")
    pid = world.driver.create_payment(pioneer, "1", "test", {})
    world.platform.approve(pid)
    world.driver.fail_next_tx()
    txid = str(world.driver.pay(pid)["txid"])
    assert world.horizon.transaction(txid).record["successful"] is False


def test_cancelled_payment_refuses_approval(world: World) -> None:
    pioneer = world.driver.add_pioneer("dewi", "50")
    pid = world.driver.create_payment(pioneer, "1", "test", {})
    world.driver.network_cancel(pid)
    with pytest.raises(errors.CancelledPaymentError):
        world.platform.approve(pid)


def test_faults_are_retried_by_the_client(world: World) -> None:
    pioneer = world.driver.add_pioneer("eko", "50")
    pid = world.driver.create_payment(pioneer, "1", "test", {})
    world.driver.arm_fault("platform", "html_502", times=2, path_contains="/approve")
    assert world.platform.approve(pid).status.developer_approved
    world.driver.arm_fault("horizon", "status_500", times=3)
    with pytest.raises(errors.PiTransientError):
        world.horizon.base_fee()
    assert world.horizon.base_fee() == 100_000


def test_a2u_submit_is_idempotent_and_one_open_a2u_per_user(world: World) -> None:
    pioneer = world.driver.add_pioneer("fajar", "0")
    payment = world.platform.create_payment(
        amount_units=5_000_000, memo="refund", metadata={}, uid=pioneer.uid
    )
    with pytest.raises(errors.OngoingPaymentFoundError):
        world.platform.create_payment(
            amount_units=5_000_000, memo="again", metadata={}, uid=pioneer.uid
        )
    account = world.horizon.account(APP.public_key)
    signed = build_a2u(
        signer=APP,
        account_sequence=account.sequence,
        destination=payment.to_address,
        amount_units=payment.amount_units,
        payment_id=payment.identifier,
        base_fee_stroops=world.horizon.base_fee(),
        network_passphrase="Pi Testnet",
        now_unix=world.sandbox.clock.now_us() // 1_000_000,
    )
    first = world.horizon.submit(signed.envelope_xdr)
    again = world.horizon.submit(signed.envelope_xdr)
    assert first.tx_hash == again.tx_hash == signed.tx_hash
    assert world.horizon.account(pioneer.address).balance_units == 5_000_000
    assert [p.identifier for p in world.platform.incomplete_server_payments()] == [
        payment.identifier
    ]
    world.platform.complete(payment.identifier, signed.tx_hash)
    assert world.platform.incomplete_server_payments() == []


def test_bad_sequence_is_rejected(world: World) -> None:
    pioneer = world.driver.add_pioneer("gita", "0")
    account = world.horizon.account(APP.public_key)
    signed = build_a2u(
        signer=APP,
        account_sequence=account.sequence + 5,
        destination=pioneer.address,
        amount_units=1,
        payment_id="abc",
        base_fee_stroops=100_000,
        network_passphrase="Pi Testnet",
        now_unix=world.sandbox.clock.now_us() // 1_000_000,
    )
    with pytest.raises(errors.TxSubmitRejectedError) as info:
        world.horizon.submit(signed.envelope_xdr)
    assert info.value.tx_code == "tx_bad_seq"


def test_lost_response_carries_the_request_out_and_loses_the_answer(world: World) -> None:
    pioneer = world.driver.add_pioneer("ani", "0")
    account = world.horizon.account(APP.public_key)
    signed = build_a2u(
        signer=APP,
        account_sequence=account.sequence,
        destination=pioneer.address,
        amount_units=10_000_000,
        payment_id="pid-lost",
        base_fee_stroops=world.horizon.base_fee(),
        network_passphrase="Pi Testnet",
        now_unix=world.sandbox.clock.now_us() // 1_000_000,
    )
    world.driver.arm_fault("horizon", "lost_response", times=3, path_contains="/transactions")
    with pytest.raises(errors.PiTransientError):
        world.horizon.submit(signed.envelope_xdr)
    assert signed.tx_hash in world.sandbox.chain.transactions
    assert world.sandbox.chain.accounts[pioneer.address].balance_units == 10_000_000


def test_horizon_lag_hides_a_transaction_until_it_is_ingested(world: World) -> None:
    clock = FixedClock(1_750_000_000 * 1_000_000)
    world.sandbox.chain.clock = clock
    pioneer = world.driver.add_pioneer("ani", "50")
    pid = world.driver.create_payment(pioneer, "1", "test", {})
    world.platform.approve(pid)
    world.driver.horizon_lag(30)
    txid = str(world.driver.pay(pid)["txid"])
    with pytest.raises(errors.HorizonNotFoundError):
        world.horizon.transaction(txid)
    clock.advance(30)
    assert world.horizon.transaction(txid).record["successful"] is True


def test_account_payments_list_paid_and_sent_payments_with_their_memos(world: World) -> None:
    pioneer = world.driver.add_pioneer("fajar", "50")
    pid = world.driver.create_payment(pioneer, "2", "test", {})
    world.platform.approve(pid)
    paid = str(world.driver.pay(pid)["txid"])
    world.platform.complete(pid, paid)
    failed_pid = world.driver.create_payment(pioneer, "1", "test", {})
    world.platform.approve(failed_pid)
    world.driver.fail_next_tx()
    world.driver.pay(failed_pid)
    (record,) = world.horizon.payments_for_account(APP.public_key, "").records
    assert (record.txid, record.memo, record.amount_units) == (paid, pid, 20_000_000)
    assert (record.from_address, record.to_address) == (pioneer.address, APP.public_key)
    assert world.horizon.payments_for_account(APP.public_key, record.paging_token).records == ()
    (theirs,) = world.horizon.payments_for_account(pioneer.address, "", 1).records
    assert theirs == record


@pytest.mark.parametrize("query", ["order=desc", "limit=0", "limit=201", "cursor=now"])
def test_account_payments_refuse_what_the_sandbox_does_not_serve(world: World, query: str) -> None:
    with inprocess_client(build_app(world.sandbox), BASE) as http:
        reply = http.get(f"/accounts/{APP.public_key}/payments?{query}")
        assert reply.status_code == 400
        assert http.get(f"/accounts/{Keypair.random().public_key}/payments").status_code == 404
