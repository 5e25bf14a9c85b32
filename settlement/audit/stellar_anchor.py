"""The second anchor's request and record: a month's digest as the memo hash of a transaction
on a Stellar-family network (decision 0033).

``request_stellar_anchor`` only writes to the database (the row and a ``stellar.anchor`` outbox
message in the same transaction); the handler in ``settlement.audit.stellar_publish`` signs the
envelope (stored before it is first submitted), submits it, and records the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, text

from settlement.audit import bundle as b
from settlement.audit.anchor import AnchorRefused
from settlement.audit.bundle import StellarAnchor
from settlement.unit_of_work import UnitOfWork

STELLAR_ANCHOR_KIND = "stellar.anchor"


@dataclass(frozen=True, slots=True)
class StellarAnchorRequest:
    """A month's Stellar anchor: requested, signed (envelope stored), then anchored."""

    period: str
    network_passphrase: str
    source_account: str
    digest: str
    status: str
    envelope_xdr: str | None
    tx_hash: str | None
    valid_until: int | None
    ledger: int | None

    @property
    def anchored(self) -> bool:
        """True once the transaction is in a ledger and recorded."""
        return self.status == "anchored"

    def entry(self) -> StellarAnchor:
        """The anchors.json entry of an anchored month."""
        if self.tx_hash is None or self.ledger is None:
            raise AnchorRefused(f"{self.period} is not anchored on {self.network_passphrase!r}")
        return StellarAnchor(
            self.network_passphrase,
            self.source_account,
            b.anchor_period(self.period),
            self.digest,
            self.tx_hash,
            self.ledger,
        )


_SELECT = (
    "SELECT period, network_passphrase, source_account, digest, status, envelope_xdr, tx_hash,"
    " valid_until, ledger FROM audit_stellar_anchors"
)


def request_stellar_anchor(
    uow: UnitOfWork, period: str, signed: str, network_passphrase: str, source_account: str
) -> tuple[StellarAnchorRequest, bool]:
    """Record that ``period``'s digest (which must be the ``signed`` one) is to be anchored on
    the network from ``source_account`` and queue the message (caller commits); the request and
    whether it is new. A second call changes nothing."""
    existing = load_stellar_request(uow.conn, period)
    if existing is not None:
        return existing, False
    digest = uow.conn.execute(
        text("SELECT digest FROM audit_digests WHERE period = :p"), {"p": period}
    ).scalar_one_or_none()
    if digest is None:
        raise AnchorRefused(f"{period} has no recorded digest: export it first (msc audit export)")
    if digest != signed:
        raise AnchorRefused(f"{period} was recorded with digest {digest}, the bundle has {signed}")
    uow.conn.execute(
        text(
            "INSERT INTO audit_stellar_anchors (period, network_passphrase, source_account, digest)"
            " VALUES (:p, :n, :s, :d)"
        ),
        {"p": period, "n": network_passphrase, "s": source_account, "d": digest},
    )
    uow.outbox.enqueue(STELLAR_ANCHOR_KIND, f"{period}:requested", {"period": period})
    request = load_stellar_request(uow.conn, period)
    if request is None:
        raise AnchorRefused(f"the Stellar anchor request of {period} vanished")
    return request, True


def load_stellar_request(
    conn: Connection, period: str, lock: bool = False
) -> StellarAnchorRequest | None:
    """The Stellar anchor request of ``period`` (locked for update when ``lock``)."""
    row = conn.execute(
        text(_SELECT + " WHERE period = :p" + (" FOR UPDATE" if lock else "")), {"p": period}
    ).one_or_none()
    return None if row is None else _request(row)


def record_signed(
    conn: Connection, period: str, envelope_xdr: str, tx_hash: str, valid_until: int
) -> None:
    """Store the signed envelope before it is first submitted (a crash resubmits this one)."""
    conn.execute(
        text(
            "UPDATE audit_stellar_anchors SET status = 'signed', envelope_xdr = :x, tx_hash = :h,"
            " valid_until = :v WHERE period = :p AND status = 'requested'"
        ),
        {"x": envelope_xdr, "h": tx_hash, "v": valid_until, "p": period},
    )


def discard_envelope(conn: Connection, period: str, tx_hash: str) -> None:
    """Forget an envelope that can no longer land (its time bound passed, not on the network),
    so the next step signs a new one."""
    conn.execute(
        text(
            "UPDATE audit_stellar_anchors SET status = 'requested', envelope_xdr = NULL,"
            " tx_hash = NULL, valid_until = NULL WHERE period = :p AND tx_hash = :h"
            " AND status = 'signed'"
        ),
        {"p": period, "h": tx_hash},
    )


def record_stellar_anchored(conn: Connection, period: str, tx_hash: str, ledger: int) -> None:
    """Record the ledger that holds ``period``'s anchor (once; the row is then frozen)."""
    conn.execute(
        text(
            "UPDATE audit_stellar_anchors SET status = 'anchored', ledger = :l, anchored_at = now()"
            " WHERE period = :p AND tx_hash = :h AND status = 'signed'"
        ),
        {"l": ledger, "p": period, "h": tx_hash},
    )


def stellar_anchored(conn: Connection, period: str) -> list[StellarAnchor]:
    """The confirmed Stellar anchor of ``period`` (none or one): what its anchors.json lists."""
    rows = conn.execute(
        text(_SELECT + " WHERE period = :p AND status = 'anchored'"), {"p": period}
    ).all()
    return [_request(row).entry() for row in rows]


def _request(row: Row[Any]) -> StellarAnchorRequest:
    return StellarAnchorRequest(
        period=str(row.period),
        network_passphrase=str(row.network_passphrase),
        source_account=str(row.source_account),
        digest=str(row.digest),
        status=str(row.status),
        envelope_xdr=None if row.envelope_xdr is None else str(row.envelope_xdr),
        tx_hash=None if row.tx_hash is None else str(row.tx_hash),
        valid_until=None if row.valid_until is None else int(row.valid_until),
        ledger=None if row.ledger is None else int(row.ledger),
    )
