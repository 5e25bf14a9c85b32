"""Shape checks for Pi identifiers, done before any network call."""

from __future__ import annotations

import re

from stellar_sdk import StrKey

from chain.pi.errors import PiInputError

# Stellar text memos hold at most 28 bytes and A2U puts the payment identifier in the memo, so an
# identifier longer than that could never be verified on chain.
payment_id_chars_max = 28
_PAYMENT_ID = re.compile(rf"[A-Za-z0-9_-]{{1,{payment_id_chars_max}}}")
_TXID = re.compile(r"[0-9a-f]{64}")
_UID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


def check_payment_id(value: str) -> str:
    """Return `value` if it looks like a Pi payment identifier, else raise PiInputError."""
    if not _PAYMENT_ID.fullmatch(value):
        raise PiInputError(
            "payment id must be 1-28 characters of [A-Za-z0-9_-]", code="pi_bad_payment_id"
        )
    return value


def check_txid(value: str) -> str:
    """Return `value` if it is a 64-hex-digit lowercase transaction hash, else raise."""
    if not _TXID.fullmatch(value):
        raise PiInputError("txid must be 64 lowercase hex digits", code="pi_bad_txid")
    return value


def check_address(value: str) -> str:
    """Return `value` if it is a valid ed25519 public key (G...) strkey, else raise."""
    if not StrKey.is_valid_ed25519_public_key(value):
        raise PiInputError("not a valid Pi/Stellar account address", code="pi_bad_address")
    return value


def check_uid(value: str) -> str:
    """Return `value` if it is a plausible app-specific Pioneer uid, else raise."""
    if not _UID.fullmatch(value):
        raise PiInputError("uid has an unexpected shape", code="pi_bad_uid")
    return value
