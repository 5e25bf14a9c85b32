"""The auditor's checks of the cumulative log: the manifest's ``cumulative`` section, the
consistency proof from the previous month, and checkpoint.txt with its cosignatures.

Standard library and PyNaCl only. The month's transfers are streamed onto the previous tree's
peaks (published in the manifest and signed with it) by ``verify.check_transfers``, in the
same pass as the month's own tree, so the cumulative root is recomputed from this bundle
alone, in O(log n) memory; ``--previous`` then ties those peaks to the month
before, and the consistency proof is checked as any proof from the log would be.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from settlement.audit import bundle as b
from settlement.audit import merkle
from settlement.audit.bundle import BundleError
from settlement.audit.checkpoint import (
    CHECKPOINT_FILE,
    Checkpoint,
    count_cosignatures,
    parse_checkpoint,
)
from settlement.audit.consistency import (
    CompactRange,
    ConsistencyError,
    proof_hashes_max,
    verify_consistency,
)
from settlement.audit.note import NoteError, NoteKey, parse_note, parse_vkey, verify_note

SECTION = "cumulative"
SECTION_FIELDS = frozenset(
    {
        "consistency",
        "log_key",
        "origin",
        "previous_peaks",
        "previous_root",
        "previous_size",
        "root",
        "size",
    }
)


@dataclass(frozen=True, slots=True)
class LogPins:
    """What the auditor trusts for the log: its key, witnesses and how many must cosign."""

    log_key: NoteKey | None = None
    witnesses: tuple[NoteKey, ...] = ()
    min_witnesses: int = 0


@dataclass(frozen=True, slots=True)
class Cumulative:
    """A manifest's ``cumulative`` section, shape-checked."""

    origin: str
    log_key: NoteKey
    previous_size: int
    previous_root: bytes
    previous_peaks: tuple[bytes, ...]
    size: int
    root: bytes
    consistency: tuple[bytes, ...]

    @property
    def checkpoint(self) -> Checkpoint:
        """The checkpoint this month's section commits to."""
        return Checkpoint(self.origin, self.size, self.root)


def read_section(manifest: Mapping[str, Any]) -> Cumulative | None:
    """The manifest's ``cumulative`` section, or None for a month exported before the log."""
    value = manifest.get(SECTION)
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != SECTION_FIELDS:
        raise BundleError("cumulative", f"the section's fields must be {sorted(SECTION_FIELDS)}")
    sizes = (value["previous_size"], value["size"])
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in sizes):
        raise BundleError("cumulative", "previous_size and size are non-negative integers")
    lists = (value["previous_peaks"], value["consistency"])
    if not all(isinstance(items, list) and len(items) <= proof_hashes_max for items in lists):
        raise BundleError("cumulative", "previous_peaks and consistency are lists of hashes")
    try:
        key = parse_vkey(value["log_key"] if isinstance(value["log_key"], str) else "")
    except NoteError as bad:
        raise BundleError("cumulative", f"log_key: {bad}") from None
    if not isinstance(value["origin"], str) or not value["origin"]:
        raise BundleError("cumulative", "origin is a non-empty string")
    return Cumulative(
        origin=value["origin"],
        log_key=key,
        previous_size=value["previous_size"],
        previous_root=b.hex_bytes(value["previous_root"], "cumulative", "previous_root"),
        previous_peaks=tuple(
            b.hex_bytes(p, "cumulative", "a previous peak") for p in value["previous_peaks"]
        ),
        size=value["size"],
        root=b.hex_bytes(value["root"], "cumulative", "root"),
        consistency=tuple(
            b.hex_bytes(p, "cumulative", "a proof hash") for p in value["consistency"]
        ),
    )


