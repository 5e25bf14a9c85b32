"""Helpers for tests that drive contracts on anvil: dev accounts and a small signing driver."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractCustomError, ContractLogicError
from web3.logs import DISCARD
from web3.types import TxReceipt

from chain.evm.abi import ANCHOR, TOKEN, artifact
from chain.evm.client import Web3Client
from chain.evm.types import Receipt

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
        address = receipt["contractAddress"]
        if address is None:
            raise AssertionError("deployment receipt without a contract address")
        return self.w3.eth.contract(address=address, abi=compiled.abi)

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
        logs = getattr(contract.events, event)().process_receipt(receipt, errors=DISCARD)
        return [dict(log["args"]) for log in logs if log["address"] == contract.address]

    def advance(self, seconds: int) -> None:
        """Mine one block ``seconds`` after the latest one."""
        self.w3.provider.make_request("evm_mine", [self.latest_timestamp() + seconds])  # type: ignore[arg-type]

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


class CrashAfterSend(Exception):
    """Stands in for the worker dying after the node accepted the transaction."""


class CrashingNode:
    """Delegates to a real node but 'dies' where a receipt would be awaited."""

    def __init__(self, node: Web3Client) -> None:
        self._node = node

    def __getattr__(self, name: str) -> Any:
        return getattr(self._node, name)

    @property
    def chain_id(self) -> int:
        return self._node.chain_id

    def wait_confirmed(self, tx_hash: str, confirmations: int, timeout_s: float) -> Receipt:
        raise CrashAfterSend(tx_hash)
