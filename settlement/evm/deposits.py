"""Deposits: credit the holder once per confirmed ``Deposit`` event of the token.

Events are read from the block after the stored cursor up to ``head - confirmations + 1`` (reorg
safety by depth), a bounded range per call. The transfer id is uuid5 of (chain id, tx hash, log
index), so a rescan of the same event returns ``exists``; the cursor moves in the same database
transaction as the postings.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import Connection, text

from chain.evm.abi import event_topic, topic_address
from chain.evm.interfaces import EvmNode
from chain.evm.types import LogEntry
from escrow.errors import InvariantViolation
from escrow.model import TransferRequest, amount_max
from escrow.model import transfer_id as make_transfer_id
from settlement.chart import TransferCode
from settlement.evm.bridge import MSC, ONCHAIN_ACCOUNT, UNMATCHED_ACCOUNT, ensure_bridge_accounts
from settlement.evm.deployment import Deployment
from settlement.suspense import Unbooked, book_to_suspense
from settlement.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

DEPOSIT_TOPIC = event_topic("Deposit(address,uint256,bytes32)")
DEPOSIT_CODE = TransferCode.MSC_ONCHAIN_DEPOSIT
DEPOSIT_NAMESPACE = "evm.deposit"
DEPOSIT_STREAM = "deposit"


@dataclass(frozen=True, slots=True)
class DepositEvent:
    """A decoded ``Deposit(from, amount, ledgerRef)`` log."""

    tx_hash: str
    log_index: int
    block_number: int
    from_address: str
    amount: int
    ledger_ref: bytes


@dataclass(frozen=True, slots=True)
class ScanResult:
    """Blocks read and deposits posted by one scan."""

    from_block: int
    to_block: int
    posted: int


def decode_deposit(entry: LogEntry) -> DepositEvent:
    """Decode a Deposit log (from and ledgerRef are indexed, amount is data)."""
    if len(entry.topics) != 3 or entry.topics[0] != DEPOSIT_TOPIC or len(entry.data) != 32:
        raise ValueError(f"not a Deposit log: {entry.tx_hash}:{entry.log_index}")
    return DepositEvent(
        tx_hash=entry.tx_hash,
        log_index=entry.log_index,
        block_number=entry.block_number,
        from_address=topic_address(entry.topics[1]),
        amount=int.from_bytes(entry.data, "big"),
        ledger_ref=entry.topics[2],
    )


def deposit_transfer_id_for(chain_id: int, tx_hash: str, log_index: int) -> str:
    """The external id of a deposit event (uuid5 input): chain, lower-case hash, log index."""
    return f"{chain_id}:{tx_hash.lower()}:{log_index}"


def pending_deposit_range(
    conn: Connection, node: EvmNode, deployment: Deployment, confirmations: int, blocks_max: int
) -> tuple[int, int]:
    """The (first, last) block the next scan reads; first > last when nothing is due."""
    cursor = _cursor(conn, deployment, lock=False)
    safe_head = node.block_number() - max(confirmations, 1) + 1
    return cursor + 1, min(safe_head, cursor + blocks_max)


def scan_deposits(
    uow: UnitOfWork, node: EvmNode, deployment: Deployment, confirmations: int, blocks_max: int
) -> ScanResult:
    """Credit confirmed deposits after the cursor and advance it (the unit of work commits).

    The node is asked first, with no row locked; then the cursor is locked and checked again:
    if another scan moved it meanwhile, this one books nothing (the next run reads on).
    """
    conn = uow.conn
    first, last = pending_deposit_range(conn, node, deployment, confirmations, blocks_max)
    if first > last:
        return ScanResult(first, last, 0)
    entries = node.logs(deployment.token, [DEPOSIT_TOPIC], first, last)
    if _cursor(conn, deployment, lock=True) != first - 1:
        log.info("evm_deposit_scan_raced", from_block=first, to_block=last)
        return ScanResult(first, first - 1, 0)
    ensure_bridge_accounts(uow.ledger)
    posted = sum(_post_deposit(uow, deployment.chain_id, decode_deposit(e)) for e in entries)
    conn.execute(
        text(
            "UPDATE evm_scan_cursors SET last_block = :b, updated_at = now()"
            " WHERE chain_id = :c AND address = :a AND stream = :s"
        ),
        {"b": last, "c": deployment.chain_id, "a": deployment.token, "s": DEPOSIT_STREAM},
    )
    return ScanResult(first, last, posted)


def _cursor(conn: Connection, deployment: Deployment, lock: bool) -> int:
    params = {"c": deployment.chain_id, "a": deployment.token, "s": DEPOSIT_STREAM}
    conn.execute(
        text(
            "INSERT INTO evm_scan_cursors (chain_id, address, stream, last_block)"
            " VALUES (:c, :a, :s, :b) ON CONFLICT DO NOTHING"
        ),
        {**params, "b": max(deployment.token_block - 1, 0)},
    )
    query = (
        "SELECT last_block FROM evm_scan_cursors WHERE chain_id = :c AND address = :a"
        " AND stream = :s"
    )
    return int(conn.execute(text(query + (" FOR UPDATE" if lock else "")), params).scalar_one())


def _post_deposit(uow: UnitOfWork, chain_id: int, event: DepositEvent) -> int:
    """Post one burn event's deposit once; 1 when the ledger holds it as posted, else 0."""
    if not 0 < event.amount <= amount_max:
        raise InvariantViolation(f"deposit amount out of range in {event.tx_hash}")
    conn, ledger = uow.conn, uow.ledger
    holder = conn.execute(
        text("SELECT holder FROM evm_deposit_refs WHERE ledger_ref = :r"), {"r": event.ledger_ref}
    ).scalar_one_or_none()
    credit = str(holder) if holder is not None else UNMATCHED_ACCOUNT
    external = deposit_transfer_id_for(chain_id, event.tx_hash, event.log_index)
    transfer_id = make_transfer_id(DEPOSIT_NAMESPACE, external)
    result = ledger.post(
        TransferRequest(
            id=transfer_id,
            debit=ONCHAIN_ACCOUNT,
            credit=credit,
            amount=event.amount,
            asset=MSC,
            code=DEPOSIT_CODE,
            external_ref=f"{event.tx_hash}:{event.log_index}",
            user_data={"chain_id": chain_id, "from": event.from_address},
        )
    )
    if not result.ok:  # the MSC was burnt on chain: book it to suspense, never retry it
        ref = f"{event.tx_hash}:{event.log_index}"
        burnt = Unbooked("evm", transfer_id, MSC, event.amount, ONCHAIN_ACCOUNT, credit, ref)
        book_to_suspense(conn, ledger, burnt, result.code)
    conn.execute(
        text(
            "INSERT INTO evm_deposits (chain_id, tx_hash, log_index, block_number, from_address,"
            " amount, ledger_ref, holder, transfer_id) VALUES (:c, :h, :i, :b, :f, :amt, :r,"
            " :holder, :t) ON CONFLICT DO NOTHING"
        ),
        {
            "c": chain_id,
            "h": event.tx_hash.lower(),
            "i": event.log_index,
            "b": event.block_number,
            "f": event.from_address,
            "amt": event.amount,
            "r": event.ledger_ref,
            "holder": credit,
            "t": transfer_id,
        },
    )
    if holder is None:
        log.warning("evm_deposit_unmatched", tx_hash=event.tx_hash, log_index=event.log_index)
    return int(result.ok)  # a deposit booked to suspense is not posted
