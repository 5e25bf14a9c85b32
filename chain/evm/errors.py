"""Typed errors of the EVM adapter: one class per operating error the service handles."""

from __future__ import annotations

from chain.redaction import redact_urls


class EvmError(Exception):
    """Base of every error raised by chain.evm."""


class ChainIdMismatchError(EvmError, ValueError):
    """The RPC endpoint serves another chain than the configured one."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"RPC chain id {actual} != configured {expected}")
        self.expected = expected
        self.actual = actual


class RpcUnavailableError(EvmError):
    """The node could not be reached or answered with a transport error.

    The message goes to logs and stored errors: the RPC URL's path and query (where providers
    put the API key) are redacted from it.
    """

    def __init__(self, message: str) -> None:
        super().__init__(redact_urls(message))


class RpcRejectedError(EvmError):
    """The node rejected a request for a reason without a more specific class."""


class NonceTooLowError(RpcRejectedError):
    """The sender's nonce was already used by a mined transaction."""


class UnderpricedError(RpcRejectedError):
    """The fee is below the node's floor (base fee, or a replacement's required bump)."""


class InsufficientFundsError(RpcRejectedError):
    """The sender cannot pay value + gas."""


class TxRevertedError(EvmError):
    """The transaction was mined and reverted (status 0), or a call would revert."""

    def __init__(self, tx_hash: str, reason: str = "") -> None:
        super().__init__(f"transaction {tx_hash} reverted {reason}".strip())
        self.tx_hash = tx_hash
        self.reason = reason


class TxReplacedError(EvmError):
    """Another transaction with the same sender and nonce was mined instead of ours."""

    def __init__(self, tx_hash: str, nonce: int) -> None:
        super().__init__(f"transaction {tx_hash} was replaced at nonce {nonce}")
        self.tx_hash = tx_hash
        self.nonce = nonce


class TxTimeoutError(EvmError, TimeoutError):
    """No receipt with the required confirmation depth arrived in time."""

    def __init__(self, tx_hash: str, waited_s: float) -> None:
        super().__init__(f"transaction {tx_hash} not confirmed after {waited_s:.1f} s")
        self.tx_hash = tx_hash
        self.waited_s = waited_s


def classify_rejection(message: str) -> type[RpcRejectedError]:
    """Map a node's JSON-RPC error message (geth, anvil, erigon wording) to an error class."""
    text = message.lower()
    if "nonce too low" in text:
        return NonceTooLowError
    if "underpriced" in text or "less than block base fee" in text or "fee too low" in text:
        return UnderpricedError
    if "insufficient funds" in text:
        return InsufficientFundsError
    return RpcRejectedError


def is_already_known(message: str) -> bool:
    """True when the node already holds this exact transaction (a rebroadcast is harmless)."""
    text = message.lower()
    return "already known" in text or "already imported" in text
