"""Send a transaction exactly once: sign, record, commit, then submit; recover by hash.

The node is asked (gas estimate, pending nonce, fees) before the nonce row is locked, and
submitted to only after the record committed: no network call waits while a row lock is held.

The signed bytes are committed to evm_transactions before the node sees them. After a crash the
same row is found by (purpose, reference): if the node knows the hash we wait for it, if not we
rebroadcast the very same bytes (same nonce, same hash). A new transaction for the same purpose
is only ever signed after the old one is known to be reverted or replaced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine

from chain.evm.errors import EvmError, NonceTooLowError, TxReplacedError, TxRevertedError
from chain.evm.interfaces import EvmNode
from chain.evm.signing import sign
from chain.evm.types import Receipt, TxRequest
from settlement.evm import txstore
from settlement.evm.txstore import SentTx, TxStatus
from settlement.unit_of_work import transaction

log = structlog.get_logger(__name__)
recover_batch_max = 100


class GasLimitExceededError(EvmError):
    """The call needs more gas than its request allows (a limit, never raised silently)."""


@dataclass(frozen=True, slots=True)
class SendLimits:
    """Confirmation depth and how long one call waits for it."""

    confirmations: int = 1
    receipt_timeout_s: float = 60.0


class TxSender:
    """Signs with one key and sends through one node; every transaction is recorded first."""

    def __init__(
        self,
        engine: Engine,
        node: EvmNode,
        account: LocalAccount,
        limits: SendLimits | None = None,
    ) -> None:
        self._engine = engine
        self._node = node
        self._account = account
        self._limits = limits or SendLimits()

    @property
    def address(self) -> str:
        """The sending account's address."""
        return str(self._account.address)

    @property
    def account(self) -> LocalAccount:
        """The signing account (also the attester in the local default)."""
        return self._account

    @property
    def node(self) -> EvmNode:
        """The node this sender talks to."""
        return self._node

    def execute(self, purpose: str, ledger_ref: str, build: Callable[[], TxRequest]) -> Receipt:
        """Ensure exactly one confirmed transaction for (purpose, reference); its receipt.

        ``build`` is called only when no live transaction exists. Raises TxTimeoutError (retry
        later: the recorded transaction is resumed), TxRevertedError or TxReplacedError.
        """
        tx = self.find(purpose, ledger_ref)
        if tx is None:
            tx = self._sign_and_record(purpose, ledger_ref, build())
        if tx.status is not TxStatus.CONFIRMED:
            self._ensure_submitted(tx)
        return self._confirm(tx)

    def find(self, purpose: str, ledger_ref: str) -> SentTx | None:
        """The live transaction recorded for (purpose, reference), if any."""
        with self._engine.connect() as conn:
            return txstore.live_tx(conn, self._node.chain_id, purpose, ledger_ref)

    def recover_open(self) -> int:
        """Rebroadcast recorded transactions the node lost (after a crash); how many were open."""
        with self._engine.connect() as conn:
            open_txs = txstore.open_txs(conn, self._node.chain_id, self.address, recover_batch_max)
        for tx in open_txs:
            try:
                self._ensure_submitted(tx)
            except TxReplacedError:
                log.error("evm_tx_replaced", tx_hash=tx.tx_hash, nonce=tx.nonce)
        return len(open_txs)

    def _sign_and_record(self, purpose: str, ledger_ref: str, request: TxRequest) -> SentTx:
        chain_id = self._node.chain_id
        try:
            self._check_gas(request)
        except TxRevertedError:  # a concurrent sender may have recorded (and sent) it meanwhile
            raced = self.find(purpose, ledger_ref)
            if raced is None:
                raise
            return raced
        chain_nonce = self._node.pending_nonce(self.address)
        fees = self._node.fees()
        with transaction(self._engine) as conn:
            existing = txstore.live_tx(conn, chain_id, purpose, ledger_ref)
            if existing is not None:
                return existing
            nonce = txstore.reserve_nonce(conn, chain_id, self.address, chain_nonce)
            signed = sign(self._account, chain_id, nonce, request, fees)
            tx = txstore.insert_tx(
                conn,
                chain_id=chain_id,
                purpose=purpose,
                ledger_ref=ledger_ref,
                sender=self.address,
                nonce=nonce,
                tx_hash=signed.tx_hash,
                raw=signed.raw,
                to_address=request.to,
            )
        log.info(
            "evm_tx_recorded", purpose=purpose, ref=ledger_ref, tx_hash=tx.tx_hash, nonce=nonce
        )
        return tx

    def _check_gas(self, request: TxRequest) -> None:
        """Refuse before signing a call that would revert (TxRevertedError) or exceed its limit."""
        estimate = self._node.estimate_gas(
            self.address, request.to, request.data, request.value_wei
        )
        if estimate > request.gas_limit:
            raise GasLimitExceededError(f"gas estimate {estimate} > limit {request.gas_limit}")

    def _ensure_submitted(self, tx: SentTx) -> None:
        if self._node.transaction_known(tx.tx_hash):
            self._mark(tx, TxStatus.SUBMITTED)
            return
        try:
            self._node.send_raw(tx.raw)
        except NonceTooLowError as error:
            if self._node.receipt(tx.tx_hash) is None:
                self._mark(tx, TxStatus.REPLACED, error=str(error))
                raise TxReplacedError(tx.tx_hash, tx.nonce) from error
        log.info("evm_tx_submitted", tx_hash=tx.tx_hash, nonce=tx.nonce, status=str(tx.status))
        self._mark(tx, TxStatus.SUBMITTED)

    def _confirm(self, tx: SentTx) -> Receipt:
        limits = self._limits
        try:
            receipt = self._node.wait_confirmed(
                tx.tx_hash, limits.confirmations, limits.receipt_timeout_s
            )
        except TxRevertedError as error:
            self._mark(tx, TxStatus.REVERTED, error=str(error))
            raise
        self._mark(tx, TxStatus.CONFIRMED, block_number=receipt.block_number)
        return receipt

    def _mark(
        self,
        tx: SentTx,
        status: TxStatus,
        block_number: int | None = None,
        error: str | None = None,
    ) -> None:
        if tx.status is status and error is None and block_number is None:
            return
        with transaction(self._engine) as conn:
            txstore.set_status(conn, tx.id, status, block_number=block_number, error=error)
