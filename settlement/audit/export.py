"""Export a closed month as a bundle: leaves, trees, manifest and its recorded digest.

The month must be closed (its transfers can no longer change), so exporting it twice gives the
same digest; a digest once recorded is the month's for good, and the next month links to it.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import shutil
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Connection

from escrow.errors import InvariantViolation
from escrow.periods import period as ledger_period
from settlement.audit import bundle as b
from settlement.audit import governance_log, merkle, store
from settlement.audit.anchor import anchored, write_anchors
from settlement.audit.bundle import BalanceLeaf, BundleError, TransferLeaf
from settlement.audit.canonical import CanonicalError, account_label, canonical_bytes
from settlement.audit.checkpoint import CHECKPOINT_FILE
from settlement.audit.cumulative import LogAppender, LogConfig, appender_for, checkpoint_note
from settlement.audit.signing import Officers
from settlement.audit.verify import (
    Totals,
    balances_follow,
    effects,
    read_changes,
    reserves,
    rotated,
)
from settlement.unit_of_work import UnitOfWork

PUBLIC_OWNERS = frozenset({"treasury"})
"""Owners whose accounts are published under their own codes: the operator is not a private
party, and auditors must read its custody, clearing and fee accounts by name."""
SOFTWARE = "msc-settlement"
labels_cached_max = 1 << 16
"""Published account names remembered during an export (a month touches fewer accounts)."""
GOVERNANCE_NOTE = (
    "no governance log exists yet: governance.jsonl is empty and its root is the empty tree's"
)
ROTATIONS_NOTE = (
    "governance.jsonl holds the month's governance log (decision 0030): proposals, signatures"
    " and executions, and officers.rotate entries; each officer change is signed by the"
    " threshold of the officer set it replaces"
)


class ExportRefused(ValueError):
    """The month cannot be exported (not closed, an earlier month unpublished, digest differs)."""


@dataclass(frozen=True, slots=True)
class Export:
    """A bundle written aside, waiting to be moved into place once the digest is committed."""

    period: str
    digest: str
    transfer_count: int
    balance_count: int
    staging: Path
    out: Path

    def publish(self) -> None:
        """Move the bundle into ``out`` (call after the transaction that recorded it commits)."""
        os.replace(self.staging, self.out)


def export_period(
    uow: UnitOfWork,
    name: str,
    out: Path,
    key: bytes,
    officers: Officers,
    version: str,
    governance: Sequence[Mapping[str, Any]] = (),
    log: LogConfig | None = None,
) -> Export:
    """Write month ``name``'s bundle next to ``out`` and record its digest (caller commits).

    ``officers`` must be the previous month's, or what the signed ``officers.rotate`` entries
    in ``governance`` make of them; a first month must start from zero balances. With a
    ``log``, the month's transfers are appended to the cumulative log and its checkpoint is
    signed and written to checkpoint.txt."""
    conn = uow.conn
    month = ledger_period(name)
    if (month.starts_at_us, month.ends_at_us) != b.period_range_us(name):
        raise InvariantViolation("the bundle's WIB month differs from the ledger's")
    closed_count = store.closed_transfer_count(conn, name)
    if closed_count is None:
        raise ExportRefused(f"{name} is not closed: close it first (a period.close proposal)")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ExportRefused(f"{out} exists and is not an empty directory")
    previous = store.latest_digest_before(conn, name)
    missing = store.closed_unpublished_between(conn, previous and previous[0], name)
    if missing:
        raise ExportRefused(f"export {missing[0]} first: the chain of digests has no gaps")
    check_officers_change(conn, name, previous, officers, governance)
    staging = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        starts, ends = b.period_range_us(name)
        deltas: Totals = defaultdict(lambda: dict.fromkeys(b.TOTALS, 0))
        balances = balance_leaves(store.balances_at(conn, ends), key)
        appender = appender_for(conn, name, (starts, ends), log)
        leaves: Iterable[TransferLeaf] = (
            transfer_leaf(row, key) for row in store.month_transfers(conn, starts, ends)
        )
        if previous is None:  # only a first month's balances are checked against its transfers
            leaves = _tracked(leaves, deltas)
        manifest = write_bundle(
            staging,
            name,
            leaves,
            balances,
            officers,
            version,
            previous,
            governance,
            seq_after=governance_log.seq_after(governance, _seq_after_of(conn, previous)),
            log=appender,
        )
        if appender is not None:  # transparency log hook (decision 0031)
            (staging / CHECKPOINT_FILE).write_text(checkpoint_note(conn, name) or "")
        if previous is None:
            _check_opening(name, deltas, balances)
        if manifest["transfers"]["count"] != closed_count:
            raise InvariantViolation(f"{name} had {closed_count} transfers when it was closed")
        digest = b.digest(manifest).hex()
        _record(conn, name, digest, previous, manifest)
        write_anchors(staging / b.ANCHORS, anchored(conn, name))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Export(
        name,
        digest,
        manifest["transfers"]["count"],
        manifest["balances"]["count"],
        staging,
        out,
    )


def check_officers_change(
    conn: Connection,
    name: str,
    previous: tuple[str, str] | None,
    officers: Officers,
    governance: Sequence[Mapping[str, Any]],
) -> None:
    """Refuse officers that differ from the previous month's unless the ``governance`` entries
    (``officers.rotate``, signed by the set each replaces) lead from those to these."""
    try:
        rotations = read_changes(governance)
        recorded = None if previous is None else store.recorded_manifest(conn, previous[0])
        if previous is None or recorded is None:
            first = [r for r in rotations if isinstance(r, governance_log.Entry)]
            genesis = governance_log.genesis_set(first)
            if genesis is None:
                if rotations:
                    raise ExportRefused(f"{name} is a first month: no earlier officers to rotate")
                return
            before = genesis
        else:
            before = b.officer_set(json.loads(recorded).get("signing"), "previous")
        after = rotated(before, rotations, name)
    except BundleError as bad:
        raise ExportRefused(f"governance: {bad}") from None
    if after != officers.officer_set():
        source = "the genesis" if previous is None else previous[0]
        raise ExportRefused(
            f"the officers differ from {source}'s: an officers.rotate entry for {name},"
            f" signed by {before.threshold} of {source}'s officers, is needed (--governance)"
        )


def _seq_after_of(conn: Connection, previous: tuple[str, str] | None) -> int | None:
    """The previous month's ``governance.seq_after``, None before any log entry."""
    recorded = None if previous is None else store.recorded_manifest(conn, previous[0])
    return None if recorded is None else governance_log.stated_seq_after(json.loads(recorded))


