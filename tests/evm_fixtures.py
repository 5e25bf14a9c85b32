"""pytest plugin: a real anvil node per test worker, dev accounts, and helpers to drive contracts.

Registered by ``pytest_plugins = ["tests.evm_fixtures"]``. Each test runs between an anvil
``evm_snapshot`` and ``evm_revert``, so contracts deployed once per session start clean every time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.types import TxReceipt

from chain.evm.abi import ANCHOR, TOKEN, artifact
from chain.evm.anvil import ANVIL_CHAIN_ID, AnvilNode, ensure_node_deps

# anvil's documented development mnemonic; these keys hold test ether only.
ANVIL_DEV_MNEMONIC = "test test test test test test test test test test test junk"
DEV_ACCOUNTS_COUNT = 10


@dataclass(frozen=True)
class DevAccounts:
    """Named anvil dev accounts, one per role, so a role check is never passed by accident."""

    admin: LocalAccount
    minter_admin: LocalAccount
    minter: LocalAccount
    pauser: LocalAccount
    blocklister: LocalAccount
    attester: LocalAccount
    publisher: LocalAccount
    alice: LocalAccount
    bob: LocalAccount
    mallory: LocalAccount


def dev_account(index: int) -> LocalAccount:
    """The anvil dev account at ``index`` (derived from the documented mnemonic)."""
    Account.enable_unaudited_hdwallet_features()
    account: LocalAccount = Account.from_mnemonic(
        ANVIL_DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}"
    )
    return account


class Chain:
    """Thin test driver: sign with eth-account, send, wait; decode custom errors by name."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def deploy(self, name: str, signer: LocalAccount, *args: Any) -> Contract:
        compiled = artifact(name)
        factory = self.w3.eth.contract(abi=compiled.abi, bytecode=compiled.bytecode)
        tx = factory.constructor(*args).build_transaction(self._base(signer))
        receipt = self._send(signer, tx)
        return self.w3.eth.contract(address=receipt["contractAddress"], abi=compiled.abi)

    def send(self, signer: LocalAccount, call: Any) -> TxReceipt:
        """Send a contract function call signed by ``signer``; the receipt must succeed."""
        receipt = self._send(signer, call.build_transaction(self._base(signer)))
        if receipt["status"] != 1:
            raise AssertionError(f"transaction reverted: {receipt}")
        return receipt

    def revert_name(self, signer: LocalAccount, call: Any) -> str:
        """The custom error name the call reverts with (it must revert)."""
        try:
            call.estimate_gas({"from": signer.address})
        except ContractCustomError as error:
            return self._error_name(call.address, str(error.data))
        except ContractLogicError as error:
            return f"revert:{error.message}"
        raise AssertionError("call did not revert")

    def events(self, contract: Contract, receipt: TxReceipt, event: str) -> list[dict[str, Any]]:
        """Decoded ``event`` logs of ``contract`` in ``receipt``."""
        logs = getattr(contract.events, event)().process_receipt(receipt)
        return [dict(log["args"]) for log in logs if log["address"] == contract.address]

    def set_timestamp(self, timestamp: int) -> None:
        self.w3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])  # type: ignore[arg-type]

    def latest_timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def _base(self, signer: LocalAccount) -> dict[str, Any]:
        return {"from": signer.address, "nonce": self.w3.eth.get_transaction_count(signer.address)}

    def _send(self, signer: LocalAccount, tx: Any) -> TxReceipt:
        signed = signer.sign_transaction(tx)
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=10)

    def _error_name(self, address: str, data: str) -> str:
        selector = bytes.fromhex(data.removeprefix("0x")[:8])
        for name in (TOKEN, ANCHOR):
            for entry in artifact(name).abi:
                if entry["type"] != "error":
                    continue
                signature = f"{entry['name']}({','.join(i['type'] for i in entry['inputs'])})"
                if keccak(text=signature)[:4] == selector:
                    return str(entry["name"])
        return f"unknown:{data} at {address}"


@pytest.fixture(scope="session")
def anvil_node() -> Iterator[AnvilNode]:
    """One anvil per test worker (installs the pinned npm toolchain first when missing)."""
    ensure_node_deps()
    with AnvilNode(chain_id=ANVIL_CHAIN_ID) as node:
        yield node


@pytest.fixture(scope="session")
def anvil_url(anvil_node: AnvilNode) -> str:
    return anvil_node.url


@pytest.fixture(scope="session")
def dev_accounts() -> DevAccounts:
    accounts = [dev_account(i) for i in range(DEV_ACCOUNTS_COUNT)]
    return DevAccounts(*accounts)


@pytest.fixture(scope="session")
def evm_chain(anvil_url: str) -> Chain:
    return Chain(Web3(Web3.HTTPProvider(anvil_url)))


@pytest.fixture
def evm_snapshot(evm_chain: Chain) -> Iterator[Chain]:
    """Run the test between anvil evm_snapshot / evm_revert."""
    provider = evm_chain.w3.provider
    snapshot = provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield evm_chain
    provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
