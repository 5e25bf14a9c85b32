"""The MSC bridge end to end on PostgreSQL + anvil: deploy, withdraw -> mint exactly once (also
across crashes between send and receipt), deposits credited once with confirmation depth, and
the supply/ledger reconciliation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine, text

from chain.evm.abi import TOKEN, decode_result, encode_call, event_topic
from chain.evm.anvil import ANVIL_CHAIN_ID, ensure_local_dev_key
from chain.evm.attestation import sign_reserve_attestation
from chain.evm.client import Web3Client
from chain.evm.fees import FeePolicy
from chain.evm.signing import load_account, sign
from chain.evm.types import TxRequest
from escrow.clock import SystemClock
from escrow.ledger import Ledger
from escrow.model import AccountFlags, AccountKind, TransferRequest
from settlement.evm.bridge import (
    MINT_KIND,
    ONCHAIN_ACCOUNT,
    UNMATCHED_ACCOUNT,
    MintHandler,
    WithdrawalRefusedError,
    deposit_reference,
    withdraw,
)
from settlement.evm.deployment import Deployment, RoleHolders, deploy
from settlement.evm.deposits import scan_deposits
from settlement.evm.reconcile import reconcile
from settlement.evm.sender import SendLimits, TxSender
from settlement.evm.token import attest_request, ledger_ref32
from settlement.outbox import OutboxMessage
from settlement.unit_of_work import bind
from tests.evm_support import Chain, CrashAfterSend, CrashingNode

pytest_plugins = ("tests.evm_fixtures",)
pytestmark = pytest.mark.integration

FEES = FeePolicy(
    max_fee_per_gas_cap_wei=100 * 10**9,
    priority_fee_default_wei=10**9,
    priority_fee_cap_wei=2 * 10**9,
)
RESERVE_SEN = 10**12
MINTER_ALLOWANCE_SEN = 10**11
MINT_TOPIC = event_topic("Mint(address,address,uint256,bytes32)")
WORKER_SCRIPT = Path(__file__).with_name("evm_mint_worker.py")


@pytest.fixture(scope="session")
def service_key_file(anvil_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    key_file = tmp_path_factory.mktemp("evm") / "service.key"
    ensure_local_dev_key(key_file, anvil_url)
    return key_file


@pytest.fixture(scope="session")
def service_account(service_key_file: Path) -> LocalAccount:
    return load_account(None, service_key_file)


@pytest.fixture(scope="session")
def node(anvil_url: str) -> Web3Client:
    return Web3Client(anvil_url, ANVIL_CHAIN_ID, FEES)


def make_sender(engine: Engine, node: Any, account: LocalAccount) -> TxSender:
    return TxSender(engine, node, account, SendLimits(confirmations=1, receipt_timeout_s=15))


@pytest.fixture(scope="session")
def deployment(db_engine: Engine, node: Web3Client, service_account: LocalAccount) -> Deployment:
    sender = make_sender(db_engine, node, service_account)
    me = service_account.address
    deployed = deploy(db_engine, sender, RoleHolders(me, me, me, me, me, me), MINTER_ALLOWANCE_SEN)
    timestamp = node.latest_timestamp()
    signature = sign_reserve_attestation(
        service_account, ANVIL_CHAIN_ID, deployed.token, RESERVE_SEN, timestamp
    )
    sender.execute(
        "attest",
        f"{RESERVE_SEN}:{timestamp}",
        lambda: attest_request(deployed.token, RESERVE_SEN, timestamp, signature),
    )
    return deployed


@pytest.fixture
def sender(db_engine: Engine, node: Web3Client, service_account: LocalAccount) -> TxSender:
    return make_sender(db_engine, node, service_account)


@pytest.fixture
def automine(evm_chain: Chain) -> Iterator[Chain]:
    """Restore anvil's automine whatever the test did to it."""
    yield evm_chain
    evm_chain.w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]


def funded_holder(engine: Engine, amount: int) -> str:
    """A fresh MSC holder account with ``amount`` sen (committed; codes unique per test)."""
    tag = uuid.uuid4().hex[:12]
    holder, funding = f"test:{tag}:MSC", f"test:{tag}:funding"
    with engine.begin() as conn:
        ledger = Ledger(conn)
        ledger.ensure_account(
            holder, "MSC", AccountKind.LIABILITY, flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
        )
        ledger.ensure_account(funding, "MSC", AccountKind.ASSET)
        result = ledger.post(
            TransferRequest(uuid.uuid4(), funding, holder, amount, "MSC", "test.funding")
        )
        assert result.ok
    return holder


