"""The one class that talks to an EVM node: web3.py over HTTP, chain id checked at start."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import (
    ContractLogicError,
    TransactionNotFound,
    Web3RPCError,
)
from web3.types import FilterParams, TxParams, Wei

from chain.evm.errors import (
    ChainIdMismatchError,
    RpcUnavailableError,
    TxRevertedError,
    TxTimeoutError,
    classify_rejection,
    is_already_known,
)
from chain.evm.fees import FeePolicy, Fees, choose_fees
from chain.evm.types import LogEntry, Receipt

_T = TypeVar("_T")

rpc_timeout_s_default = 10.0
receipt_poll_interval_s = 0.2


class Web3Client:
    """EvmNode over web3.py ``HTTPProvider``; every RPC failure surfaces as a chain.evm error."""

    def __init__(
        self,
        rpc_url: str,
        expected_chain_id: int,
        fee_policy: FeePolicy,
        rpc_timeout_s: float = rpc_timeout_s_default,
    ) -> None:
        provider = Web3.HTTPProvider(
            rpc_url, request_kwargs={"timeout": rpc_timeout_s}, exception_retry_configuration=None
        )
        self._w3 = Web3(provider)
        self._fee_policy = fee_policy
        actual = self._rpc(lambda: int(self._w3.eth.chain_id))
        if actual != expected_chain_id:
            raise ChainIdMismatchError(expected_chain_id, actual)
        self._chain_id = actual

    @property
    def chain_id(self) -> int:
        """The chain id verified at construction."""
        return self._chain_id

    def block_number(self) -> int:
        """The newest block number."""
        return self._rpc(lambda: int(self._w3.eth.block_number))

    def latest_timestamp(self) -> int:
        """The newest block's timestamp."""
        return self._rpc(lambda: int(self._w3.eth.get_block("latest")["timestamp"]))

    def pending_nonce(self, address: str) -> int:
        """Next nonce including mempool transactions."""
        checksum = Web3.to_checksum_address(address)
        return self._rpc(lambda: int(self._w3.eth.get_transaction_count(checksum, "pending")))

    def fees(self) -> Fees:
        """EIP-1559 fees when the latest block has a base fee, else the legacy gas price."""
        block = self._rpc(lambda: self._w3.eth.get_block("latest"))
        base_fee = block.get("baseFeePerGas")
        if base_fee is None:
            price = self._rpc(lambda: int(self._w3.eth.gas_price))
            return choose_fees(self._fee_policy, None, None, price)
        tip = self._rpc(lambda: int(self._w3.eth.max_priority_fee))
        return choose_fees(self._fee_policy, int(base_fee), tip)

    def estimate_gas(self, sender: str, to: str | None, data: bytes, value_wei: int = 0) -> int:
        """Gas estimate; TxRevertedError when the call would revert."""
        params: TxParams = {"from": Web3.to_checksum_address(sender), "data": data}
        if value_wei:
            params["value"] = Wei(value_wei)
        if to is not None:
            params["to"] = Web3.to_checksum_address(to)
        return self._rpc(lambda: int(self._w3.eth.estimate_gas(params)))

    def send_raw(self, raw: bytes) -> str:
        """Broadcast; 'already known' returns the hash, other rejections raise typed errors."""
        tx_hash = Web3.keccak(raw).to_0x_hex()
        try:
            return HexBytes(self._rpc(lambda: self._w3.eth.send_raw_transaction(raw))).to_0x_hex()
        except _RejectedError as rejected:
            if is_already_known(rejected.message):
                return tx_hash
            raise classify_rejection(rejected.message)(rejected.message) from None

    def transaction_known(self, tx_hash: str) -> bool:
        """True when the node has the transaction, pending or mined."""
        try:
            self._rpc(lambda: self._w3.eth.get_transaction(HexBytes(tx_hash)))
        except TransactionNotFound:
            return False
        return True

    def receipt(self, tx_hash: str) -> Receipt | None:
        """The receipt, or None while not mined."""
        try:
            raw = self._rpc(lambda: self._w3.eth.get_transaction_receipt(HexBytes(tx_hash)))
        except TransactionNotFound:
            return None
        return _receipt(raw)

    def wait_confirmed(self, tx_hash: str, confirmations: int, timeout_s: float) -> Receipt:
        """Poll until mined with ``confirmations`` blocks (the receipt's own counts as 1)."""
        started = time.monotonic()
        while True:
            receipt = self.receipt(tx_hash)
            if receipt is not None and self.block_number() - receipt.block_number + 1 >= max(
                confirmations, 1
            ):
                if not receipt.succeeded:
                    raise TxRevertedError(tx_hash)
                return receipt
            waited = time.monotonic() - started
            if waited >= timeout_s:
                raise TxTimeoutError(tx_hash, waited)
            time.sleep(min(receipt_poll_interval_s, max(timeout_s - waited, 0.0)))

    def has_code(self, address: str) -> bool:
        """True when a contract is deployed at ``address``."""
        checksum = Web3.to_checksum_address(address)
        return len(self._rpc(lambda: self._w3.eth.get_code(checksum))) > 0

    def call(self, to: str, data: bytes) -> bytes:
        """eth_call at the latest block."""
        params: TxParams = {"to": Web3.to_checksum_address(to), "data": data}
        return bytes(self._rpc(lambda: self._w3.eth.call(params)))

    def logs(
        self, address: str, topics: list[bytes | None], from_block: int, to_block: int
    ) -> list[LogEntry]:
        """Event logs of ``address`` in [from_block, to_block]."""
        params: FilterParams = {
            "address": Web3.to_checksum_address(address),
            "fromBlock": from_block,
            "toBlock": to_block,
            "topics": [None if t is None else HexBytes(t) for t in topics],
        }
        return [_log(entry) for entry in self._rpc(lambda: self._w3.eth.get_logs(params))]

    def _rpc(self, request: Callable[[], _T]) -> _T:
        try:
            return request()
        except ContractLogicError as error:
            raise TxRevertedError("(call)", _revert_data(error)) from error
        except TransactionNotFound:
            raise
        except Web3RPCError as error:
            message = _rpc_message(error)
            if "revert" in message.lower():
                raise TxRevertedError("(call)", message) from error
            raise _RejectedError(message) from error
        except (requests.ConnectionError, requests.Timeout) as error:
            raise RpcUnavailableError(str(error)) from error


