"""The published bundles, as the public read API and the transparency page serve them.

A month is published when its bundle directory (``<MSC_AUDIT_PUBLISH_DIR>/YYYY-MM``) holds the
manifest whose digest the database recorded for it: a stray or edited directory is not served.
The month's transfer tree is indexed once per process (leaf hashes, line offsets, which leaves
name which pseudonym), so an inclusion proof or a party's receipt reads no more than its lines.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from escrow.refusals import Refusal
from settlement.audit import bundle as b
from settlement.audit import merkle
from settlement.audit.canonical import CanonicalError
from settlement.audit.verify import read_manifest

indexed_months_max = 3
"""Months whose transfer index a process keeps, the oldest dropped first (an index costs about
400 bytes a transfer: leaf hashes and tree levels, line offsets, ids, pseudonyms)."""


class AuditNotPublished(Refusal):
    """The month has no published bundle (not exported, or its directory is not the recorded
    one)."""

    code = "audit_not_published"


class AuditTransferNotFound(Refusal):
    """The transfer is not a leaf of the month's published transfer tree."""

    code = "audit_transfer_not_found"


@dataclass(frozen=True, slots=True)
class PublishedPeriod:
    """A published month: what its manifest commits to, who signed, where it is anchored."""

    period: str
    digest: str
    previous: dict[str, str] | None
    transfer_count: int
    transfer_root: str
    balance_root: str
    reserves: dict[str, dict[str, int]]
    signatures: list[dict[str, str]]
    threshold: int
    anchors: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """One transfer leaf and its RFC 9162 audit path to the month's transfer root."""

    period: str
    leaf: str
    leaf_index: int
    tree_size: int
    path: list[str]
    root: str
    digest: str

    def as_json(self) -> dict[str, Any]:
        """The proof as served (and as the transparency page checks it)."""
        return {
            "digest": self.digest,
            "leaf": self.leaf,
            "leaf_index": self.leaf_index,
            "path": self.path,
            "period": self.period,
            "root": self.root,
            "tree_size": self.tree_size,
        }