def _tracked(leaves: Iterable[TransferLeaf], deltas: Totals) -> Iterator[TransferLeaf]:
    """The leaves, unchanged, each one's effect on its accounts added to ``deltas``."""
    for leaf in leaves:
        for account, total, change in effects(leaf):
            deltas[account][total] += change
        yield leaf


def _check_opening(name: str, deltas: Totals, balances: list[BalanceLeaf]) -> None:
    """A first month's balances are zero plus its transfers, as the verifier requires."""
    try:
        balances_follow({}, deltas, {leaf.account: leaf for leaf in balances}, "opening", "zero")
    except BundleError as bad:
        raise ExportRefused(
            f"{name} would be the first published month, but its balances include transfers"
            f" before it: {bad.reason}"
        ) from None


def transfer_leaf(row: store.TransferRow, key: bytes) -> TransferLeaf:
    """A ledger transfer as a published leaf, its parties pseudonymised."""
    return TransferLeaf(
        id=row.id,
        ts=row.ts,
        type=b.TRANSFER_TYPES[row.flags],
        debit=_label(row.debit, row.debit_owner, key),
        credit=_label(row.credit, row.credit_owner, key),
        amount=row.amount,
        asset=row.asset,
        code=row.code,
        pending_id=row.pending_id,
        released=row.released,
    )


@functools.lru_cache(maxsize=labels_cached_max)
def _label(code: str, owner: str | None, key: bytes) -> str:
    """``account_label`` once per account, not twice per transfer (two HMACs a transfer were a
    tenth of an export's time)."""
    return account_label(code, owner, key, PUBLIC_OWNERS)


def balance_leaves(rows: Iterable[store.BalanceRow], key: bytes) -> list[BalanceLeaf]:
    """End-of-month balances as published leaves, in increasing order of published name."""
    leaves = sorted(
        (
            BalanceLeaf(
                account_label(r.code, r.owner, key, PUBLIC_OWNERS),
                r.asset,
                r.kind,
                r.debits_posted,
                r.credits_posted,
                r.debits_pending,
                r.credits_pending,
            )
            for r in rows
        ),
        key=lambda leaf: leaf.account,
    )
    for before, after in itertools.pairwise(leaves):
        if before.account == after.account:
            raise InvariantViolation(f"two accounts publish as {before.account}")
    return leaves


