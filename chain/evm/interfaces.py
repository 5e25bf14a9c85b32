"""The EVM node as the settlement layer sees it (implemented by chain.evm.client.Web3Client)."""

from __future__ import annotations

from typing import Protocol

from chain.evm.fees import Fees
from chain.evm.types import LogEntry, Receipt


class EvmNode(Protocol):
    """One JSON-RPC endpoint of one chain; every method is a network call."""

    @property
    def chain_id(self) -> int:
        """The chain id verified when the client was created."""
        ...

    def block_number(self) -> int:
        """The newest block number."""
        ...

    def latest_timestamp(self) -> int:
        """The newest block's timestamp (Unix seconds): the chain's idea of now."""
        ...

    def pending_nonce(self, address: str) -> int:
        """The next nonce of ``address`` counting transactions still in the mempool."""
        ...

    def fees(self) -> Fees:
        """Fees for a new transaction under the client's fee policy."""
        ...

    def estimate_gas(self, sender: str, to: str | None, data: bytes, value_wei: int = 0) -> int:
        """Gas the call would use; raises TxRevertedError when it would revert."""
        ...

    def send_raw(self, raw: bytes) -> str:
        """Broadcast a signed transaction; a copy the node already holds is not an error."""
        ...

    def transaction_known(self, tx_hash: str) -> bool:
        """True when the node has the transaction (pending or mined)."""
        ...

    def receipt(self, tx_hash: str) -> Receipt | None:
        """The receipt, or None while the transaction is not mined."""
        ...

    def wait_confirmed(self, tx_hash: str, confirmations: int, timeout_s: float) -> Receipt:
        """The receipt once ``confirmations`` blocks sit on top of it (0 = mined)."""
        ...

    def has_code(self, address: str) -> bool:
        """True when a contract is deployed at ``address``."""
        ...

    def call(self, to: str, data: bytes) -> bytes:
        """An eth_call at the latest block; raises TxRevertedError when it reverts."""
        ...

    def logs(
        self, address: str, topics: list[bytes | None], from_block: int, to_block: int
    ) -> list[LogEntry]:
        """Event logs of ``address`` in the inclusive block range."""
        ...
