"""The governance log's table: append (serialised, contiguous, in time order) and reads.

The caller owns the transaction. Every writer takes one transaction-scoped advisory lock
first, so that the nonce read, the checks and the append are one step; the database refuses
any update or delete (migration 0022).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from escrow.sql import sql
from settlement.audit import governance_log as g
from settlement.audit.canonical import canonical_bytes
from settlement.audit.proposal import Proposal, Signature, read_proposal, read_signature

LOCK_KEY = 0x6D73_6367_6F76  # "mscgov": the governance log's advisory lock
page_rows_max = 200


@dataclass(frozen=True, slots=True)
class Officers:
    """The officer set in force: names and hex keys in order, and the threshold."""

    officers: g.Named
    threshold: int

    @property
    def keys(self) -> frozenset[bytes]:
        """The officers' public keys."""
        return frozenset(bytes.fromhex(key) for _, key in self.officers)

    def as_json(self) -> dict[str, Any]:
        """``{"officers": [...], "threshold": M}``."""
        return g.officers_json(self.officers, self.threshold)


def lock(conn: Connection) -> None:
    """Serialise governance writers until the transaction ends."""
    conn.execute(sql("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def append(
    conn: Connection,
    kind: str,
    at_us: int,
    fields: Mapping[str, Any],
    proposal_id: str | None = None,
    nonce: int | None = None,
    public_key: str | None = None,
    officers: bool = False,
) -> dict[str, Any]:
    """Append one entry (call under ``lock``); the entry as published. Its time is never
    before the last entry's (a lagging clock is moved up to it, not refused); ``officers``
    when it sets the officer set."""
    last = conn.execute(
        sql("SELECT seq, at_us FROM governance_log ORDER BY seq DESC LIMIT 1")
    ).one_or_none()
    seq = 1 if last is None else int(last.seq) + 1
    at = at_us if last is None else max(at_us, int(last.at_us))
    entry = {**fields, "at_us": at, "kind": kind, "seq": seq}
    conn.execute(
        sql(
            "INSERT INTO governance_log (seq, kind, at_us, proposal_id, nonce, public_key, entry,"
            " officers) VALUES (:seq, :kind, :at, :pid, :nonce, :key, :entry, :officers)"
        ),
        {
            "seq": seq,
            "kind": kind,
            "at": at,
            "pid": proposal_id,
            "nonce": nonce,
            "key": public_key,
            "entry": canonical_bytes(entry).decode("utf-8"),
            "officers": officers,
        },
    )
    return entry


def log_time(conn: Connection, now_us: int) -> int:
    """The time the next entry is dated at: ``now_us``, or the last entry's if that is later."""
    last = conn.execute(sql("SELECT max(at_us) FROM governance_log")).scalar_one()
    return now_us if last is None else max(now_us, int(last))


def entries_between(conn: Connection, start_us: int, end_us: int) -> list[dict[str, Any]]:
    """The entries dated in ``[start_us, end_us]``, in log order, exactly as recorded."""
    rows = conn.execute(
        sql("SELECT entry FROM governance_log WHERE at_us BETWEEN :start AND :end ORDER BY seq"),
        {"start": start_us, "end": end_us},
    ).all()
    return [json.loads(row.entry) for row in rows]


def page(conn: Connection, after_seq: int, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` entries after ``after_seq``, in log order."""
    rows = conn.execute(
        sql("SELECT entry FROM governance_log WHERE seq > :after ORDER BY seq LIMIT :limit"),
        {"after": after_seq, "limit": min(limit, page_rows_max)},
    ).all()
    return [json.loads(row.entry) for row in rows]


def officers_at(conn: Connection, at_us: int | None = None) -> Officers | None:
    """The officer set in force after the last entry dated at or before ``at_us`` (now when
    None); None before the genesis."""
    row = conn.execute(
        sql(
            "SELECT entry FROM governance_log WHERE officers AND at_us <= :at"
            " ORDER BY seq DESC LIMIT 1"
        ),
        {"at": (1 << 63) - 1 if at_us is None else at_us},
    ).one_or_none()
    if row is None:
        return None
    entry = json.loads(row.entry)
    held = entry if entry["kind"] == g.GENESIS else entry["officers"]
    named = tuple((o["name"], o["public_key"]) for o in held["officers"])
    return Officers(named, int(held["threshold"]))


def created(conn: Connection, proposal_id: str) -> Proposal | None:
    """The recorded proposal with this id."""
    row = conn.execute(
        sql(
            "SELECT entry FROM governance_log WHERE kind = 'proposal.created' AND proposal_id = :id"
        ),
        {"id": proposal_id},
    ).one_or_none()
    return None if row is None else read_proposal(json.loads(row.entry)["proposal"])


def signatures(conn: Connection, proposal_id: str) -> list[Signature]:
    """The signatures recorded for the proposal, in log order."""
    rows = conn.execute(
        sql(
            "SELECT entry FROM governance_log WHERE kind = 'proposal.signed'"
            " AND proposal_id = :id ORDER BY seq"
        ),
        {"id": proposal_id},
    ).all()
    return [read_signature(json.loads(row.entry)["signature"]) for row in rows]


def executed_at(conn: Connection, proposal_id: str) -> int | None:
    """When the proposal was executed, None if it was not."""
    value = conn.execute(
        sql(
            "SELECT at_us FROM governance_log WHERE kind = 'proposal.executed'"
            " AND proposal_id = :id"
        ),
        {"id": proposal_id},
    ).scalar_one_or_none()
    return None if value is None else int(value)


def next_nonce(conn: Connection) -> int:
    """The nonce the next execution must carry: one more than the last executed, 0 at first."""
    value = conn.execute(
        sql("SELECT max(nonce) FROM governance_log WHERE kind = 'proposal.executed'")
    ).scalar_one()
    return 0 if value is None else int(value) + 1


def proposal_ids(conn: Connection, after_seq: int, limit: int) -> list[tuple[int, str]]:
    """(seq, id) of proposals created after ``after_seq``, oldest first."""
    rows = conn.execute(
        sql(
            "SELECT seq, proposal_id FROM governance_log WHERE kind = 'proposal.created'"
            " AND seq > :after ORDER BY seq LIMIT :limit"
        ),
        {"after": after_seq, "limit": min(limit, page_rows_max)},
    ).all()
    return [(int(row.seq), str(row.proposal_id)) for row in rows]
