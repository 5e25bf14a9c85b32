"""Both sides of c2sp.org/tlog-witness ``add-checkpoint``: the witness's checks and the log's
request and reading of the reply.

Standard library and PyNaCl only: anyone can run a witness with what the verifier needs. The
witness remembers, per origin, the size and root of the last checkpoint it cosigned, and
cosigns a new one only if the log proves it consistent with that one; a smaller, forked or
unproven tree is refused, so a log that shows two views to two parties is caught by whichever
witness saw the other one.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from settlement.audit.checkpoint import (
    Checkpoint,
    Cosignature,
    check_cosignature,
    cosign,
    parse_checkpoint,
)
from settlement.audit.consistency import ConsistencyError, proof_hashes_max, verify_consistency
from settlement.audit.note import (
    NoteError,
    NoteKey,
    NoteSigner,
    parse_note,
    parse_signature_line,
    verify_note,
)

SIZE_CONTENT_TYPE = "text/x.tlog.size"
request_bytes_max = 1 << 16
"""63 proof lines and a checkpoint with many signatures fit well within 64 KiB."""


class WitnessState(Protocol):
    """Where a witness keeps the last cosigned (size, root) per origin."""

    def get(self, origin: str) -> tuple[int, bytes] | None:
        """The last cosigned size and root of ``origin``, or None if never."""
        ...

    def put(self, origin: str, size: int, root: bytes) -> None:
        """Record (durably, before the cosignature is returned) a new cosigned checkpoint."""
        ...


class FileState:
    """A witness's state as one JSON file, replaced whole on every change."""

    def __init__(self, path: Path) -> None:
        self._path = path

    def _read(self) -> dict[str, dict[str, object]]:
        if not self._path.exists():
            return {}
        value = json.loads(self._path.read_text(encoding="utf-8"))
        if not isinstance(value, dict):
            raise NoteError(f"witness state {self._path} is not a JSON object")
        return value

    def get(self, origin: str) -> tuple[int, bytes] | None:
        """See ``WitnessState.get``."""
        entry = self._read().get(origin)
        if entry is None:
            return None
        size, root = entry["size"], entry["root"]
        if not isinstance(size, int) or not isinstance(root, str):
            raise NoteError(f"witness state of {origin} is malformed")
        return size, base64.b64decode(root)

    def put(self, origin: str, size: int, root: bytes) -> None:
        """See ``WitnessState.put``."""
        state = self._read()
        state[origin] = {"root": base64.b64encode(root).decode("ascii"), "size": size}
        partial = self._path.with_name(self._path.name + ".partial")
        with partial.open("w", encoding="utf-8") as out:
            out.write(json.dumps(state, indent=2, sort_keys=True) + "\n")
            out.flush()
            os.fsync(out.fileno())
        partial.replace(self._path)


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP answer: status, body and its content type."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class AddCheckpoint:
    """An ``add-checkpoint`` request body, read."""

    old_size: int
    proof: tuple[bytes, ...]
    note: bytes


def encode_request(old_size: int, proof: Sequence[bytes], note: bytes) -> bytes:
    """The body the log POSTs: ``old N``, one base64 proof hash a line, a blank line, the note."""
    lines = [f"old {old_size}\n", *(base64.b64encode(h).decode("ascii") + "\n" for h in proof)]
    return "".join(lines).encode("ascii") + b"\n" + note


def parse_request(body: bytes) -> AddCheckpoint:
    """Read an ``add-checkpoint`` body; ``NoteError`` naming what is malformed."""
    head, blank, note = body.partition(b"\n\n")
    if not blank or len(body) > request_bytes_max:
        raise NoteError("the body is an old size line, proof lines, a blank line, a checkpoint")
    lines = head.decode("ascii", "replace").split("\n")
    old = lines[0].removeprefix("old ")
    if old == lines[0] or not old.isdigit() or (old != "0" and old.startswith("0")):
        raise NoteError("the first line is 'old' and a size in decimal")
    if len(lines) - 1 > proof_hashes_max:
        raise NoteError(f"at most {proof_hashes_max} proof lines")
    try:
        proof = tuple(base64.b64decode(line, validate=True) for line in lines[1:])
    except ValueError:  # binascii.Error, or a non-ASCII str
        raise NoteError("a proof line is not base64") from None
    return AddCheckpoint(int(old), proof, note)


class Witness:
    """A witness: its cosigner key, the logs it follows (origin -> log key), its state."""

    def __init__(
        self,
        signer: NoteSigner,
        logs: Mapping[str, NoteKey],
        state: WitnessState,
        clock_s: Callable[[], int],
    ) -> None:
        self.signer = signer
        self._logs = dict(logs)
        self._state = state
        self._clock_s = clock_s
        self._lock = threading.Lock()
        """Checking the old size and recording the new one is atomic (the spec's race)."""

    def add_checkpoint(self, body: bytes) -> Reply:
        """Answer one ``add-checkpoint`` request as c2sp.org/tlog-witness says."""
        try:
            request = parse_request(body)
            note = parse_note(request.note)
            checkpoint = parse_checkpoint(note.text)
        except NoteError as bad:
            return _text(400, f"malformed request: {bad}")
        key = self._logs.get(checkpoint.origin)
        if key is None:
            return _text(404, f"unknown log origin {checkpoint.origin}")
        try:
            verify_note(note, key)
        except NoteError as bad:
            return _text(403, f"checkpoint signature: {bad}")
        if request.old_size > checkpoint.size:
            return _text(
                400,
                f"old size {request.old_size} is larger than the checkpoint's {checkpoint.size}",
            )
        with self._lock:
            return self._check_and_cosign(request, note.text, checkpoint)

    def _check_and_cosign(self, request: AddCheckpoint, text: str, new: Checkpoint) -> Reply:
        known = self._state.get(new.origin) or (0, b"")
        if request.old_size != known[0]:
            return Reply(409, f"{known[0]}\n".encode("ascii"), SIZE_CONTENT_TYPE)
        if request.old_size == 0:
            if request.proof:
                return _text(422, "old size 0 needs an empty consistency proof")
        else:
            try:
                verify_consistency(known[0], new.size, known[1], new.root, request.proof)
            except ConsistencyError as bad:
                return _text(422, f"not consistent with the cosigned size {known[0]}: {bad}")
        self._state.put(new.origin, new.size, new.root)
        line = cosign(text, self.signer, self._clock_s()).line()
        return Reply(200, line.encode("utf-8"))


def read_cosignature(reply: bytes, text: str, witness: NoteKey) -> tuple[str, Cosignature]:
    """From a witness's 200 reply, its cosignature line over ``text`` and what it says; other
    keys' lines are ignored, and an invalid one by this witness is refused."""
    try:
        lines = reply.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise NoteError(f"the reply of {witness.name} is not UTF-8") from None
    for line in lines:
        signature = parse_signature_line(line)
        if (signature.name, signature.key_id) == (witness.name, witness.key_id):
            return line + "\n", check_cosignature(text, signature, witness)
    raise NoteError(f"the reply holds no cosignature by {witness.name}")


def _text(status: int, message: str) -> Reply:
    return Reply(status, (message + "\n").encode("utf-8"))
