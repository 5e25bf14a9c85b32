"""Treasury proposals: the exact bytes officers sign, and the checks of a signature over them.

Standard library and PyNaCl only: an officer signs offline, on a machine with no database and
no service, from the proposal file alone (``msc treasury sign``), and the auditor's verifier
checks the same bytes. Decision 0030 documents the encoding:

    message = b"msc-treasury-proposal/1:" || canonical JSON of
              {"action", "deployment", "expires_at_us", "nonce", "params"}
    id      = hex SHA-256(message)

The prefix keeps a proposal signature from ever being a bundle-digest or rotation signature
(the same officer keys sign all three); the deployment makes a proposal for one deployment or
environment void in every other; the nonce is used once, in order (as a Safe's).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.exceptions import CryptoError
from nacl.signing import SigningKey, VerifyKey

from settlement.audit.canonical import CanonicalError, canonical_bytes, parse_strict

PROPOSAL_CONTEXT = b"msc-treasury-proposal/1:"
FILE_FORMAT = "msc-treasury-proposal-file/1"
BODY_FIELDS = frozenset({"action", "deployment", "expires_at_us", "nonce", "params"})
params_bytes_max = 2048
"""The canonical params of any action are a few fields; more is refused, not signed."""
file_bytes_max = 1 << 16
signatures_max = 64
"""No more signatures than officers (``bundle.officers_max``)."""
_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){0,3}$")
_DEPLOYMENT = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_HEX = re.compile(r"^[0-9a-f]*$")
public_key_bytes = 32
signature_bytes = 64


class ProposalError(ValueError):
    """A proposal, signature or proposal file is malformed; ``code`` is its refusal code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Proposal:
    """What the officers authorise: one action with its params, once, in one deployment."""

    action: str
    deployment: str
    nonce: int
    expires_at_us: int
    params: Mapping[str, Any]

    def body(self) -> dict[str, Any]:
        """The signed fields as a JSON object."""
        return {
            "action": self.action,
            "deployment": self.deployment,
            "expires_at_us": self.expires_at_us,
            "nonce": self.nonce,
            "params": dict(self.params),
        }

    def message(self) -> bytes:
        """The bytes every officer signs."""
        return PROPOSAL_CONTEXT + canonical_bytes(self.body())

    def id(self) -> str:
        """The proposal's name: hex SHA-256 of its message."""
        return hashlib.sha256(self.message()).hexdigest()


@dataclass(frozen=True, slots=True)
class Signature:
    """One officer's ed25519 signature, as published: both in raw bytes."""

    public_key: bytes
    signature: bytes

    def as_json(self) -> dict[str, str]:
        """``{"public_key": hex, "signature": hex}``."""
        return {"public_key": self.public_key.hex(), "signature": self.signature.hex()}


def read_proposal(value: object) -> Proposal:
    """Shape-check a proposal body (``ProposalError`` ``governance_proposal_malformed``)."""
    if not isinstance(value, dict) or set(value) != BODY_FIELDS:
        raise _malformed(f"a proposal has exactly the fields {sorted(BODY_FIELDS)}")
    action, deployment, nonce, expires, params = (
        value["action"],
        value["deployment"],
        value["nonce"],
        value["expires_at_us"],
        value["params"],
    )
    if not isinstance(action, str) or not _ACTION.match(action):
        raise _malformed("action is dotted lower-case words, e.g. 'period.close'")
    if not isinstance(deployment, str) or not _DEPLOYMENT.match(deployment):
        raise _malformed("deployment is 1 to 64 of a-z 0-9 . _ -")
    for name, number in (("nonce", nonce), ("expires_at_us", expires)):
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < 1 << 63:
            raise _malformed(f"{name} is an integer from 0 to 2^63 - 1")
    if not isinstance(params, dict):
        raise _malformed("params is a JSON object")
    try:
        size = len(canonical_bytes(params))
    except CanonicalError as bad:
        raise _malformed(f"params: {bad}") from None
    if size > params_bytes_max:
        raise _malformed(f"params take at most {params_bytes_max} bytes of canonical JSON")
    return Proposal(action, deployment, nonce, expires, params)


