"""Officers and their ed25519 signatures over a bundle's digest (PyNaCl)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from settlement.audit import bundle as b
from settlement.audit.bundle import BundleError
from settlement.audit.canonical import CanonicalError, canonical_bytes, parse_strict
from settlement.audit.verify import read_manifest

seed_bytes = 32


class SigningError(ValueError):
    """An officers file or key file cannot be used, or the signer is not an officer."""


@dataclass(frozen=True, slots=True)
class Officers:
    """Who may sign a digest and how many distinct signatures it needs."""

    threshold: int
    keys: tuple[tuple[str, str], ...]
    """(name, hex public key) pairs."""

    def officer_set(self) -> b.OfficerSet:
        """The set as the verifier compares it (keys and threshold, names aside)."""
        return b.OfficerSet(self.threshold, frozenset(bytes.fromhex(key) for _, key in self.keys))

    def as_json(self) -> dict[str, object]:
        """The manifest's ``signing`` section."""
        return {
            "officers": [{"name": name, "public_key": key} for name, key in self.keys],
            "scheme": "ed25519 over 'msc-audit-digest/1:' || digest (32 bytes)",
            "threshold": self.threshold,
        }


def load_officers(path: Path) -> Officers:
    """Read ``{"threshold": M, "officers": [{"name": ..., "public_key": hex}, ...]}``."""
    try:
        document = parse_strict(path.read_bytes())
    except (OSError, CanonicalError) as bad:
        raise SigningError(f"cannot read officers file {path}: {bad}") from None
    if not isinstance(document, dict):
        raise SigningError(f"officers file {path} must hold an object")
    try:
        b.officer_set(document, "officers")
    except BundleError as bad:
        raise SigningError(f"officers file {path}: {bad.reason}") from None
    keys = tuple((entry["name"], entry["public_key"]) for entry in document["officers"])
    return Officers(document["threshold"], keys)


def load_signing_key(path: Path) -> SigningKey:
    """An officer's key: a file holding the 32-byte ed25519 seed as hex."""
    try:
        seed = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, UnicodeDecodeError, ValueError) as bad:
        raise SigningError(f"cannot read key file {path}: {bad}") from None
    if len(seed) != seed_bytes:
        raise SigningError(f"a key file holds {seed_bytes} bytes of hex seed")
    return SigningKey(seed)


def write_new_key(path: Path) -> str:
    """Generate an officer key into ``path`` (mode 0600, never overwritten); its public key."""
    key = SigningKey.generate()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as out:
        out.write(bytes(key).hex() + "\n")
    return bytes(key.verify_key).hex()


def sign_bundle(bundle: Path, key: SigningKey) -> bool:
    """Add this officer's signature over the bundle's digest; False if it was already there."""
    manifest = read_manifest(bundle)
    public = bytes(key.verify_key)
    if public not in manifest.officers:
        raise SigningError("this key is not one of the manifest's officers")
    manifest_digest = b.digest(manifest.raw)
    document = b.read_json(bundle / b.SIGNATURES, "signatures")
    if not isinstance(document, dict) or not isinstance(document.get("signatures"), list):
        raise SigningError("signatures.json must hold a list of signatures")
    if document.get("digest") != manifest_digest.hex():
        raise SigningError("signatures.json is for another digest than this manifest's")
    signatures: list[object] = document["signatures"]
    if any(isinstance(s, dict) and s.get("public_key") == public.hex() for s in signatures):
        return False
    signature = key.sign(b.signing_message(manifest_digest)).signature
    signatures.append({"public_key": public.hex(), "signature": signature.hex()})
    _replace(bundle / b.SIGNATURES, json.dumps(document, indent=2, sort_keys=True) + "\n")
    return True


def read_governance(path: Path) -> list[dict[str, Any]]:
    """The governance entries of a JSONL file (one JSON object a line), for ``msc audit export``."""
    try:
        lines = path.read_bytes().splitlines()
        entries = [parse_strict(line) for line in lines if line.strip()]
    except (OSError, CanonicalError) as bad:
        raise SigningError(f"cannot read governance file {path}: {bad}") from None
    if not all(isinstance(entry, dict) for entry in entries):
        raise SigningError(f"governance file {path}: each line is a JSON object")
    return [entry for entry in entries if isinstance(entry, dict)]


def rotation_entry(period: str, replaced: Officers, new: Officers) -> dict[str, Any]:
    """An unsigned ``officers.rotate`` governance entry: from ``period`` on, ``new`` replaces
    ``replaced``; it counts once ``replaced.threshold`` of ``replaced`` have signed it."""
    b.period_range_us(period)
    return {
        "kind": b.ROTATE,
        "officers": [{"name": name, "public_key": key} for name, key in new.keys],
        "period": period,
        "replaces": replaced.officer_set().id(),
        "signatures": [],
        "threshold": new.threshold,
    }


def sign_rotation(entry: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    """The entry with this officer's signature added (signatures kept sorted by key)."""
    public = bytes(key.verify_key).hex()
    signature = key.sign(b.rotation_message(entry)).signature.hex()
    others = [s for s in entry["signatures"] if s.get("public_key") != public]
    signatures = sorted([*others, {"public_key": public, "signature": signature}], key=str)
    return entry | {"signatures": signatures}


def write_rotation(path: Path, entry: dict[str, Any]) -> None:
    """Write an ``officers.rotate`` entry as a one-line governance file; never overwrites."""
    with path.open("xb") as created:
        created.write(canonical_bytes(entry) + b"\n")


def sign_rotation_file(path: Path, key: SigningKey) -> bool:
    """Add this officer's signature to the one rotation entry in ``path``; False if it was there.

    Any officer may sign; only the signatures of the set the entry replaces count, and the
    verifier ignores the others."""
    entries = read_governance(path)
    if len(entries) != 1 or entries[0].get("kind") != b.ROTATE:
        raise SigningError(f"{path} must hold exactly one {b.ROTATE} entry")
    signed = sign_rotation(entries[0], key)
    if signed == entries[0]:
        return False
    _replace(path, canonical_bytes(signed).decode("utf-8") + "\n")
    return True


def _replace(path: Path, content: str) -> None:
    """Write a file whole or not at all (write aside, then rename over)."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(content, encoding="utf-8")
    partial.replace(path)
