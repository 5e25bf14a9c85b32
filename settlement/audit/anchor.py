"""Anchoring a month's recorded digest on the EVM ``AuditAnchor``: the request, the record of
the confirmed transaction, and the bundle's anchors.json.

``request_anchor`` only writes to the database (a row saying an anchor is requested, and an
``evm.anchor`` outbox message in the same transaction); the outbox handler in
``settlement.evm.anchor`` publishes and calls ``record_anchored``. Anchors live outside the
signed manifest, so writing them into a bundle never changes its digest.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, text

from escrow.refusals import Refusal
from settlement.audit import bundle as b
from settlement.audit.bundle import Anchor, EvmAnchor
from settlement.audit.verify import TrustRoot, check_bundle, read_manifest
from settlement.unit_of_work import UnitOfWork

ANCHOR_KIND = "evm.anchor"
ZERO_DIGEST = bytes(32).hex()
"""The previous digest of the first anchored month (what ``AuditAnchor`` expects at first)."""


class AnchorRefused(Refusal, ValueError):
    """The month cannot be anchored (no recorded digest, earlier month not anchored, ...)."""

    code = "audit_anchor_refused"


@dataclass(frozen=True, slots=True)
class AnchorRequest:
    """A month's anchor on one chain: requested, then anchored in ``tx_hash``/``block_number``."""

    period: str
    previous_period: str | None
    chain_id: int
    contract: str
    digest: str
    prev_digest: str
    status: str
    tx_hash: str | None
    block_number: int | None

    @property
    def anchored(self) -> bool:
        """True once the transaction is confirmed and recorded."""
        return self.status == "anchored"

    def entry(self) -> EvmAnchor:
        """The anchors.json entry of an anchored month."""
        if self.tx_hash is None or self.block_number is None:
            raise AnchorRefused(f"{self.period} is not anchored on chain {self.chain_id} yet")
        return EvmAnchor(
            self.chain_id,
            self.contract,
            b.anchor_period(self.period),
            self.digest,
            self.prev_digest,
            self.tx_hash,
            self.block_number,
        )


_SELECT = """
    SELECT a.period, d.previous_period, a.chain_id, a.contract, a.digest, a.prev_digest,
           a.status, a.tx_hash, a.block_number
    FROM audit_anchors a JOIN audit_digests d ON d.period = a.period
"""


def signed_digest(bundle: Path, period: str) -> str:
    """The digest of ``period``'s exported bundle once it verifies, signatures included: an
    anchor is forever, so only a digest the officers signed is anchored. The bundle's own
    officers are trusted here: the exporter already refused a change of officers that no
    ``officers.rotate`` entry authorises."""
    manifest = read_manifest(bundle)
    if manifest.period != period:
        raise AnchorRefused(f"{bundle} is the bundle of {manifest.period}, not {period}")
    check_bundle(bundle, trust=TrustRoot(bundle_officers=True))
    return b.digest(manifest.raw).hex()


def request_anchor(
    uow: UnitOfWork, period: str, chain_id: int, signed: str
) -> tuple[AnchorRequest, bool]:
    """Record that ``period``'s digest (which must be the ``signed`` one) is to be anchored on
    ``chain_id`` and queue the message (caller commits); the request and whether it is new. A
    second call changes nothing."""
    conn = uow.conn
    existing = load_request(conn, period, chain_id)
    if existing is not None:
        return existing, False
    row = conn.execute(
        text(
            "SELECT d.digest, d.previous_period, p.digest AS previous_digest FROM audit_digests d"
            " LEFT JOIN audit_digests p ON p.period = d.previous_period WHERE d.period = :p"
        ),
        {"p": period},
    ).one_or_none()
    if row is None:
        raise AnchorRefused(f"{period} has no recorded digest: export it first (msc audit export)")
    digest, previous_period, previous_digest = (
        str(row.digest),
        row.previous_period,
        row.previous_digest,
    )
    if digest != signed:
        raise AnchorRefused(f"{period} was recorded with digest {digest}, the bundle has {signed}")
    if previous_period is not None and load_request(conn, previous_period, chain_id) is None:
        raise AnchorRefused(f"anchor {previous_period} first: anchors chain like the digests")
    # Imported here: the deployment reads chain.evm, which imports web3 (0.6 s and 93 MB that
    # an export, which writes anchors.json from the database, does not need).
    from settlement.evm.deployment import DeploymentMissingError, load_deployment

    try:
        contract = load_deployment(conn, chain_id).anchor
    except DeploymentMissingError as missing:
        raise AnchorRefused(f"{missing}: run msc chain deploy") from None
    conn.execute(
        text(
            "INSERT INTO audit_anchors (period, chain_id, contract, digest, prev_digest)"
            " VALUES (:p, :c, :a, :d, :prev)"
        ),
        {
            "p": period,
            "c": chain_id,
            "a": contract,
            "d": digest,
            "prev": ZERO_DIGEST if previous_digest is None else str(previous_digest),
        },
    )
    if not uow.outbox.enqueue(ANCHOR_KIND, period, {"chain_id": chain_id, "period": period}):
        raise AnchorRefused(f"an anchor of {period} is already queued for another chain")
    request = load_request(conn, period, chain_id)
    if request is None:
        raise AnchorRefused(f"the anchor request of {period} vanished")
    return request, True


