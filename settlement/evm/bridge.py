"""The MSC bridge: withdrawal (ledger debit, then a mint through the outbox) and deposit refs.

Invariant: the token's totalSupply equals the ledger balance of ``msc:onchain`` once every
withdrawal is minted and every confirmed deposit is credited.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

import structlog
from eth_utils.address import is_address, to_checksum_address
from sqlalchemy import Connection, text

from chain.evm.errors import TxRevertedError
from escrow.model import TransferRequest
from escrow.model import transfer_id as make_transfer_id
from escrow.ports import LedgerProtocol
from escrow.refusals import Refusal
from settlement import chart
from settlement.chart import TransferCode
from settlement.evm import token
from settlement.evm.deployment import load_deployment
from settlement.evm.sender import TxSender
from settlement.outbox import OutboxMessage, PermanentFailure
from settlement.unit_of_work import UnitOfWork

log = structlog.get_logger(__name__)

MSC = "MSC"
ONCHAIN_ACCOUNT = chart.msc_onchain().code
UNMATCHED_ACCOUNT = chart.msc_unmatched().code
MINT_KIND = "evm.mint"
WITHDRAW_CODE = TransferCode.MSC_ONCHAIN_WITHDRAW
WITHDRAW_NAMESPACE = "msc.onchain.withdraw"
MINT_PURPOSE = "mint"


class WithdrawalRefusedError(Refusal, ValueError):
    """The withdrawal cannot be booked; ``code`` is stable (ledger result code or input error)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail, code=code)

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """A booked withdrawal; the mint follows through the outbox."""

    transfer_id: uuid.UUID
    holder: str
    to_address: str
    amount: int
    created: bool


def ensure_bridge_accounts(ledger: LedgerProtocol) -> None:
    """Open the on-chain float and the unmatched-deposit suspense (MSC liabilities, never < 0)."""
    for spec in (chart.msc_onchain(), chart.msc_unmatched()):
        chart.ensure_open(ledger, spec)


def withdraw(
    uow: UnitOfWork, chain_id: int, holder: str, to_address: str, amount: int, request_id: str
) -> Withdrawal:
    """Move ``amount`` MSC sen from ``holder`` to ``msc:onchain`` and queue the mint, atomically.

    ``request_id`` is the client's idempotency key: a replay books nothing and queues nothing.
    """
    if not is_address(to_address):
        raise WithdrawalRefusedError("invalid_address", f"not an EVM address: {to_address!r}")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise WithdrawalRefusedError("invalid_amount", "amount must be a positive int of MSC sen")
    to_checksum = to_checksum_address(to_address)
    ensure_bridge_accounts(uow.ledger)
    request = withdrawal_request(chain_id, holder, to_checksum, amount, request_id)
    transfer_id = request.id
    result = uow.ledger.post(request)
    if not result.ok:
        raise WithdrawalRefusedError(str(result.code), f"ledger refused withdrawal {transfer_id}")
    created = uow.conn.execute(
        text(
            "INSERT INTO evm_withdrawals (transfer_id, chain_id, holder, to_address, amount)"
            " VALUES (:t, :c, :h, :a, :amt) ON CONFLICT (transfer_id) DO NOTHING RETURNING 1"
        ),
        {"t": transfer_id, "c": chain_id, "h": holder, "a": to_checksum, "amt": amount},
    ).first()
    uow.outbox.enqueue(MINT_KIND, str(transfer_id), {"transfer_id": str(transfer_id)})
    return Withdrawal(transfer_id, holder, to_checksum, amount, created is not None)


def withdrawal_request(
    chain_id: int, holder: str, to_checksum: str, amount: int, request_id: str
) -> TransferRequest:
    """The transfer that moves a withdrawal's MSC from ``holder`` to ``msc:onchain``, keyed by
    the client's ``request_id``."""
    return TransferRequest(
        id=make_transfer_id(WITHDRAW_NAMESPACE, request_id),
        debit=holder,
        credit=ONCHAIN_ACCOUNT,
        amount=amount,
        asset=MSC,
        code=WITHDRAW_CODE,
        external_ref=to_checksum,
        user_data={"chain_id": chain_id, "to": to_checksum},
    )


class MintHandler:
    """Outbox handler of ``evm.mint``: one confirmed mint per withdrawal, whatever crashes."""

    def __init__(self, sender: TxSender) -> None:
        self._sender = sender

    def __call__(self, conn: Connection, message: OutboxMessage) -> None:
        """Mint for the withdrawal in ``message`` (idempotent; raises to be retried)."""
        transfer_id = uuid.UUID(str(message.payload["transfer_id"]))
        row = conn.execute(
            text(
                "SELECT to_address, amount, status, chain_id FROM evm_withdrawals"
                " WHERE transfer_id = :t FOR UPDATE"
            ),
            {"t": transfer_id},
        ).first()
        if row is None:
            raise PermanentFailure(f"no withdrawal {transfer_id}")
        to_address, amount, chain_id = str(row.to_address), int(row.amount), int(row.chain_id)
        if row.status == "minted":
            return
        node = self._sender.node
        if chain_id != node.chain_id:
            raise PermanentFailure(
                f"withdrawal {transfer_id} is for chain {chain_id}, not {node.chain_id}"
            )
        token_address = load_deployment(conn, chain_id).token
        tx_hash = self._mint(token_address, to_address, amount, transfer_id)
        conn.execute(
            text(
                "UPDATE evm_withdrawals SET status = 'minted', tx_hash = :h, minted_at = now()"
                " WHERE transfer_id = :t"
            ),
            {"h": tx_hash, "t": transfer_id},
        )
        log.info(
            "evm_withdrawal_minted", transfer_id=str(transfer_id), tx_hash=tx_hash, amount=amount
        )

    def _mint(self, token_address: str, to: str, amount: int, transfer_id: uuid.UUID) -> str | None:
        node = self._sender.node
        ref = str(transfer_id)
        recorded = self._sender.find(MINT_PURPOSE, ref)
        if recorded is None and token.is_mint_ref_used(node, token_address, transfer_id):
            log.warning("evm_mint_found_on_chain_without_record", transfer_id=ref)
            return None
        try:
            receipt = self._sender.execute(
                MINT_PURPOSE,
                ref,
                lambda: token.mint_request(token_address, to, amount, transfer_id),
            )
        except TxRevertedError:
            if token.is_mint_ref_used(node, token_address, transfer_id):
                return None
            raise
        return receipt.tx_hash


DEPOSIT_REF_DOMAIN = b"msc.onchain.deposit\x1f"


def deposit_reference(conn: Connection, holder: str) -> bytes:
    """The ``bytes32`` a holder passes to ``deposit(amount, ref)`` to be credited to ``holder``."""
    ref = hashlib.sha256(DEPOSIT_REF_DOMAIN + holder.encode("utf-8")).digest()
    conn.execute(
        text(
            "INSERT INTO evm_deposit_refs (ledger_ref, holder) VALUES (:r, :h)"
            " ON CONFLICT DO NOTHING"
        ),
        {"r": ref, "h": holder},
    )
    return ref
