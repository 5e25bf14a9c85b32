"""Outbox handler of ``evm.anchor``: publish a month's digest on ``AuditAnchor`` exactly once.

The transaction goes through the recorded-transaction sender (nonce reserved, raw bytes
committed before it is submitted, resumed by hash after a crash). The contract itself is the last
word: a period it already holds with our digest is recorded without sending; a period it holds
with a different digest is an alarm, and the message is parked for a person.
"""

from __future__ import annotations

import structlog
from sqlalchemy import Connection

from chain.evm.abi import ANCHOR, decode_result, encode_call, event_topic
from chain.evm.errors import TxRevertedError
from chain.evm.interfaces import EvmNode
from settlement.audit.anchor import AnchorRequest, load_request, record_anchored
from settlement.audit.bundle import anchor_period
from settlement.evm.sender import TxSender
from settlement.evm.token import publish_request
from settlement.outbox import OutboxMessage, PermanentFailure

log = structlog.get_logger(__name__)

ANCHOR_PURPOSE = "audit-anchor"
ANCHORED_TOPIC = event_topic("Anchored(uint64,bytes32,bytes32,address)")
_ANCHOR_STRUCT = "(bytes32,bytes32,address,uint64,uint64)"
_ZERO = bytes(32)


class AnchorNotReadyError(RuntimeError):
    """The previous month is not on chain yet; the message is retried later."""


def digest_of(node: EvmNode, contract: str, period: int) -> bytes:
    """The digest the contract holds for ``period`` (zero when none)."""
    data = node.call(contract, encode_call(ANCHOR, "digestOf", [period]))
    return bytes(decode_result(["bytes32"], data)[0])


def latest(node: EvmNode, contract: str) -> tuple[int, bytes]:
    """The latest anchored period and its digest (0 and zero at first)."""
    period = decode_result(["uint64"], node.call(contract, encode_call(ANCHOR, "latestPeriod", [])))
    digest = decode_result(
        ["bytes32"], node.call(contract, encode_call(ANCHOR, "latestDigest", []))
    )
    return int(period[0]), bytes(digest[0])


def anchored_in(node: EvmNode, contract: str, period: int, digest: bytes) -> tuple[str, int]:
    """The transaction hash and block that anchored ``digest`` for ``period`` (from the event)."""
    data = node.call(contract, encode_call(ANCHOR, "anchorOf", [period]))
    block = int(decode_result([_ANCHOR_STRUCT], data)[0][3])
    topics: list[bytes | None] = [ANCHORED_TOPIC, period.to_bytes(32, "big"), digest]
    found = node.logs(contract, topics, block, block)
    if not found:
        raise PermanentFailure(f"{contract} holds {period} from block {block} but no Anchored log")
    return found[0].tx_hash, block


class AnchorHandler:
    """Publishes ``publish(period, digest, prevDigest)`` for the requested month, once."""

    def __init__(self, sender: TxSender) -> None:
        self._sender = sender

    def __call__(self, conn: Connection, message: OutboxMessage) -> None:
        """Anchor the month in ``message`` and record the confirmed transaction (idempotent)."""
        period, chain_id = str(message.payload["period"]), int(message.payload["chain_id"])
        request = load_request(conn, period, chain_id, lock=True)
        if request is None:
            raise PermanentFailure(f"no anchor request for {period} on chain {chain_id}")
        if request.anchored:
            return
        if chain_id != self._sender.node.chain_id:
            raise PermanentFailure(
                f"anchor of {period} is for chain {chain_id}, not {self._sender.node.chain_id}"
            )
        tx_hash, block = self._publish(request)
        record_anchored(conn, period, chain_id, tx_hash, block)
        log.info("audit_anchored", period=period, tx_hash=tx_hash, block=block)

    def _publish(self, request: AnchorRequest) -> tuple[str, int]:
        node, contract = self._sender.node, request.contract
        number = anchor_period(request.period)
        digest, prev = bytes.fromhex(request.digest), bytes.fromhex(request.prev_digest)
        ref = f"{contract}:{number}"
        if self._sender.find(ANCHOR_PURPOSE, ref) is None:
            if self._held(contract, number, digest):
                log.warning("audit_anchor_found_on_chain_without_record", period=request.period)
                return anchored_in(node, contract, number, digest)
            self._check_ready(request, number, prev)
        try:
            receipt = self._sender.execute(
                ANCHOR_PURPOSE, ref, lambda: publish_request(contract, number, digest, prev)
            )
        except TxRevertedError:
            if self._held(contract, number, digest):
                return anchored_in(node, contract, number, digest)
            raise
        if not self._held(contract, number, digest):
            raise PermanentFailure(f"{receipt.tx_hash} confirmed but {contract} lacks {number}")
        return receipt.tx_hash, receipt.block_number

    def _held(self, contract: str, number: int, digest: bytes) -> bool:
        """True when the contract holds ``digest`` for the period; parks on another digest."""
        held = digest_of(self._sender.node, contract, number)
        if held not in (_ZERO, digest):
            raise PermanentFailure(
                f"ALARM: {contract} holds {held.hex()} for {number}, the ledger's digest is"
                f" {digest.hex()}"
            )
        return held == digest

    def _check_ready(self, request: AnchorRequest, number: int, prev: bytes) -> None:
        """The chain's latest anchor is this month's previous one; retry while it is earlier."""
        latest_period, latest_digest = latest(self._sender.node, request.contract)
        if latest_period >= number:
            raise PermanentFailure(
                f"{request.contract} already anchors {latest_period} >= {number}"
            )
        if latest_digest == prev:
            return
        previous = 0 if request.previous_period is None else anchor_period(request.previous_period)
        if latest_period < previous:
            raise AnchorNotReadyError(f"{request.previous_period} is not anchored on chain yet")
        raise PermanentFailure(
            f"ALARM: {request.contract}'s latest anchor {latest_period} ({latest_digest.hex()})"
            f" is not {request.period}'s previous digest {prev.hex()}"
        )
