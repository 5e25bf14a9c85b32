"""Rows of evm_transactions and evm_nonces: every transaction is stored before it is sent."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, text

from chain.redaction import redact_urls

error_text_max = 2000


class TxStatus(StrEnum):
    """A chain transaction is signed, then submitted, then confirmed (or reverted / replaced)."""

    SIGNED = "signed"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    REVERTED = "reverted"
    REPLACED = "replaced"


@dataclass(frozen=True, slots=True)
class SentTx:
    """One recorded transaction: what it is for, and the exact signed bytes to (re)submit."""

    id: int
    chain_id: int
    purpose: str
    ledger_ref: str
    sender: str
    nonce: int
    tx_hash: str
    raw: bytes
    to_address: str | None
    status: TxStatus
    block_number: int | None


_COLUMNS = (
    "id, chain_id, purpose, ledger_ref, sender, nonce, tx_hash, raw_tx, to_address, status, "
    "block_number"
)


def _row(row: Row[Any]) -> SentTx:
    return SentTx(
        id=int(row.id),
        chain_id=int(row.chain_id),
        purpose=str(row.purpose),
        ledger_ref=str(row.ledger_ref),
        sender=str(row.sender),
        nonce=int(row.nonce),
        tx_hash=str(row.tx_hash),
        raw=bytes(row.raw_tx),
        to_address=None if row.to_address is None else str(row.to_address),
        status=TxStatus(str(row.status)),
        block_number=None if row.block_number is None else int(row.block_number),
    )


def live_tx(conn: Connection, chain_id: int, purpose: str, ledger_ref: str) -> SentTx | None:
    """The signed, submitted or confirmed transaction for (purpose, reference), if any."""
    row = conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM evm_transactions WHERE chain_id = :chain AND purpose = :p"  # noqa: S608 - fixed column list
            " AND ledger_ref = :ref AND status IN ('signed', 'submitted', 'confirmed')"
        ),
        {"chain": chain_id, "p": purpose, "ref": ledger_ref},
    ).first()
    return None if row is None else _row(row)


def open_txs(conn: Connection, chain_id: int, sender: str, limit: int) -> list[SentTx]:
    """Transactions of ``sender`` not yet known to be confirmed, oldest nonce first."""
    rows = conn.execute(
        text(
            f"SELECT {_COLUMNS} FROM evm_transactions WHERE chain_id = :chain AND sender = :s"  # noqa: S608 - fixed column list
            " AND status IN ('signed', 'submitted') ORDER BY nonce LIMIT :limit"
        ),
        {"chain": chain_id, "s": sender, "limit": limit},
    ).all()
    return [_row(row) for row in rows]


def reserve_nonce(conn: Connection, chain_id: int, sender: str, chain_pending_nonce: int) -> int:
    """Take the sender's next nonce under a row lock: max(stored next, node's pending count).

    The stored counter survives restarts and covers signed-but-unsent transactions the node has
    never seen; the node's count covers transactions sent by anyone else with the same key.
    """
    conn.execute(
        text(
            "INSERT INTO evm_nonces (chain_id, address, next_nonce) VALUES (:chain, :a, :n)"
            " ON CONFLICT (chain_id, address) DO NOTHING"
        ),
        {"chain": chain_id, "a": sender, "n": chain_pending_nonce},
    )
    stored = conn.execute(
        text(
            "SELECT next_nonce FROM evm_nonces WHERE chain_id = :chain AND address = :a FOR UPDATE"
        ),
        {"chain": chain_id, "a": sender},
    ).scalar_one()
    nonce = max(int(stored), chain_pending_nonce)
    conn.execute(
        text(
            "UPDATE evm_nonces SET next_nonce = :next, updated_at = now()"
            " WHERE chain_id = :chain AND address = :a"
        ),
        {"next": nonce + 1, "chain": chain_id, "a": sender},
    )
    return nonce


def insert_tx(
    conn: Connection,
    *,
    chain_id: int,
    purpose: str,
    ledger_ref: str,
    sender: str,
    nonce: int,
    tx_hash: str,
    raw: bytes,
    to_address: str | None,
) -> SentTx:
    """Record a signed transaction (status ``signed``) before it is submitted."""
    row = conn.execute(
        text(
            "INSERT INTO evm_transactions (chain_id, purpose, ledger_ref, sender, nonce, tx_hash,"  # noqa: S608 - fixed column list
            " raw_tx, to_address) VALUES (:chain, :p, :ref, :s, :n, :h, :raw, :to)"
            f" RETURNING {_COLUMNS}"
        ),
        {
            "chain": chain_id,
            "p": purpose,
            "ref": ledger_ref,
            "s": sender,
            "n": nonce,
            "h": tx_hash,
            "raw": raw,
            "to": to_address,
        },
    ).one()
    return _row(row)


def set_status(
    conn: Connection,
    record_id: int,
    status: TxStatus,
    block_number: int | None = None,
    error: str | None = None,
) -> None:
    """Move a transaction to ``status`` (with its block, or the error that decided it)."""
    conn.execute(
        text(
            "UPDATE evm_transactions SET status = :status, block_number = coalesce(:block,"
            " block_number), last_error = coalesce(:error, last_error), updated_at = now()"
            " WHERE id = :id"
        ),
        {
            "status": str(status),
            "block": block_number,
            "error": None if error is None else redact_urls(error)[:error_text_max],
            "id": record_id,
        },
    )