def mint_message(engine: Engine, transfer_id: uuid.UUID) -> OutboxMessage:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT id, kind, key, payload, attempts FROM outbox WHERE kind = :k AND key = :t"
            ),
            {"k": MINT_KIND, "t": str(transfer_id)},
        ).one()
    return OutboxMessage(row[0], row[1], row[2], row[3], row[4])


def run_mint(engine: Engine, sender: TxSender, transfer_id: uuid.UUID) -> None:
    """What the outbox dispatcher does for one message: handler and commit in one transaction."""
    with engine.begin() as conn:
        MintHandler(sender)(conn, mint_message(engine, transfer_id))


def balance_of(node: Web3Client, token: str, address: str) -> int:
    data = encode_call(TOKEN, "balanceOf", [address])
    return int(decode_result(["uint256"], node.call(token, data))[0])


def mints_for(node: Web3Client, deployment: Deployment, transfer_id: uuid.UUID) -> int:
    topics: list[bytes | None] = [MINT_TOPIC, None, None, ledger_ref32(transfer_id)]
    return len(node.logs(deployment.token, topics, deployment.token_block, node.block_number()))


def tx_rows(engine: Engine, transfer_id: uuid.UUID) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT tx_hash, status FROM evm_transactions WHERE purpose = 'mint'"
                " AND ledger_ref = :r"
            ),
            {"r": str(transfer_id)},
        ).all()
    return [tuple(row) for row in rows]


def withdrawal_status(engine: Engine, transfer_id: uuid.UUID) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT status FROM evm_withdrawals WHERE transfer_id = :t"),
                {"t": transfer_id},
            ).scalar_one()
        )


def book_withdrawal(engine: Engine, holder: str, to: str, amount: int) -> uuid.UUID:
    with engine.begin() as conn:
        return withdraw(
            bind(conn, SystemClock()), ANVIL_CHAIN_ID, holder, to, amount, uuid.uuid4().hex
        ).transfer_id


def test_deploy_twice_sends_nothing_the_second_time(
    db_engine: Engine, sender: TxSender, deployment: Deployment
) -> None:
    with db_engine.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM evm_transactions")).scalar_one()
    me = sender.address
    again = deploy(db_engine, sender, RoleHolders(me, me, me, me, me, me), MINTER_ALLOWANCE_SEN)
    with db_engine.connect() as conn:
        after = conn.execute(text("SELECT count(*) FROM evm_transactions")).scalar_one()
    assert again == deployment
    assert after == before


def test_withdrawal_books_the_ledger_and_mints_exactly_once(
    db_engine: Engine, sender: TxSender, node: Web3Client, deployment: Deployment
) -> None:
    holder = funded_holder(db_engine, 5_000)
    to = Account.create().address
    request_id = uuid.uuid4().hex
    with db_engine.begin() as conn:
        first = withdraw(bind(conn, SystemClock()), ANVIL_CHAIN_ID, holder, to, 1_250, request_id)
    with db_engine.begin() as conn:
        replay = withdraw(bind(conn, SystemClock()), ANVIL_CHAIN_ID, holder, to, 1_250, request_id)
    assert first.created
    assert not replay.created
    assert replay.transfer_id == first.transfer_id
    with db_engine.connect() as conn:
        assert Ledger(conn).balance(holder).posted == 3_750
    run_mint(db_engine, sender, first.transfer_id)
    run_mint(db_engine, sender, first.transfer_id)
    assert balance_of(node, deployment.token, to) == 1_250
    assert mints_for(node, deployment, first.transfer_id) == 1
    assert [status for _, status in tx_rows(db_engine, first.transfer_id)] == ["confirmed"]
    assert withdrawal_status(db_engine, first.transfer_id) == "minted"


def test_withdrawal_beyond_the_balance_is_refused_and_queues_nothing(
    db_engine: Engine, deployment: Deployment
) -> None:
    holder = funded_holder(db_engine, 100)
    request_id = uuid.uuid4().hex
    with pytest.raises(WithdrawalRefusedError) as refused, db_engine.begin() as conn:
        withdraw(
            bind(conn, SystemClock()),
            ANVIL_CHAIN_ID,
            holder,
            Account.create().address,
            101,
            request_id,
        )
    assert refused.value.code == "exceeds_credits"
    with pytest.raises(WithdrawalRefusedError) as bad_address, db_engine.begin() as conn:
        withdraw(bind(conn, SystemClock()), ANVIL_CHAIN_ID, holder, "0x1234", 1, request_id)
    assert bad_address.value.code == "invalid_address"
    with db_engine.connect() as conn:
        assert Ledger(conn).balance(holder).posted == 100


