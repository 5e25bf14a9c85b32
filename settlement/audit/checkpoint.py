"""C2SP checkpoints (c2sp.org/tlog-checkpoint) and their Ed25519 cosignatures
(c2sp.org/tlog-cosignature, ``cosignature/v1``).

Standard library and PyNaCl only. A checkpoint's text is three lines: origin, tree size in
decimal, base64 root. The log signs the text as a signed note; a witness signs
``cosignature/v1\\ntime <t>\\n`` followed by the same text, and its signature bytes are the
8-byte big-endian timestamp then the 64-byte signature.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path

from settlement.audit.merkle import EMPTY_ROOT, hash_bytes
from settlement.audit.note import (
    COSIGNATURE_V1,
    Note,
    NoteError,
    NoteKey,
    NoteSignature,
    NoteSigner,
    check_name,
    verifies,
)

CHECKPOINT_FILE = "checkpoint.txt"
"""The bundle's signed checkpoint and its cosignatures (outside the digest, like anchors.json)."""
COSIGNATURE_HEADER = "cosignature/v1\n"
timestamp_bytes = 8
signature_bytes = 64
_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,18})$")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A tree head: the log's origin, its size and root."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        """The note text (no extension lines)."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode('ascii')}\n"


@dataclass(frozen=True, slots=True)
class Cosignature:
    """A witness's valid cosignature: by whom, and when it says it saw the checkpoint."""

    witness: NoteKey
    timestamp: int


def parse_checkpoint(text: str) -> Checkpoint:
    """Read a checkpoint's note text; extension lines are refused (this log writes none)."""
    lines = text.split("\n")
    if len(lines) != 4 or lines[3] != "":
        raise NoteError("a checkpoint is exactly origin, size and root lines")
    origin, size_text, root_text = lines[:3]
    check_name(origin)
    if not _DECIMAL.match(size_text):
        raise NoteError(f"checkpoint size {size_text!r} is not a decimal without leading zeros")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError:  # binascii.Error, or a non-ASCII str
        raise NoteError("checkpoint root is not base64") from None
    if len(root) != hash_bytes:
        raise NoteError(f"checkpoint root is {len(root)} bytes, not {hash_bytes}")
    checkpoint = Checkpoint(origin, int(size_text), root)
    if checkpoint.size == 0 and root != EMPTY_ROOT:
        raise NoteError("a checkpoint of size 0 has the empty tree's root")
    return checkpoint


def cosigned_message(text: str, timestamp: int) -> bytes:
    """What a witness signs: header, time line, the checkpoint text."""
    return f"{COSIGNATURE_HEADER}time {timestamp}\n{text}".encode()


def cosign(text: str, witness: NoteSigner, timestamp: int) -> NoteSignature:
    """A ``cosignature/v1`` signature line by ``witness`` over checkpoint ``text`` at time
    ``timestamp`` (POSIX seconds, > 0)."""
    if witness.kind != COSIGNATURE_V1:
        raise NoteError(f"{witness.name}: a cosigner key has type {COSIGNATURE_V1}")
    if not 0 < timestamp < 1 << 63:
        raise NoteError("a cosignature's timestamp is positive and below 2^63")
    signature = witness.sign(cosigned_message(text, timestamp))
    stamp = timestamp.to_bytes(timestamp_bytes, "big")
    return NoteSignature(witness.name, witness.verifier.key_id, stamp + signature)


def check_cosignature(text: str, signature: NoteSignature, witness: NoteKey) -> Cosignature:
    """The cosignature by ``witness`` is valid over checkpoint ``text``; raise naming why not."""
    if witness.kind != COSIGNATURE_V1:
        raise NoteError(f"{witness.name}: a witness key has type {COSIGNATURE_V1}")
    if (signature.name, signature.key_id) != (witness.name, witness.key_id):
        raise NoteError(f"the signature is not by witness {witness.name}")
    raw = signature.signature
    if len(raw) != timestamp_bytes + signature_bytes:
        raise NoteError(f"the cosignature by {witness.name} is not 72 bytes")
    timestamp = int.from_bytes(raw[:timestamp_bytes], "big")
    if not 0 < timestamp < 1 << 63:
        raise NoteError(f"the cosignature by {witness.name} has no valid timestamp")
    if not verifies(witness.public, cosigned_message(text, timestamp), raw[timestamp_bytes:]):
        raise NoteError(f"the cosignature by {witness.name} is not over this checkpoint")
    return Cosignature(witness, timestamp)


def count_cosignatures(note: Note, witnesses: tuple[NoteKey, ...]) -> list[Cosignature]:
    """The valid cosignatures on ``note`` by the trusted ``witnesses`` (one per witness).

    Signatures by unknown keys are ignored, as the spec says; a signature carrying a trusted
    witness's name and key id that does not verify is refused: it is over another checkpoint.
    """
    found: list[Cosignature] = []
    for witness in witnesses:
        mine = note.signed_by(witness)
        checked = [check_cosignature(note.text, signature, witness) for signature in mine]
        if checked:
            found.append(checked[0])
    return found


def write_checkpoint(bundle: Path, note: str) -> int:
    """Write ``note`` (the month's signed checkpoint and its cosignatures) as the bundle's
    checkpoint.txt, replacing it whole; how many signature lines it has."""
    partial = bundle / (CHECKPOINT_FILE + ".partial")
    partial.write_text(note, encoding="utf-8")
    partial.replace(bundle / CHECKPOINT_FILE)
    return note.count("\n\u2014 ") + note.startswith("\u2014 ")
