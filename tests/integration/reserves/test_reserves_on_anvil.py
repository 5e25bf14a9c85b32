"""MSC issued against Rupiah, withdrawn to chain, minted on anvil and deposited back, with the
reserve attested on chain from the stored computation (PostgreSQL + anvil, issue 12)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine

from chain.evm.anvil import ANVIL_CHAIN_ID, ensure_local_dev_key
from chain.evm.client import Web3Client
from chain.evm.signing import load_account
from escrow.clock import SystemClock
from settlement.evm.bridge import deposit_reference, withdraw
from settlement.evm.deployment import Deployment, RoleHolders, deploy
from settlement.evm.sender import SendLimits, TxSender
from settlement.evm.token import reserve_cap, total_supply
from settlement.reserves.attestation import attest_reserve
from settlement.reserves.issuance import BankDeposit, issue, record_bank_deposit
from settlement.reserves.reserve import read_figures
from settlement.unit_of_work import bind
from tests.evm_support import Chain
from tests.integration.test_evm_bridge import (
    FEES,
    MINTER_ALLOWANCE_SEN,
    balance_of,
    deposit_on_chain,
    fund_gas,
    run_mint,
    scan,
)

pytest_plugins = ("tests.evm_fixtures",)
pytestmark = pytest.mark.integration

HOLDER = "pioneer:on-anvil:MSC"


@pytest.fixture
def sender(module_engine: Engine, anvil_url: str, tmp_path: Path, evm_snapshot: Chain) -> TxSender:
    """The service's sender on the module's database, between anvil snapshot and revert."""
    key_file = tmp_path / "service.key"
    ensure_local_dev_key(key_file, anvil_url)
    node = Web3Client(anvil_url, ANVIL_CHAIN_ID, FEES)
    return TxSender(module_engine, node, load_account(None, key_file), SendLimits(1, 15))


@pytest.fixture
def deployment(module_engine: Engine, sender: TxSender) -> Deployment:
    me = sender.address
    return deploy(module_engine, sender, RoleHolders(me, me, me, me, me, me), MINTER_ALLOWANCE_SEN)


def test_issued_msc_is_minted_on_anvil_and_deposited_back(
    module_engine: Engine, sender: TxSender, deployment: Deployment, evm_snapshot: Chain
) -> None:
    clock = SystemClock()
    with module_engine.begin() as conn:
        uow = bind(conn, clock)
        record_bank_deposit(uow, BankDeposit("ANVIL-1", 1_000_000, HOLDER, date(2026, 12, 1)), "t")
        issue(uow, "ANVIL-1", "t")
    attested = attest_reserve(module_engine, clock, sender, None)
    assert attested.amount == attested.computation.reserve_value_idr == 1_000_000
    assert reserve_cap(sender.node, deployment.token) == 1_000_000

    wallet: LocalAccount = Account.create()
    fund_gas(evm_snapshot, wallet.address)
    with module_engine.begin() as conn:
        booked = withdraw(bind(conn, clock), ANVIL_CHAIN_ID, HOLDER, wallet.address, 400_000, "w1")
    run_mint(module_engine, sender, booked.transfer_id)
    node = sender.node
    assert isinstance(node, Web3Client)
    assert balance_of(node, deployment.token, wallet.address) == 400_000
    assert total_supply(node, deployment.token) == 400_000
    with module_engine.connect() as conn:
        figures = read_figures(conn)
    assert (figures.msc_ledger, figures.msc_onchain, figures.idr_reserve) == (
        600_000, 400_000, 1_000_000,
    )  # fmt: skip

    scan(module_engine, node, deployment)
    with module_engine.begin() as conn:
        ref = deposit_reference(conn, HOLDER)
    deposit_on_chain(node, deployment, wallet, 150_000, ref)
    assert scan(module_engine, node, deployment) == 1
    with module_engine.connect() as conn:
        figures = read_figures(conn)
        held = bind(conn, clock).ledger.balance(HOLDER).posted
    assert held == 750_000
    assert (figures.msc_ledger, figures.msc_onchain) == (750_000, 250_000)
    assert total_supply(node, deployment.token) == 250_000