def check_log(
    bundle: Path,
    manifest: Mapping[str, Any],
    previous: Path | None,
    pins: LogPins,
    grown: bytes | None,
) -> list[str]:
    """Every check of the log for one bundle, ``grown`` the root its transfers grow the
    previous peaks to (``verify.check_transfers`` reads them once for both trees); the lines
    of what held."""
    section = read_section(manifest)
    if section is None:
        if pins.log_key is not None or pins.min_witnesses:
            raise BundleError("cumulative", "the manifest has no cumulative log section")
        return ["cumulative: none (a month exported before the transparency log)"]
    done = [check_cumulative_root(section, _count(manifest), grown)]
    if previous is not None:
        done.append(check_previous(previous, section))
    done.extend(check_checkpoint(bundle, section, pins))
    return done


def _count(manifest: Mapping[str, Any]) -> int:
    transfers = manifest.get("transfers")
    count = transfers.get("count") if isinstance(transfers, dict) else None
    if not isinstance(count, int):
        raise BundleError("manifest", "transfers.count must be an integer")
    return count


def check_cumulative_root(section: Cumulative, count: int, grown: bytes | None) -> str:
    """The previous peaks give the previous root, this month's ``count`` transfers on them the
    new root (``grown``), and the published consistency proof leads from one to the other."""
    try:
        tree = CompactRange(section.previous_size, section.previous_peaks)
    except ConsistencyError as bad:
        raise BundleError("cumulative", f"previous_peaks: {bad}") from None
    if tree.root() != section.previous_root:
        raise BundleError("cumulative", "the previous peaks do not hash to previous_root")
    if section.size != section.previous_size + count:
        raise BundleError(
            "cumulative",
            f"size {section.size} is not previous_size {section.previous_size} plus {count}"
            " transfers",
        )
    if grown != section.root:
        raise BundleError(
            "cumulative",
            "this month's transfers on the previous peaks do not hash to the cumulative root",
        )
    check_proof(section)
    return (
        f"cumulative: {section.size} transfers in log {section.origin}, root follows from"
        f" size {section.previous_size} and this month's {count}"
    )


def check_proof(section: Cumulative) -> None:
    """The section's consistency proof from its previous size (none from the empty tree)."""
    if section.previous_size == 0:
        if section.consistency:
            raise BundleError("consistency", "a proof from the empty tree must be empty")
        return
    try:
        verify_consistency(
            section.previous_size,
            section.size,
            section.previous_root,
            section.root,
            section.consistency,
        )
    except ConsistencyError as bad:
        raise BundleError("consistency", str(bad)) from None


def check_previous(previous: Path, section: Cumulative) -> str:
    """The previous month's cumulative tree is the one this month's grows from."""
    before = read_section(b.read_json(previous / b.MANIFEST, "previous"))  # type: ignore[arg-type]
    if before is None:
        if section.previous_size != 0:
            raise BundleError("consistency", "--previous has no cumulative section to grow from")
        return "consistency: the log starts with this month"
    if before.origin != section.origin:
        raise BundleError("consistency", f"--previous is log {before.origin}, not {section.origin}")
    if (before.size, before.root) != (section.previous_size, section.previous_root):
        raise BundleError(
            "consistency",
            f"--previous ends at size {before.size} with another root than this month's"
            f" previous_size {section.previous_size}",
        )
    return f"consistency: size {before.size} (--previous) is a prefix of size {section.size}"