def test_crash_between_send_and_receipt_then_restart_mints_once(
    db_engine: Engine, node: Web3Client, service_account: LocalAccount, deployment: Deployment
) -> None:
    holder = funded_holder(db_engine, 900)
    to = Account.create().address
    tid = book_withdrawal(db_engine, holder, to, 900)
    crashing = make_sender(db_engine, CrashingNode(node), service_account)
    with pytest.raises(CrashAfterSend):
        run_mint(db_engine, crashing, tid)
    assert withdrawal_status(db_engine, tid) == "pending"
    [(recorded_hash, _)] = tx_rows(db_engine, tid)
    run_mint(db_engine, make_sender(db_engine, node, service_account), tid)
    assert tx_rows(db_engine, tid) == [(recorded_hash, "confirmed")]
    assert mints_for(node, deployment, tid) == 1
    assert balance_of(node, deployment.token, to) == 900


def mint_lost_by_the_node(
    engine: Engine, node: Web3Client, account: LocalAccount, chain: Chain, amount: int
) -> tuple[uuid.UUID, str, str]:
    """A withdrawal whose mint was recorded and sent, then the worker crashed and the node
    dropped the transaction: (transfer id, recipient, recorded hash)."""
    holder = funded_holder(engine, amount)
    to = Account.create().address
    tid = book_withdrawal(engine, holder, to, amount)
    provider = chain.w3.provider
    provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    with pytest.raises(CrashAfterSend):
        run_mint(engine, make_sender(engine, CrashingNode(node), account), tid)
    [(recorded_hash, _)] = tx_rows(engine, tid)
    provider.make_request("anvil_dropTransaction", [recorded_hash])  # type: ignore[arg-type]
    assert not node.transaction_known(recorded_hash)
    provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    return tid, to, recorded_hash


def test_transaction_lost_by_the_node_is_rebroadcast_with_the_same_bytes(
    db_engine: Engine,
    node: Web3Client,
    service_account: LocalAccount,
    deployment: Deployment,
    automine: Chain,
) -> None:
    tid, _, recorded_hash = mint_lost_by_the_node(db_engine, node, service_account, automine, 700)
    run_mint(db_engine, make_sender(db_engine, node, service_account), tid)
    assert tx_rows(db_engine, tid) == [(recorded_hash, "confirmed")]
    assert mints_for(node, deployment, tid) == 1


def test_a_new_sender_rebroadcasts_what_the_node_lost_before_anything_else(
    db_engine: Engine,
    node: Web3Client,
    service_account: LocalAccount,
    deployment: Deployment,
    automine: Chain,
) -> None:
    """The handlers' sender runs this on first use: a lost nonce would hold up every later one."""
    tid, to, recorded_hash = mint_lost_by_the_node(db_engine, node, service_account, automine, 600)
    assert make_sender(db_engine, node, service_account).recover_open() >= 1
    assert node.transaction_known(recorded_hash)
    assert balance_of(node, deployment.token, to) == 600
    run_mint(db_engine, make_sender(db_engine, node, service_account), tid)
    assert tx_rows(db_engine, tid) == [(recorded_hash, "confirmed")]
    assert mints_for(node, deployment, tid) == 1


def test_killed_worker_process_then_restart_mints_once(
    db_engine: Engine,
    database_url: str,
    anvil_url: str,
    service_key_file: Path,
    node: Web3Client,
    service_account: LocalAccount,
    deployment: Deployment,
    automine: Chain,
) -> None:
    holder = funded_holder(db_engine, 4_200)
    to = Account.create().address
    tid = book_withdrawal(db_engine, holder, to, 4_200)
    provider = automine.w3.provider
    provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    env = {
        **os.environ,
        "EVM_TEST_DATABASE_URL": database_url,
        "EVM_TEST_RPC_URL": anvil_url,
        "EVM_TEST_KEY_FILE": str(service_key_file),
        "EVM_TEST_TRANSFER_ID": str(tid),
    }
    worker = subprocess.Popen([sys.executable, str(WORKER_SCRIPT)], env=env)
    try:
        deadline = time.monotonic() + 30
        while not any(status == "submitted" for _, status in tx_rows(db_engine, tid)):
            assert worker.poll() is None, "worker exited before sending"
            assert time.monotonic() < deadline, "worker never sent the mint"
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    [(recorded_hash, _)] = tx_rows(db_engine, tid)
    assert node.transaction_known(recorded_hash)
    provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    run_mint(db_engine, make_sender(db_engine, node, service_account), tid)
    assert tx_rows(db_engine, tid) == [(recorded_hash, "confirmed")]
    assert mints_for(node, deployment, tid) == 1
    assert balance_of(node, deployment.token, to) == 4_200
    assert withdrawal_status(db_engine, tid) == "minted"


