"""Canonical JSON and keyed pseudonyms: the exact bytes that are hashed, signed and published.

Canonical JSON here: UTF-8, object keys sorted, no insignificant whitespace, integers written as
JSON integers (exact, any size), strings with non-ASCII characters as themselves. Floats, NaN and
infinities are refused: money is never a float, and a float's text form is not unique.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, NoReturn

nesting_depth_max = 32
"""Leaves and manifests are shallow; a deeper document is refused rather than recursed into."""


_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
"""One encoder for every document (``json.dumps`` with options builds one per call)."""


class CanonicalError(ValueError):
    """A value cannot be written, or a text cannot be read, as canonical JSON."""


def canonical_bytes(value: object) -> bytes:
    """The canonical UTF-8 JSON of ``value`` (dicts with str keys, lists, str, int, bool, None)."""
    if not _flat(value):
        _check(value, 0)
    text = _ENCODER.encode(value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalError("strings must be valid Unicode (no lone surrogates)") from None


def parse_canonical(data: bytes) -> object:
    """Parse JSON strictly (no floats, NaN, duplicate keys) and require it to be canonical.

    A verifier must hash exactly what it checked; accepting two spellings of one leaf would let a
    bundle carry content its root does not commit to.
    """
    quick = _parse_canonical_quickly(data)
    if quick is not _NOT_CANONICAL:
        return quick
    value = parse_strict(data)
    if canonical_bytes(value) != data:
        raise CanonicalError("not in canonical form (sorted keys, no spaces, UTF-8)")
    return value


_NOT_CANONICAL = object()


def _parse_canonical_quickly(data: bytes) -> object:
    """``data``'s value when it is canonical, decided in C: parsed without a per-object hook and
    written back. Re-encoding equal to the input is the whole test: a duplicate key, a space or
    an escape the canonical form does not use would be written back differently, and a document
    with at most ``nesting_depth_max`` brackets cannot nest deeper. Anything else
    (``_NOT_CANONICAL``) goes the strict way, which names what is wrong."""
    try:
        text = data.decode("utf-8")
        value, end = _DECODER.raw_decode(text)
    except (ValueError, RecursionError):
        return _NOT_CANONICAL
    if end != len(text):
        return _NOT_CANONICAL
    written = _ENCODER.encode(value)
    if written != text or text.count("{") + text.count("[") > nesting_depth_max:
        return _NOT_CANONICAL
    return value


def parse_strict(data: bytes) -> object:
    """Parse JSON with integers exact and no floats, NaN, infinities or duplicate keys."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as bad:
        raise CanonicalError(f"not UTF-8: {bad.reason}") from None
    try:
        value: object = json.loads(
            text,
            parse_float=_refuse_float,
            parse_constant=_refuse_constant,
            object_pairs_hook=_unique_keys,
        )
    except RecursionError:
        raise CanonicalError("nested too deeply") from None
    except ValueError as bad:
        if isinstance(bad, CanonicalError):
            raise
        raise CanonicalError(f"not JSON: {bad}") from None
    _check(value, 0)
    return value


def pseudonym(key: bytes, party_id: str) -> str:
    """The party's keyed pseudonym: hex HMAC-SHA256 of its id under the pseudonym key.

    Without the key nobody can link a pseudonym to a party id (ids such as NMIDs are guessable,
    so a plain hash would not do); the operator gives a party its pseudonym, or the key, so that
    it can find its own receipts.
    """
    if not key:
        raise CanonicalError("the pseudonym key is empty")
    return hmac.new(key, party_id.encode("utf-8"), hashlib.sha256).hexdigest()


def account_label(code: str, owner: str | None, key: bytes, public_owners: frozenset[str]) -> str:
    """The published name of a ledger account: its code with the owner's id pseudonymised.

    ``merchant:UM001:IDR`` owned by ``UM001`` becomes ``merchant:<pseudonym>:IDR``. Accounts
    without an owner, or owned by one of ``public_owners`` (the treasury itself), keep their code.
    An owned account whose code does not name its owner is published as
    ``owned:<owner pseudonym>:<account pseudonym>``, so that no part of its code leaks.
    """
    if owner is None or owner in public_owners:
        return code
    segments = code.split(":")
    name = pseudonym(key, owner)
    if owner in segments:
        return ":".join(name if segment == owner else segment for segment in segments)
    return f"owned:{name}:{pseudonym(key, 'account:' + code)}"


_SCALARS = frozenset({str, int, bool, type(None)})


def _flat(value: object) -> bool:
    """Whether ``value`` is a dict of str keys to plain scalars (every leaf is): what ``_check``
    would accept, decided in C rather than a call per field (a fifth of an export's time)."""
    return (
        type(value) is dict
        and set(map(type, value)) <= {str}
        and set(map(type, value.values())) <= _SCALARS
    )


def _check(value: object, depth: int) -> None:
    if depth > nesting_depth_max:
        raise CanonicalError("nested too deeply")
    if value is None or isinstance(value, bool | int | str):
        return
    if isinstance(value, float):
        raise CanonicalError(f"floats are not canonical: {value!r}")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalError(f"object keys must be strings, not {key!r}")
            _check(item, depth + 1)
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check(item, depth + 1)
        return
    raise CanonicalError(f"not a JSON value: {type(value).__name__}")


def _refuse_float(text: str) -> NoReturn:
    raise CanonicalError(f"floats are not allowed: {text}")


def _refuse_constant(text: str) -> NoReturn:
    raise CanonicalError(f"{text} is not allowed")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise CanonicalError(f"duplicate key {key!r}")
        result[key] = value
    return result


_DECODER = json.JSONDecoder(parse_float=_refuse_float, parse_constant=_refuse_constant)
"""The quick path's parser, made once (``json.loads`` with hooks builds one per call)."""