def read_signature(value: object) -> Signature:
    """Shape-check ``{"public_key": hex, "signature": hex}``."""
    if not isinstance(value, dict) or set(value) != {"public_key", "signature"}:
        raise ProposalError(
            "governance_signature_invalid", "a signature is {public_key, signature}"
        )
    return Signature(
        _hex(value["public_key"], public_key_bytes, "public_key"),
        _hex(value["signature"], signature_bytes, "signature"),
    )


def sign(proposal: Proposal, key: SigningKey) -> Signature:
    """This officer's signature over the proposal's message."""
    signed = key.sign(proposal.message()).signature
    return Signature(bytes(key.verify_key), signed)


def verifies(proposal: Proposal, signature: Signature) -> bool:
    """True when ``signature`` is its key's ed25519 signature over exactly these bytes."""
    try:
        VerifyKey(signature.public_key).verify(proposal.message(), signature.signature)
    except (CryptoError, ValueError, TypeError):
        return False
    return True


def valid_signers(
    proposal: Proposal, signatures: Sequence[Signature], officers: frozenset[bytes]
) -> frozenset[bytes]:
    """The distinct officers among ``officers`` whose signature over the proposal verifies:
    a stranger's, a duplicate's or one over other bytes never counts."""
    return frozenset(
        s.public_key for s in signatures if s.public_key in officers and verifies(proposal, s)
    )


def file_document(proposal: Proposal, signatures: Sequence[Signature] = ()) -> dict[str, Any]:
    """The proposal file: the body, its id (for people; recomputed on read) and signatures."""
    ordered = sorted({s.public_key: s for s in signatures}.values(), key=lambda s: s.public_key)
    return {
        "format": FILE_FORMAT,
        "id": proposal.id(),
        "proposal": proposal.body(),
        "signatures": [s.as_json() for s in ordered],
    }


def read_file(path: Path) -> tuple[Proposal, list[Signature]]:
    """A proposal file's proposal and signatures; its id must be the body's."""
    try:
        if path.stat().st_size > file_bytes_max:
            raise _malformed(f"{path} is larger than {file_bytes_max} bytes")
        document = parse_strict(path.read_bytes())
    except OSError as bad:
        raise _malformed(f"cannot read {path}: {bad.strerror or bad}") from None
    except CanonicalError as bad:
        raise _malformed(f"{path}: {bad}") from None
    if not isinstance(document, dict) or document.get("format") != FILE_FORMAT:
        raise _malformed(f"{path} is not a {FILE_FORMAT} file")
    proposal = read_proposal(document.get("proposal"))
    if document.get("id") != proposal.id():
        raise _malformed(f"{path}: id is not the SHA-256 of the proposal's message")
    listed = document.get("signatures")
    if not isinstance(listed, list) or len(listed) > signatures_max:
        raise _malformed(f"signatures is a list of at most {signatures_max}")
    return proposal, [read_signature(s) for s in listed]


def write_file(path: Path, proposal: Proposal, signatures: Sequence[Signature] = ()) -> None:
    """Write the proposal file whole (aside, then renamed over)."""
    text = json.dumps(file_document(proposal, signatures), indent=2, sort_keys=True) + "\n"
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)


def sign_file(path: Path, key: SigningKey) -> tuple[Proposal, bool]:
    """Add this officer's signature to the proposal file; False if it was already there.

    Offline: reads and writes only ``path``. Whether the key belongs to a current officer is
    the service's to say when the signature is submitted."""
    proposal, signatures = read_file(path)
    mine = sign(proposal, key)
    if any(s.public_key == mine.public_key and verifies(proposal, s) for s in signatures):
        return proposal, False
    others = [s for s in signatures if s.public_key != mine.public_key]
    write_file(path, proposal, [*others, mine])
    return proposal, True


def _hex(value: object, size: int, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size or not _HEX.match(value):
        raise ProposalError(
            "governance_signature_invalid", f"{what} must be {size} bytes of lower-case hex"
        )
    return bytes.fromhex(value)


def _malformed(reason: str) -> ProposalError:
    return ProposalError("governance_proposal_malformed", reason)
