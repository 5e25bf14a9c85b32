"""The cumulative log, service side: every published transfer, month after month, as one
RFC 9162 tree, stored so that roots and proofs never re-read all history.

A month's export feeds its leaf hashes to a ``LogAppender`` (one pass, O(log n) memory beyond a
4096-leaf chunk): it resumes the tree from the previous checkpoint's peaks, stores the leaf
hashes in chunks and every complete subtree of 4096 leaves or more, then signs the month's
checkpoint and stores it (the database refuses one inconsistent with the last). ``DbTree``
answers any subtree hash from those rows, so a proof reads O(log n) nodes and at most a few
chunks. The public read API calls ``checkpoint_note``, ``inclusion`` and ``consistency``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from escrow.errors import InvariantViolation
from escrow.refusals import Refusal
from settlement.audit import merkle
from settlement.audit.checkpoint import Checkpoint
from settlement.audit.consistency import CompactRange, consistency_proof, inclusion_path
from settlement.audit.note import Note, NoteSigner, parse_note, parse_signature_line, sign_note
from settlement.outbox import enqueue

chunk_leaves = 4096
"""Leaf hashes are stored in chunks of at most this many, never across a multiple of it."""
node_level_min = 12
"""Complete subtrees of 2^12 = 4096 leaves and more are stored (about 2 rows per chunk)."""
WITNESS_KIND = "tlog.witness"
"""Outbox kind: submit a checkpoint to one witness (key ``period:witness name``)."""


class LogRefused(Refusal, ValueError):
    """A proof cannot be given: sizes beyond the published log (or a transfer not in it, with
    code ``audit_log_transfer_unpublished``)."""

    code = "audit_log_sizes_refused"


@dataclass(frozen=True, slots=True)
class LogConfig:
    """The log's identity: its origin line and note key, and the witnesses asked to cosign
    (verifier key, submission URL prefix)."""

    origin: str
    signer: NoteSigner
    witnesses: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """One row of ``tlog_checkpoints``."""

    period: str
    previous: str | None
    size: int
    root: bytes
    peaks: tuple[bytes, ...]
    consistency: tuple[bytes, ...]
    note: str


def _split(blob: bytes) -> tuple[bytes, ...]:
    return tuple(blob[i : i + 32] for i in range(0, len(blob), 32))


_SELECT = "SELECT period, previous, size, root, peaks, consistency, note FROM tlog_checkpoints"


def _row(row: Any) -> StoredCheckpoint:  # noqa: ANN401 - a SQLAlchemy row
    return StoredCheckpoint(
        row.period,
        row.previous,
        int(row.size),
        bytes(row.root),
        _split(bytes(row.peaks)),
        _split(bytes(row.consistency)),
        row.note,
    )


def stored(conn: Connection, period: str) -> StoredCheckpoint | None:
    """The checkpoint of ``period``, if it was exported."""
    row = conn.execute(text(_SELECT + " WHERE period = :p"), {"p": period}).one_or_none()
    return None if row is None else _row(row)


def latest(conn: Connection, before: str | None = None) -> StoredCheckpoint | None:
    """The newest checkpoint (before month ``before``, if given)."""
    row = conn.execute(
        text(_SELECT + " WHERE period < :p ORDER BY period DESC LIMIT 1"),
        {"p": before or "9999-99"},
    ).one_or_none()
    return None if row is None else _row(row)


class DbTree:
    """Subtree hashes of the stored log (any range within its leaves)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._blocks: dict[int, bytes] = {}

    def subtree(self, start: int, end: int) -> bytes:
        """The Merkle Tree Hash of leaves ``[start, end)``."""
        count = end - start
        if count <= chunk_leaves:
            return merkle.root_of_hashes(self.leaves(start, end))
        if count & (count - 1) == 0 and start % count == 0:
            level = count.bit_length() - 1
            node = self._conn.execute(
                text("SELECT hash FROM tlog_nodes WHERE level = :l AND index = :i"),
                {"l": level, "i": start >> level},
            ).scalar_one_or_none()
            if node is None:
                raise InvariantViolation(f"the log has no node at level {level} for {start}")
            return bytes(node)
        k = merkle.split_point(count)
        return merkle.node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def leaves(self, start: int, end: int) -> list[bytes]:
        """The leaf hashes ``[start, end)``, read a 4096-leaf block at a time (kept for the
        tree's life: one proof's subtrees near a leaf all fall in one or two blocks)."""
        hashes: list[bytes] = []
        for block in range(start // chunk_leaves, (end - 1) // chunk_leaves + 1):
            base = block * chunk_leaves
            blob = self._block(block)
            low, high = max(start, base) - base, min(end, base + chunk_leaves) - base
            hashes.extend(blob[i * 32 : (i + 1) * 32] for i in range(low, high))
        if len(hashes) != end - start or any(len(h) != merkle.hash_bytes for h in hashes):
            raise InvariantViolation(f"the log does not hold all of leaves [{start}, {end})")
        return hashes

    def _block(self, block: int) -> bytes:
        cached = self._blocks.get(block)
        if cached is None:
            rows = self._conn.execute(
                text(
                    "SELECT start, hashes FROM tlog_leaves WHERE start >= :low AND start < :high"
                    " ORDER BY start"
                ),
                {"low": block * chunk_leaves, "high": (block + 1) * chunk_leaves},
            ).all()
            cached = b""
            for row in rows:
                if int(row.start) != block * chunk_leaves + len(cached) // 32:
                    raise InvariantViolation(f"the log's leaves have a gap before {row.start}")
                cached += bytes(row.hashes)
            self._blocks[block] = cached
        return cached


class LogAppender:
    """Feeds one month's leaf hashes into the log; ``section`` then signs and stores the
    checkpoint and returns the manifest's ``cumulative`` section. Exporting a month again
    replays it: nothing is stored twice, and the section is the one recorded."""

    def __init__(
        self, conn: Connection, period: str, range_us: tuple[int, int], config: LogConfig
    ) -> None:
        self._conn = conn
        self._period = period
        self._range_us = range_us
        self._config = config
        self._replay = stored(conn, period)
        self._previous = latest(conn, before=period)
        if self._replay is not None and self._replay.previous != (
            self._previous and self._previous.period
        ):
            raise InvariantViolation(f"{period}'s checkpoint follows another month")
        size = 0 if self._previous is None else self._previous.size
        peaks: Sequence[bytes] = () if self._previous is None else self._previous.peaks
        self._nodes: list[dict[str, object]] = []
        sink = None if self._replay is not None else self._node
        self.range = CompactRange(size, peaks, sink)
        self._chunk: list[bytes] = []
        self._chunk_start = size

    def _node(self, level: int, index: int, node: bytes) -> None:
        if level >= node_level_min:
            self._nodes.append({"l": level, "i": index, "h": node})

    def add(self, leaf_hash: bytes) -> None:
        """The next leaf of the month, in order."""
        self.range.append(leaf_hash)
        if self._replay is None:
            self._chunk.append(leaf_hash)
            if self.range.size % chunk_leaves == 0:
                self._flush()

    def _flush(self) -> None:
        if self._chunk:
            self._conn.execute(
                text("INSERT INTO tlog_leaves (start, hashes) VALUES (:s, :h)"),
                {"s": self._chunk_start, "h": b"".join(self._chunk)},
            )
        if self._nodes:
            self._conn.execute(
                text("INSERT INTO tlog_nodes (level, index, hash) VALUES (:l, :i, :h)"),
                self._nodes,
            )
        self._chunk_start += len(self._chunk)
        self._chunk, self._nodes = [], []

    def section(self) -> dict[str, Any]:
        """Store (or replay) the checkpoint; the manifest's ``cumulative`` section."""
        previous_size = 0 if self._previous is None else self._previous.size
        root = self.range.root()
        if self._replay is not None:
            if (self._replay.size, self._replay.root) != (self.range.size, root):
                raise InvariantViolation(f"{self._period}'s leaves differ from its checkpoint")
            proof = list(self._replay.consistency)
        else:
            self._flush()
            proof = []
            if previous_size > 0:
                proof = consistency_proof(
                    previous_size, self.range.size, DbTree(self._conn).subtree
                )
            self._store(root, proof)
        return {
            "consistency": [node.hex() for node in proof],
            "log_key": self._config.signer.verifier.vkey(),
            "origin": self._config.origin,
            "previous_peaks": []
            if self._previous is None
            else [p.hex() for p in self._previous.peaks],
            "previous_root": (
                merkle.EMPTY_ROOT if self._previous is None else self._previous.root
            ).hex(),
            "previous_size": previous_size,
            "root": root.hex(),
            "size": self.range.size,
        }

    def _store(self, root: bytes, proof: list[bytes]) -> None:
        checkpoint = Checkpoint(self._config.origin, self.range.size, root)
        note = sign_note(checkpoint.text(), self._config.signer).encode().decode("utf-8")
        self._conn.execute(
            text(
                "INSERT INTO tlog_checkpoints (period, previous, size, starts_at_us, ends_at_us,"
                " origin, root, peaks, consistency, note) VALUES (:period, :previous, :size,"
                " :starts, :ends, :origin, :root, :peaks, :consistency, :note)"
            ),
            {
                "period": self._period,
                "previous": None if self._previous is None else self._previous.period,
                "size": self.range.size,
                "starts": self._range_us[0],
                "ends": self._range_us[1],
                "origin": self._config.origin,
                "root": root,
                "peaks": b"".join(self.range.peaks),
                "consistency": b"".join(proof),
                "note": note,
            },
        )
        for key, url in self._config.witnesses:
            name = key.split("+", 1)[0]
            enqueue(
                self._conn,
                WITNESS_KIND,
                f"{self._period}:{name}",
                {"period": self._period, "witness": key, "url": url},
            )


def appender_for(
    conn: Connection, period: str, range_us: tuple[int, int], config: LogConfig | None
) -> LogAppender | None:
    """The month's appender, or None without a log or for a month published before the log
    began (exporting it again must give the digest it was published with)."""
    if config is None:
        return None
    published = conn.execute(
        text("SELECT 1 FROM audit_digests WHERE period = :p"), {"p": period}
    ).first()
    if published is not None and stored(conn, period) is None:
        return None
    return LogAppender(conn, period, range_us, config)


def checkpoint_note(conn: Connection, period: str | None = None) -> str | None:
    """The signed checkpoint of ``period`` (default the latest) with every cosignature
    received so far: what checkpoint.txt and ``GET /v1/audit/checkpoint`` serve."""
    row = latest(conn) if period is None else stored(conn, period)
    if row is None:
        return None
    lines = conn.execute(
        text("SELECT line FROM tlog_cosignatures WHERE period = :p ORDER BY witness"),
        {"p": row.period},
    ).scalars()
    note = parse_note(row.note.encode("utf-8"))
    extra = tuple(parse_signature_line(line.rstrip("\n")) for line in lines)
    return Note(note.text, note.signatures + extra).encode().decode("utf-8")


def consistency(conn: Connection, size1: int, size2: int) -> list[bytes]:
    """The RFC 9162 proof that the log's first ``size1`` leaves are a prefix of its first
    ``size2`` (0 < size1 <= size2 <= the latest checkpoint's size)."""
    top = latest(conn)
    if top is None or not 0 < size1 <= size2 <= top.size:
        raise LogRefused(
            f"no proof from size {size1} to {size2}: the log has {0 if top is None else top.size}"
        )
    return consistency_proof(size1, size2, DbTree(conn).subtree)


@dataclass(frozen=True, slots=True)
class Inclusion:
    """A transfer's place in the cumulative tree and the path to a checkpoint's root."""

    transfer_id: str
    index: int
    size: int
    leaf_hash: bytes
    path: tuple[bytes, ...]
    root: bytes

    def as_json(self) -> dict[str, Any]:
        """The proof as the API publishes it (hex hashes, like the bundle)."""
        return {
            "leaf_hash": self.leaf_hash.hex(),
            "leaf_index": self.index,
            "path": [node.hex() for node in self.path],
            "root": self.root.hex(),
            "transfer_id": self.transfer_id,
            "tree_size": self.size,
        }


def inclusion(conn: Connection, transfer_id: str, size: int | None = None) -> Inclusion:
    """The inclusion proof of a published transfer in the tree of ``size`` leaves (default the
    latest checkpoint's). Its index is its month's first index plus the number of the month's
    transfers before it (ledger timestamps are unique and ordered)."""
    top = latest(conn)
    place = conn.execute(
        text(
            "SELECT c.previous, c.size, c.starts_at_us,"
            " (SELECT count(*) FROM transfers o WHERE o.ts >= c.starts_at_us AND o.ts < t.ts)"
            " AS rank FROM transfers t JOIN tlog_checkpoints c"
            " ON t.ts BETWEEN c.starts_at_us AND c.ends_at_us WHERE t.id = CAST(:id AS uuid)"
        ),
        {"id": transfer_id},
    ).one_or_none()
    if top is None or place is None:
        raise LogRefused(
            f"transfer {transfer_id} is not in a published month",
            code="audit_log_transfer_unpublished",
        )
    first = 0 if place.previous is None else _size_of(conn, place.previous)
    index = first + int(place.rank)
    tree_size = top.size if size is None else size
    if not index < tree_size <= top.size:
        raise LogRefused(f"transfer {transfer_id} (leaf {index}) is not in a tree of {tree_size}")
    tree = DbTree(conn)
    path = inclusion_path(index, tree_size, tree.subtree)
    root = tree.subtree(0, tree_size)
    return Inclusion(
        transfer_id, index, tree_size, tree.leaves(index, index + 1)[0], tuple(path), root
    )


def _size_of(conn: Connection, period: str) -> int:
    return int(
        conn.execute(
            text("SELECT size FROM tlog_checkpoints WHERE period = :p"), {"p": period}
        ).scalar_one()
    )
