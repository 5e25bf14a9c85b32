"""Every published month's digest still follows from the database: its recorded manifest hashes
to the recorded digest, and its transfers and balances sections recompute from the ledger."""

from __future__ import annotations

import json

from sqlalchemy import Connection

from escrow.sql import sql
from settlement.audit import bundle as b
from settlement.audit.export import recompute_sections
from settlement.check.model import CheckResult, failed, held, some

_PUBLISHED = sql("SELECT period, digest, manifest FROM audit_digests ORDER BY period")
SECTIONS = ("transfers", "balances")


def published_digests(conn: Connection, pseudonym_key: bytes) -> CheckResult:
    """Each published month recomputes (one pass over its transfers per month)."""
    differ = []
    months = conn.execute(_PUBLISHED).all()
    for period, digest, text in months:
        manifest = json.loads(text)
        if b.digest(manifest).hex() != digest:
            differ.append(f"{period} (its manifest does not hash to its digest)")
            continue
        now = recompute_sections(conn, period, pseudonym_key)
        differ += [f"{period} {name}" for name in SECTIONS if manifest[name] != now[name]]
    if differ:
        return failed("published_digests", f"no longer what was published: {some(differ)}")
    return held("published_digests", f"{len(months)} published months recompute")