def write_bundle(
    staging: Path,
    name: str,
    transfers: Iterable[TransferLeaf],
    balances: list[BalanceLeaf],
    officers: Officers,
    version: str,
    previous: tuple[str, str] | None,
    governance: Sequence[Mapping[str, Any]] = (),
    seq_after: int | None = None,
    log: LogAppender | None = None,
) -> dict[str, Any]:
    """Write the bundle's six files from its leaves and governance entries (no database but
    the ``log``, which is fed each leaf hash); the manifest written (``governance.seq_after``
    only once the governance log has entries)."""
    with (staging / b.TRANSFERS).open("wb") as out:
        tree = hash_transfers(transfers, out, log)
    lines, balances_section = summarise_balances(balances)
    (staging / b.BALANCES).write_bytes(b"".join(line + b"\n" for line in lines))
    try:
        entries = [canonical_bytes(entry) for entry in governance]
    except CanonicalError as bad:
        raise ExportRefused(f"governance: {bad}") from None
    (staging / b.GOVERNANCE).write_bytes(b"".join(line + b"\n" for line in entries))
    note = ROTATIONS_NOTE if entries else GOVERNANCE_NOTE
    starts, ends = b.period_range_us(name)
    manifest: dict[str, Any] = {
        "balances": balances_section,
        "format": b.FORMAT,
        "governance": {"count": len(entries), "note": note, "root": merkle.root(entries).hex()},
        "period": name,
        "period_range_us": {"ends_at": ends, "starts_at": starts},
        "previous": None if previous is None else {"digest": previous[1], "period": previous[0]},
        "pseudonyms": "party ids in account names are hex HMAC-SHA256(pseudonym key, party id)",
        "reserves": reserves(balances),
        "signing": officers.as_json(),
        "software": {"name": SOFTWARE, "version": version},
        "transfers": {"count": tree.size, "root": tree.root().hex()},
    }
    if seq_after is not None:
        manifest["governance"][governance_log.SEQ_AFTER] = seq_after
    if log is not None:  # transparency log hook (decision 0031)
        manifest["cumulative"] = log.section()
    _write_json(staging / b.MANIFEST, manifest)
    _write_json(staging / b.SIGNATURES, {"digest": b.digest(manifest).hex(), "signatures": []})
    _write_json(staging / b.ANCHORS, [])
    return manifest


def hash_transfers(
    transfers: Iterable[TransferLeaf], out: BinaryIO | None = None, log: LogAppender | None = None
) -> merkle.CompactRange:
    """The month's transfer tree, its leaves' lines written to ``out`` as they are hashed (a
    batch at a time: the month is never held) and fed to the ``log``."""
    tree = merkle.CompactRange()
    leaves = iter(transfers)
    while batch := list(itertools.islice(leaves, merkle.leaves_per_batch)):
        lines = [leaf.line() for leaf in batch]
        if out is not None:
            out.write(b"\n".join(lines) + b"\n")
        hashes = merkle.leaf_hashes(lines)
        tree.extend_hashes(hashes)
        if log is not None:  # transparency log hook (decision 0031)
            for leaf_hash in hashes:
                log.add(leaf_hash)
    return tree


def summarise_balances(balances: list[BalanceLeaf]) -> tuple[list[bytes], dict[str, Any]]:
    """The balances' lines and the manifest's ``balances`` section (count, sum-tree root,
    totals per asset)."""
    lines = [canonical_bytes(leaf.as_json()) for leaf in balances]
    top = merkle.sum_root(
        [merkle.sum_leaf(line, leaf.sums()) for line, leaf in zip(lines, balances, strict=True)]
    )
    return lines, {"count": len(balances), "root": top.hash.hex(), "totals": _totals(balances)}


def recompute_sections(conn: Connection, name: str, key: bytes) -> dict[str, Any]:
    """The manifest's ``transfers`` and ``balances`` sections of closed month ``name`` as the
    database gives them now (what ``msc check`` compares with the published manifest)."""
    starts, ends = b.period_range_us(name)
    leaves = (transfer_leaf(row, key) for row in store.month_transfers(conn, starts, ends))
    tree = hash_transfers(leaves)
    _, balances = summarise_balances(balance_leaves(store.balances_at(conn, ends), key))
    return {"balances": balances, "transfers": {"count": tree.size, "root": tree.root().hex()}}


def _totals(leaves: Iterable[BalanceLeaf]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = {}
    for leaf in leaves:
        row = table.setdefault(leaf.asset, dict.fromkeys(b.TOTALS, 0))
        for total, value in leaf.totals().items():
            row[total] += value
    return table


def _record(
    conn: Connection,
    name: str,
    digest: str,
    previous: tuple[str, str] | None,
    manifest: dict[str, Any],
) -> None:
    recorded = store.recorded_digest(conn, name)
    if recorded is None:
        text = canonical_bytes(manifest).decode("utf-8")
        store.record_digest(conn, name, digest, previous and previous[0], text)
    elif recorded != digest:
        raise ExportRefused(f"{name} was published with digest {recorded}, now {digest}")


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
