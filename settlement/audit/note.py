"""C2SP signed notes (c2sp.org/signed-note): text, a blank line, signature lines.

Standard library and PyNaCl only (the auditor's verifier reads notes). Keys are named as the
spec names them: a verifier key (``vkey``) is ``name+hex(key id)+base64(type || public key)``;
a signer key file holds ``PRIVATE+KEY+name+hex(key id)+base64(type || seed)`` as
golang.org/x/mod/sumdb/note writes it, so the log's key works with the Go tools too.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from nacl.exceptions import CryptoError
from nacl.signing import SigningKey, VerifyKey

ED25519 = 0x01
"""Signature type of plain Ed25519 note signatures (the log's key)."""
COSIGNATURE_V1 = 0x04
"""Signature type of timestamped Ed25519 checkpoint cosignatures (c2sp.org/tlog-cosignature)."""
DASH = "\u2014"
note_bytes_max = 65536
"""A checkpoint with dozens of cosignatures is under 10 KiB; a longer note is refused."""
signatures_max = 64
"""The spec asks verifiers to accept at least 16 signatures."""
key_id_bytes = 4
public_key_bytes = 32
_PRIVATE = "PRIVATE+KEY+"


class NoteError(ValueError):
    """A note, key or signature cannot be read, or does not verify; ``str()`` says what differs."""


@dataclass(frozen=True, slots=True)
class NoteKey:
    """A verifier key: name, signature type and 32-byte Ed25519 public key."""

    name: str
    kind: int
    public: bytes

    @property
    def key_id(self) -> bytes:
        """SHA-256(name || 0x0A || type || public key)[:4]."""
        return key_id(self.name, self.kind, self.public)

    def vkey(self) -> str:
        """The key in C2SP verifier-key form."""
        material = base64.b64encode(bytes([self.kind]) + self.public).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{material}"


@dataclass(frozen=True, slots=True)
class NoteSignature:
    """One signature line: the key's name, its 4-byte id and the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """The line as written under the note, newline included."""
        encoded = base64.b64encode(self.key_id + self.signature).decode("ascii")
        return f"{DASH} {self.name} {encoded}\n"


@dataclass(frozen=True, slots=True)
class Note:
    """A note's text (ending in a newline) and its signature lines in order."""

    text: str
    signatures: tuple[NoteSignature, ...]

    def encode(self) -> bytes:
        """The note as published: text, blank line, one line per signature."""
        return (self.text + "\n" + "".join(s.line() for s in self.signatures)).encode("utf-8")

    def signed_by(self, key: NoteKey) -> list[NoteSignature]:
        """The signatures whose name and key id are ``key``'s (unknown ones are ignored)."""
        return [s for s in self.signatures if (s.name, s.key_id) == (key.name, key.key_id)]


def key_id(name: str, kind: int, public: bytes) -> bytes:
    """The key id of c2sp.org/signed-note: the first 4 bytes of a hash of name, type and key."""
    return hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([kind]) + public).digest()[:4]


def check_name(name: str) -> str:
    """A key name is non-empty, without spaces or plus signs (it may be an origin)."""
    if not name or "+" in name or any(c.isspace() for c in name) or not name.isprintable():
        raise NoteError(f"a key name is non-empty, without spaces or '+', not {name!r}")
    return name


def parse_vkey(text: str) -> NoteKey:
    """Read a verifier key ``name+hex id+base64(type || key)``; its id must match its key."""
    parts = text.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError(f"a verifier key is name+id+key, not {text!r}")
    name, id_hex, material = parts
    check_name(name)
    try:
        raw = base64.b64decode(material, validate=True)
        declared = bytes.fromhex(id_hex)
    except ValueError:  # binascii.Error, or a non-ASCII str
        raise NoteError(f"verifier key {name}: bad hex id or base64 key") from None
    if len(raw) != 1 + public_key_bytes or raw[0] not in (ED25519, COSIGNATURE_V1):
        raise NoteError(f"verifier key {name}: only Ed25519 keys (type 1 or 4) are supported")
    key = NoteKey(name, raw[0], raw[1:])
    if declared != key.key_id:
        raise NoteError(f"verifier key {name}: its id {id_hex} is not the hash of its key")
    return key