def load_request(
    conn: Connection, period: str, chain_id: int, lock: bool = False
) -> AnchorRequest | None:
    """The anchor request of ``period`` on ``chain_id`` (locked for update when ``lock``)."""
    row = conn.execute(
        text(
            _SELECT
            + " WHERE a.period = :p AND a.chain_id = :c"
            + (" FOR UPDATE OF a" if lock else "")
        ),
        {"p": period, "c": chain_id},
    ).one_or_none()
    return None if row is None else _request(row)


def record_anchored(
    conn: Connection, period: str, chain_id: int, tx_hash: str, block_number: int
) -> None:
    """Record the confirmed transaction that anchored ``period`` (once; the row is then frozen)."""
    conn.execute(
        text(
            "UPDATE audit_anchors SET status = 'anchored', tx_hash = :h, block_number = :b,"
            " anchored_at = now() WHERE period = :p AND chain_id = :c AND status = 'requested'"
        ),
        {"h": tx_hash, "b": block_number, "p": period, "c": chain_id},
    )


def anchored(conn: Connection, period: str) -> list[Anchor]:
    """The confirmed anchors of ``period``, EVM ones by chain id then the Stellar one: what its
    anchors.json lists."""
    from settlement.audit.stellar_anchor import stellar_anchored  # it imports this module

    rows = conn.execute(
        text(_SELECT + " WHERE a.period = :p AND a.status = 'anchored' ORDER BY a.chain_id"),
        {"p": period},
    ).all()
    return [*(_request(row).entry() for row in rows), *stellar_anchored(conn, period)]


def write_anchors(path: Path, entries: Sequence[Anchor]) -> None:
    """Write anchors.json at ``path`` (replacing it whole, never half-written)."""
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    document = [entry.as_json() for entry in entries]
    partial.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    os.replace(partial, path)


def update_bundle_anchors(conn: Connection, period: str, bundle: Path) -> list[Anchor]:
    """Write ``period``'s confirmed anchors into the exported ``bundle``; refused when the
    bundle is another month's or its digest is not the recorded one."""
    manifest = read_manifest(bundle)
    recorded = conn.execute(
        text("SELECT digest FROM audit_digests WHERE period = :p"), {"p": period}
    ).scalar_one_or_none()
    if manifest.period != period or recorded != b.digest(manifest.raw).hex():
        raise AnchorRefused(f"{bundle} is not the recorded bundle of {period}")
    entries = anchored(conn, period)
    if not entries:
        raise AnchorRefused(f"{period} has no confirmed anchor yet (msc audit anchor, worker)")
    write_anchors(bundle / b.ANCHORS, entries)
    return entries


def _request(row: Row[Any]) -> AnchorRequest:
    return AnchorRequest(
        period=str(row.period),
        previous_period=None if row.previous_period is None else str(row.previous_period),
        chain_id=int(row.chain_id),
        contract=str(row.contract),
        digest=str(row.digest),
        prev_digest=str(row.prev_digest),
        status=str(row.status),
        tx_hash=None if row.tx_hash is None else str(row.tx_hash),
        block_number=None if row.block_number is None else int(row.block_number),
    )
