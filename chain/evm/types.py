"""Plain data crossing the EVM adapter boundary (no web3 types leak out)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class TxRequest:
    """What a transaction should do; nonce, fees and signature are added by the sender."""

    to: str | None
    data: bytes
    gas_limit: int
    value_wei: int = 0

    def __post_init__(self) -> None:
        if self.gas_limit <= 0 or self.value_wei < 0:
            raise ValueError("gas limit must be positive and value non-negative")


@dataclass(frozen=True, slots=True)
class SignedTx:
    """A signed transaction: its hash is known before it is sent, so it can be recorded first."""

    tx_hash: str
    raw: bytes
    sender: str
    nonce: int


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One event log as the node returned it."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes
    block_number: int
    tx_hash: str
    log_index: int


@dataclass(frozen=True, slots=True)
class Receipt:
    """A mined transaction's outcome."""

    tx_hash: str
    block_number: int
    succeeded: bool
    gas_used: int
    contract_address: str | None = None
    logs: tuple[LogEntry, ...] = field(default=())