@dataclass(frozen=True, slots=True)
class NoteSigner:
    """A signer key: the name it signs under, its type and the Ed25519 key."""

    name: str
    kind: int
    key: SigningKey

    @property
    def verifier(self) -> NoteKey:
        """The matching verifier key (publish its ``vkey()``)."""
        return NoteKey(self.name, self.kind, bytes(self.key.verify_key))

    def encode(self) -> str:
        """The signer key file's text (keep it secret)."""
        material = base64.b64encode(bytes([self.kind]) + bytes(self.key)).decode("ascii")
        return f"{_PRIVATE}{self.name}+{self.verifier.key_id.hex()}+{material}\n"

    def sign(self, message: bytes) -> bytes:
        """The bare Ed25519 signature of ``message``."""
        return self.key.sign(message).signature


def parse_signer(text: str) -> NoteSigner:
    """Read ``PRIVATE+KEY+name+hex id+base64(type || seed)``; the id must match the key."""
    body = text.strip()
    if not body.startswith(_PRIVATE):
        raise NoteError("a signer key starts with PRIVATE+KEY+")
    parts = body[len(_PRIVATE) :].split("+", 2)
    if len(parts) != 3:
        raise NoteError("a signer key is PRIVATE+KEY+name+id+key")
    name, id_hex, material = parts
    try:
        raw = base64.b64decode(material, validate=True)
    except ValueError:  # binascii.Error, or a non-ASCII str
        raise NoteError(f"signer key {name}: bad base64") from None
    if len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
        raise NoteError(f"signer key {name}: only Ed25519 seeds (type 1 or 4) are supported")
    signer = NoteSigner(check_name(name), raw[0], SigningKey(raw[1:]))
    if id_hex != signer.verifier.key_id.hex():
        raise NoteError(f"signer key {name}: its id {id_hex} is not the hash of its key")
    return signer


def generate_signer(name: str, kind: int = ED25519) -> NoteSigner:
    """A new random signer key under ``name``."""
    return NoteSigner(check_name(name), kind, SigningKey.generate())


def parse_note(data: bytes) -> Note:
    """Split a signed note into text and signature lines (not yet verified)."""
    if len(data) > note_bytes_max:
        raise NoteError(f"a note is at most {note_bytes_max} bytes")
    try:
        whole = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("a note is UTF-8") from None
    if any(ord(c) < 0x20 and c != "\n" for c in whole):
        raise NoteError("a note holds no control characters other than newline")
    split = whole.rfind("\n\n")
    if split < 0 or not whole.endswith("\n"):
        raise NoteError("a note is text, a blank line and signature lines, each ending in newline")
    text, lines = whole[: split + 1], whole[split + 2 : -1].split("\n")
    if len(lines) > signatures_max:
        raise NoteError(f"a note has at most {signatures_max} signatures")
    return Note(text, tuple(parse_signature_line(line) for line in lines))


def parse_signature_line(line: str) -> NoteSignature:
    """``— name base64(key id || signature)`` (without its newline)."""
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != DASH:
        raise NoteError(f"a signature line is '{DASH} name signature', not {line[:80]!r}")
    try:
        raw = base64.b64decode(parts[2], validate=True)
    except ValueError:  # binascii.Error, or a non-ASCII str
        raise NoteError(f"signature of {parts[1]!r} is not base64") from None
    if len(raw) <= key_id_bytes:
        raise NoteError(f"signature of {parts[1]!r} is too short")
    return NoteSignature(check_name(parts[1]), raw[:key_id_bytes], raw[key_id_bytes:])


def sign_note(text: str, signer: NoteSigner) -> Note:
    """The note of ``text`` signed by ``signer`` (an Ed25519 note signature over the text)."""
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note's text ends in a newline and holds no blank line")
    signature = signer.sign(text.encode("utf-8"))
    return Note(text, (NoteSignature(signer.name, signer.verifier.key_id, signature),))


def verify_note(note: Note, key: NoteKey) -> None:
    """The note carries a valid Ed25519 signature by ``key`` (and no invalid one by it)."""
    if key.kind != ED25519:
        raise NoteError(f"{key.name}: a note signature needs a type 1 key")
    mine = note.signed_by(key)
    if not mine:
        raise NoteError(f"no signature by {key.name} (key id {key.key_id.hex()})")
    for signature in mine:
        if not verifies(key.public, note.text.encode("utf-8"), signature.signature):
            raise NoteError(f"the signature by {key.name} does not verify over this text")


def verifies(public: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is ``public``'s Ed25519 signature of ``message``."""
    try:
        VerifyKey(public).verify(message, signature)
    except (CryptoError, ValueError, TypeError):
        return False
    return True