class LeveledTree:
    """An RFC 9162 tree kept with every level of its perfect subtrees (about twice the leaf
    hashes), so that an audit path costs O(log² n) hashes instead of a pass over the leaves."""

    def __init__(self, hashes: list[bytes]) -> None:
        self.size = len(hashes)
        self._levels = [hashes]
        while len(self._levels[-1]) > 1:
            below = self._levels[-1]
            self._levels.append(
                [merkle.node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            )

    def root(self) -> bytes:
        """The Merkle Tree Hash of the leaves."""
        return merkle.EMPTY_ROOT if self.size == 0 else self.subtree(0, self.size)

    def subtree(self, start: int, end: int) -> bytes:
        """The hash of leaves ``start``..``end`` (a range an RFC 9162 split produces)."""
        width = end - start
        if width & (width - 1) == 0 and start % width == 0:
            level = width.bit_length() - 1
            return self._levels[level][start >> level]
        k = merkle.split_point(width)
        return merkle.node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def inclusion_proof(self, index: int) -> list[bytes]:
        """The audit path of leaf ``index``, leaf first (as ``merkle.inclusion_proof``)."""
        if not 0 <= index < self.size:
            raise merkle.MerkleError(f"leaf {index} is not in a tree of {self.size}")
        path: list[bytes] = []
        start, end = 0, self.size
        while end - start > 1:
            k = merkle.split_point(end - start)
            if index < start + k:
                path.append(self.subtree(start + k, end))
                end = start + k
            else:
                path.append(self.subtree(start, start + k))
                start += k
        path.reverse()
        return path


@dataclass(slots=True)
class MonthIndex:
    """A published month's transfers: leaf hashes, where each line starts, which leaf each
    transfer id is, and which leaves name each pseudonym."""

    hashes: list[bytes] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    ids: dict[str, int] = field(default_factory=dict)
    parties: dict[str, list[int]] = field(default_factory=dict)
    tree: LeveledTree = field(default_factory=lambda: LeveledTree([]))


class PublishedBundles:
    """The directory of published bundles, checked against the recorded digests."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._indexes: dict[tuple[str, str], MonthIndex] = {}
        self._lock = threading.Lock()

    @property
    def root(self) -> Path:
        """Where the month directories are."""
        return self._root

    def periods(self, conn: Connection) -> list[PublishedPeriod]:
        """Every published month, oldest first."""
        rows = conn.execute(text("SELECT period, digest FROM audit_digests ORDER BY period")).all()
        found = (self._published(str(row.period), str(row.digest)) for row in rows)
        return [period for period in found if period is not None]

    def period(self, conn: Connection, name: str) -> PublishedPeriod:
        """One published month; ``AuditNotPublished`` otherwise."""
        digest = conn.execute(
            text("SELECT digest FROM audit_digests WHERE period = :p"), {"p": name}
        ).scalar_one_or_none()
        published = None if digest is None else self._published(name, str(digest))
        if published is None:
            raise AuditNotPublished(f"{name} has no published audit bundle")
        return published

    def file(self, conn: Connection, name: str, file: str) -> bytes:
        """The bytes of one of the month's bundle files (``bundle.FILES``)."""
        if file not in b.FILES:
            raise AuditNotPublished(f"a bundle holds {', '.join(b.FILES)}, not {file}")
        self.period(conn, name)
        return (self._root / name / file).read_bytes()

    def inclusion(self, conn: Connection, name: str, transfer_id: str) -> InclusionProof:
        """The inclusion proof of transfer ``transfer_id`` in the month's transfer tree."""
        published = self.period(conn, name)
        index = self._index(published)
        number = index.ids.get(transfer_id)
        if number is None:
            raise AuditTransferNotFound(f"transfer {transfer_id} is not in {name}'s bundle")
        return self._proof(published, index, number)

    def party_proofs(self, conn: Connection, name: str, pseudonym: str) -> list[InclusionProof]:
        """Every leaf of the month naming ``pseudonym`` in an account, with its proof."""
        published = self.period(conn, name)
        index = self._index(published)
        return [self._proof(published, index, n) for n in index.parties.get(pseudonym, [])]

    def _published(self, name: str, digest: str) -> PublishedPeriod | None:
        directory = self._root / name
        try:
            manifest = read_manifest(directory)
            if b.digest(manifest.raw).hex() != digest or manifest.period != name:
                return None
            signatures = b.read_json(directory / b.SIGNATURES, "signatures")
            anchors = b.read_json(directory / b.ANCHORS, "anchors")
        except b.BundleError:
            return None
        listed = signatures.get("signatures") if isinstance(signatures, dict) else None
        raw = manifest.raw
        return PublishedPeriod(
            period=name,
            digest=digest,
            previous=raw["previous"],
            transfer_count=manifest.transfer_count,
            transfer_root=manifest.transfer_root.hex(),
            balance_root=manifest.balance_root.hex(),
            reserves=manifest.reserves,
            signatures=list(listed) if isinstance(listed, list) else [],
            threshold=manifest.threshold,
            anchors=_well_formed(anchors),
        )

    def _index(self, published: PublishedPeriod) -> MonthIndex:
        key = (published.period, published.digest)
        with self._lock:
            found = self._indexes.get(key)
            if found is None:
                found = read_index(self._root / published.period / b.TRANSFERS)
                if found.tree.root().hex() != published.transfer_root:
                    raise AuditNotPublished(f"{published.period}'s transfers differ from its root")
                if len(self._indexes) >= indexed_months_max:
                    self._indexes.pop(next(iter(self._indexes)))
                self._indexes[key] = found
            return found

    def _proof(self, published: PublishedPeriod, index: MonthIndex, number: int) -> InclusionProof:
        with (self._root / published.period / b.TRANSFERS).open("rb") as lines:
            lines.seek(index.offsets[number])
            leaf = lines.readline().rstrip(b"\n")
        return InclusionProof(
            period=published.period,
            leaf=leaf.decode("utf-8"),
            leaf_index=number,
            tree_size=len(index.hashes),
            path=[node.hex() for node in index.tree.inclusion_proof(number)],
            root=published.transfer_root,
            digest=published.digest,
        )


def _well_formed(anchors: object) -> list[dict[str, Any]]:
    """anchors.json's entries that read as EVM or Stellar anchors, as written (the file is not
    signed: an entry of another shape is not served; ``msc-audit verify`` names it)."""
    found: list[dict[str, Any]] = []
    for number, value in enumerate(anchors if isinstance(anchors, list) else [], 1):
        kind = value.get("kind") if isinstance(value, dict) else None
        try:
            if kind == b.EVM_ANCHOR:
                found.append(b.evm_anchor(value, number).as_json())
            elif kind == b.STELLAR_ANCHOR:
                found.append(b.stellar_anchor(value, number).as_json())
        except b.BundleError:
            continue
    return found


def read_index(path: Path) -> MonthIndex:
    index = MonthIndex()
    offset = 0
    for number, line in enumerate(_lines(path)):
        data = line.rstrip(b"\n")
        index.hashes.append(merkle.leaf_hash(data))
        index.offsets.append(offset)
        offset += len(line)
        try:
            leaf = json.loads(data)
        except (ValueError, CanonicalError):
            raise AuditNotPublished(f"{path.name} line {number + 1} is not JSON") from None
        index.ids[str(leaf["id"])] = number
        for name in {*_pseudonyms(leaf["debit"]), *_pseudonyms(leaf["credit"])}:
            index.parties.setdefault(name, []).append(number)
    index.tree = LeveledTree(index.hashes)
    return index


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as stream:
        yield from stream


def names_in(leaf: str) -> set[str]:
    """The pseudonyms a transfer leaf's two accounts name."""
    value = json.loads(leaf)
    return {*_pseudonyms(str(value["debit"])), *_pseudonyms(str(value["credit"]))}


def _pseudonyms(account: str) -> list[str]:
    """The pseudonyms in a published account name (64 hex characters between colons)."""
    return [part for part in account.split(":") if b.is_digest_hex(part)]


def etag(body: bytes) -> str:
    """A strong entity tag of ``body``."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