class _RejectedError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _rpc_message(error: Web3RPCError) -> str:
    response = error.rpc_response or {}
    detail = response.get("error") if isinstance(response, dict) else None
    if isinstance(detail, dict) and isinstance(detail.get("message"), str):
        return str(detail["message"])
    return str(error.message)


def _revert_data(error: ContractLogicError) -> str:
    data = error.data
    if isinstance(data, str):
        return data
    return str(error.message or "")


def _receipt(raw: Any) -> Receipt:  # noqa: ANN401 - web3's TxReceipt AttributeDict
    address = raw.get("contractAddress")
    return Receipt(
        tx_hash=HexBytes(raw["transactionHash"]).to_0x_hex(),
        block_number=int(raw["blockNumber"]),
        succeeded=int(raw["status"]) == 1,
        gas_used=int(raw["gasUsed"]),
        contract_address=str(address) if address else None,
        logs=tuple(_log(entry) for entry in raw["logs"]),
    )


def _log(raw: Any) -> LogEntry:  # noqa: ANN401 - web3's LogReceipt AttributeDict
    return LogEntry(
        address=str(raw["address"]),
        topics=tuple(bytes(t) for t in raw["topics"]),
        data=bytes(raw["data"]),
        block_number=int(raw["blockNumber"]),
        tx_hash=HexBytes(raw["transactionHash"]).to_0x_hex(),
        log_index=int(raw["logIndex"]),
    )