def check_checkpoint(bundle: Path, section: Cumulative, pins: LogPins) -> list[str]:
    """checkpoint.txt states this month's origin, size and root, is signed by the log's key
    (pinned or, said so, the manifest's), and carries enough cosignatures by trusted witnesses."""
    path = bundle / CHECKPOINT_FILE
    try:
        note = parse_note(path.read_bytes())
        checkpoint = parse_checkpoint(note.text)
    except OSError as bad:
        raise BundleError("checkpoint", f"cannot read {CHECKPOINT_FILE}: {bad.strerror}") from None
    except NoteError as bad:
        raise BundleError("checkpoint", str(bad)) from None
    if checkpoint != section.checkpoint:
        expected = section.checkpoint
        differs = [
            f"{field} {getattr(checkpoint, field)!r} (the manifest's {getattr(expected, field)!r})"
            for field in ("origin", "size")
            if getattr(checkpoint, field) != getattr(expected, field)
        ]
        if checkpoint.root != expected.root:
            differs.append(f"root {checkpoint.root.hex()} (the manifest's {expected.root.hex()})")
        raise BundleError("checkpoint", f"{CHECKPOINT_FILE} states " + ", ".join(differs))
    key = pins.log_key or section.log_key
    try:
        verify_note(note, key)
        cosigned = count_cosignatures(note, pins.witnesses)
    except NoteError as bad:
        raise BundleError("checkpoint", str(bad)) from None
    source = "pinned by --log-key" if pins.log_key else "the manifest's own log_key, UNPINNED"
    if len(cosigned) < pins.min_witnesses:
        raise BundleError(
            "witnesses",
            f"{len(cosigned)} valid cosignatures by trusted witnesses, {pins.min_witnesses} needed",
        )
    names = ", ".join(c.witness.name for c in cosigned) or "none"
    return [
        f"checkpoint: signed by {key.name} ({source})",
        f"witnesses: {len(cosigned)} of {len(pins.witnesses)} trusted cosigned ({names}),"
        f" >= {pins.min_witnesses}",
    ]


def check_consistency(old: Path, new: Path, proof_file: Path | None) -> list[str]:
    """``msc-audit consistency OLD NEW``: NEW's cumulative tree extends OLD's, by NEW's own
    proof when OLD is the month it grows from, else by a proof in ``proof_file`` (a JSON list
    of hex or base64 hashes, as the public API serves it)."""
    first = read_section(_manifest(old))
    second = read_section(_manifest(new))
    if first is None or second is None:
        raise BundleError("consistency", "both bundles need a cumulative section")
    if first.origin != second.origin:
        raise BundleError("consistency", f"the logs differ: {first.origin} and {second.origin}")
    if proof_file is None:
        if first.size == second.previous_size and first.root != second.previous_root:
            raise BundleError(
                "consistency",
                f"NEW grows from another tree of size {first.size} than OLD's (roots"
                f" {second.previous_root.hex()} and {first.root.hex()}): a fork",
            )
        if first.size != second.previous_size:
            raise BundleError(
                "consistency",
                f"NEW grows from size {second.previous_size}, not OLD's {first.size}: give --proof",
            )
        check_proof(second)
        proof: Sequence[bytes] = second.consistency
    else:
        proof = _read_proof(proof_file)
        if first.size == 0:
            if proof:
                raise BundleError("consistency", "a proof from the empty tree must be empty")
        else:
            try:
                verify_consistency(first.size, second.size, first.root, second.root, proof)
            except ConsistencyError as bad:
                raise BundleError("consistency", str(bad)) from None
    return [
        f"consistency: size {first.size} is a prefix of size {second.size}"
        f" ({len(proof)} proof hashes)"
    ]


def _manifest(bundle: Path) -> Mapping[str, Any]:
    value = b.read_json(bundle / b.MANIFEST, "manifest")
    if not isinstance(value, dict):
        raise BundleError("manifest", f"{bundle}: not a JSON object")
    return value


def _read_proof(path: Path) -> list[bytes]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as bad:
        raise BundleError("consistency", f"cannot read --proof {path}: {bad}") from None
    if isinstance(value, dict):
        value = value.get("proof")
    if not isinstance(value, list) or len(value) > proof_hashes_max:
        raise BundleError("consistency", "--proof holds a list of at most 63 hashes")
    return [_hash(item) for item in value]


def _hash(item: object) -> bytes:
    if isinstance(item, str) and len(item) == 64:
        return b.hex_bytes(item, "consistency", "a proof hash")
    try:
        raw = base64.b64decode(item if isinstance(item, str) else "", validate=True)
    except ValueError:  # binascii.Error, or a non-ASCII str
        raw = b""
    if len(raw) != merkle.hash_bytes:
        raise BundleError("consistency", "a proof hash is 32 bytes of hex or base64")
    return raw
