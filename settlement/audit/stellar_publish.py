"""Outbox handler of ``stellar.anchor``: put a month's digest in one Stellar-family transaction's
memo hash, exactly once (decision 0033).

One step per message, each in the dispatcher's transaction, as the A2U payouts do: ``requested``
signs the envelope and stores it with its hash (and queues the next step); ``signed`` submits
that same stored envelope, again after a crash or a lost answer (Horizon answers a known
envelope with its record), and records the ledger. An envelope is thrown away and a new one
signed only when it can never anchor: it failed on the network (its fee charged, its memo in no
successful transaction), or its time bound and the expiry margin have passed and a look-up by
hash made after that finds nothing. So a month never has two successful anchor transactions.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from sqlalchemy import Connection
from stellar_sdk import Keypair

from chain.pi.errors import HorizonNotFoundError, TxSubmitRejectedError
from chain.pi.ports import PiChain
from chain.stellar.anchor import build_anchor
from escrow.calendar import US_PER_S
from escrow.clock import Clock
from settlement.audit.stellar_anchor import (
    STELLAR_ANCHOR_KIND,
    StellarAnchorRequest,
    discard_envelope,
    load_stellar_request,
    record_signed,
    record_stellar_anchored,
)
from settlement.outbox import OutboxMessage, PermanentFailure, enqueue

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class StellarAnchorDeps:
    """The Horizon the anchor goes through, its network and the pinned anchor account."""

    chain: PiChain
    network_passphrase: str
    signer: Keypair
    clock: Clock
    expiry_margin_s: int


class StellarAnchorHandler:
    """Advances a month's Stellar anchor by one step per message."""

    def __init__(self, deps: StellarAnchorDeps) -> None:
        self._deps = deps

    def __call__(self, conn: Connection, message: OutboxMessage) -> None:
        """Sign, or submit and record, the anchor of the month in ``message`` (idempotent)."""
        period = str(message.payload["period"])
        request = load_stellar_request(conn, period, lock=True)
        if request is None:
            raise PermanentFailure(f"no Stellar anchor request for {period}")
        if request.anchored:
            return
        deps = self._deps
        if (request.network_passphrase, request.source_account) != (
            deps.network_passphrase,
            deps.signer.public_key,
        ):
            raise PermanentFailure(
                f"the anchor of {period} is for {request.source_account} on"
                f" {request.network_passphrase!r}, this worker signs for another"
            )
        if request.status == "requested":
            self._sign(conn, request)
        else:
            self._submit(conn, request)

    def _sign(self, conn: Connection, request: StellarAnchorRequest) -> None:
        deps = self._deps
        account = deps.chain.account(deps.signer.public_key)
        signed = build_anchor(
            signer=deps.signer,
            account_sequence=account.sequence,
            digest=bytes.fromhex(request.digest),
            base_fee_stroops=deps.chain.base_fee(),
            network_passphrase=deps.network_passphrase,
            now_unix=deps.clock.now_us() // US_PER_S,
        )
        period, tx_hash = request.period, signed.tx_hash
        record_signed(conn, period, signed.envelope_xdr, tx_hash, signed.valid_until_unix)
        enqueue(conn, STELLAR_ANCHOR_KIND, f"{period}:signed:{tx_hash}", {"period": period})
        log.info("audit_stellar_anchor_signed", period=request.period, tx_hash=signed.tx_hash)

    def _submit(self, conn: Connection, request: StellarAnchorRequest) -> None:
        if request.envelope_xdr is None or request.tx_hash is None:
            raise PermanentFailure(f"the signed anchor of {request.period} has no envelope")
        deps = self._deps
        try:
            deps.chain.submit(request.envelope_xdr)
        except TxSubmitRejectedError as rejected:
            self._after_rejection(conn, request, rejected)
            return
        self._record(conn, request)

    def _after_rejection(
        self, conn: Connection, request: StellarAnchorRequest, rejected: TxSubmitRejectedError
    ) -> None:
        """A rejection may mean an earlier submission already landed; only Horizon can say."""
        deps, tx_hash = self._deps, str(request.tx_hash)
        expired = deps.clock.now_us() // US_PER_S > (request.valid_until or 0) + (
            deps.expiry_margin_s
        )
        try:
            deps.chain.transaction(tx_hash)
        except HorizonNotFoundError:
            if not expired:
                raise rejected from None
            self._sign_again(conn, request, "expired")
            return
        self._record(conn, request)

    def _sign_again(self, conn: Connection, request: StellarAnchorRequest, why: str) -> None:
        """Throw away an envelope that can never be an anchor and queue signing a new one."""
        tx_hash = str(request.tx_hash)
        period = request.period
        discard_envelope(conn, period, tx_hash)
        enqueue(conn, STELLAR_ANCHOR_KIND, f"{period}:{why}:{tx_hash}", {"period": period})
        log.warning("audit_stellar_anchor_resigned", period=period, tx_hash=tx_hash, why=why)

    def _record(self, conn: Connection, request: StellarAnchorRequest) -> None:
        tx_hash = str(request.tx_hash)
        record = self._deps.chain.transaction(tx_hash).record
        ledger = record.get("ledger")
        if record.get("successful") is not True:
            self._sign_again(conn, request, "failed")
            return
        if not isinstance(ledger, int) or ledger <= 0:
            raise PermanentFailure(f"Horizon names no ledger for the anchor {tx_hash}")
        record_stellar_anchored(conn, request.period, tx_hash, ledger)
        log.info("audit_stellar_anchored", period=request.period, tx_hash=tx_hash, ledger=ledger)