def deposit_on_chain(
    node: Web3Client, deployment: Deployment, holder_key: LocalAccount, amount: int, ref: bytes
) -> str:
    """The holder returns tokens: ``deposit(amount, ref)`` signed with eth-account."""
    request = TxRequest(
        to=deployment.token, data=encode_call(TOKEN, "deposit", [amount, ref]), gas_limit=150_000
    )
    signed = sign(
        holder_key, ANVIL_CHAIN_ID, node.pending_nonce(holder_key.address), request, node.fees()
    )
    node.send_raw(signed.raw)
    return node.wait_confirmed(signed.tx_hash, 1, 15).tx_hash


def fund_gas(chain: Chain, address: str) -> None:
    chain.w3.provider.make_request("anvil_setBalance", [address, hex(10**18)])  # type: ignore[arg-type]


def scan(engine: Engine, node: Web3Client, deployment: Deployment, confirmations: int = 1) -> int:
    with engine.begin() as conn:
        return scan_deposits(
            bind(conn, SystemClock()), node, deployment, confirmations, 10_000
        ).posted


def test_deposit_credits_the_holder_once_and_unknown_refs_go_to_suspense(
    db_engine: Engine, sender: TxSender, node: Web3Client, deployment: Deployment, evm_chain: Chain
) -> None:
    holder = funded_holder(db_engine, 3_000)
    wallet: LocalAccount = Account.create()
    fund_gas(evm_chain, wallet.address)
    tid = book_withdrawal(db_engine, holder, wallet.address, 3_000)
    run_mint(db_engine, sender, tid)
    scan(db_engine, node, deployment)
    with db_engine.begin() as conn:
        ref = deposit_reference(conn, holder)
        unmatched_before = Ledger(conn).balance(UNMATCHED_ACCOUNT).posted
    deposit_on_chain(node, deployment, wallet, 1_000, ref)
    deposit_on_chain(node, deployment, wallet, 7, b"\x42" * 32)
    assert scan(db_engine, node, deployment) == 2
    assert scan(db_engine, node, deployment) == 0
    with db_engine.begin() as conn:
        conn.execute(
            text("UPDATE evm_scan_cursors SET last_block = :b WHERE address = :a"),
            {"b": deployment.token_block, "a": deployment.token},
        )
    assert scan(db_engine, node, deployment) == 2, "a rescan reads the events again"
    with db_engine.connect() as conn:
        ledger = Ledger(conn)
        assert ledger.balance(holder).posted == 1_000
        assert ledger.balance(UNMATCHED_ACCOUNT).posted == unmatched_before + 7
        credited = conn.execute(
            text("SELECT count(*) FROM evm_deposits WHERE holder = :h"), {"h": holder}
        ).scalar_one()
    assert credited == 1
    assert balance_of(node, deployment.token, wallet.address) == 1_993


def test_deposit_waits_for_confirmation_depth(
    db_engine: Engine, sender: TxSender, node: Web3Client, deployment: Deployment, evm_chain: Chain
) -> None:
    holder = funded_holder(db_engine, 500)
    wallet: LocalAccount = Account.create()
    fund_gas(evm_chain, wallet.address)
    run_mint(db_engine, sender, book_withdrawal(db_engine, holder, wallet.address, 500))
    scan(db_engine, node, deployment, confirmations=1)
    with db_engine.begin() as conn:
        ref = deposit_reference(conn, holder)
    deposit_on_chain(node, deployment, wallet, 500, ref)
    assert scan(db_engine, node, deployment, confirmations=3) == 0
    evm_chain.w3.provider.make_request("anvil_mine", [2])  # type: ignore[arg-type]
    assert scan(db_engine, node, deployment, confirmations=3) == 1
    with db_engine.connect() as conn:
        assert Ledger(conn).balance(holder).posted == 500


def test_reconcile_supply_equals_ledger_float_and_reserve_covers_it(
    db_engine: Engine, sender: TxSender, node: Web3Client, deployment: Deployment
) -> None:
    holder = funded_holder(db_engine, 2_000)
    tid = book_withdrawal(db_engine, holder, Account.create().address, 2_000)
    with db_engine.connect() as conn:
        in_flight = reconcile(bind(conn, SystemClock()), node, deployment, 10_000)
    assert in_flight.minting >= 2_000
    assert in_flight.supply_matches
    run_mint(db_engine, sender, tid)
    scan(db_engine, node, deployment)
    with db_engine.connect() as conn:
        settled = reconcile(bind(conn, SystemClock()), node, deployment, 10_000)
        onchain = Ledger(conn).balance(ONCHAIN_ACCOUNT).posted
    assert settled.ok
    assert settled.total_supply == onchain == settled.ledger_onchain
    assert settled.reserve_cap == RESERVE_SEN
