"""The published bundle's shape: file names, leaf schemas, digest and signing message.

Shared by the exporter (which writes it) and the verifier (which reads it); standard library only.
Every reader here refuses what it does not expect with ``BundleError`` naming the check.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from json.encoder import encode_basestring as _quoted
from pathlib import Path
from typing import Any

from settlement.audit.canonical import (
    CanonicalError,
    canonical_bytes,
    parse_canonical,
    parse_strict,
)

FORMAT = "msc-audit-bundle/1"
MANIFEST = "manifest.json"
TRANSFERS = "transfers.jsonl"
BALANCES = "balances.jsonl"
GOVERNANCE = "governance.jsonl"
SIGNATURES = "signatures.json"
ANCHORS = "anchors.json"
FILES = (MANIFEST, TRANSFERS, BALANCES, GOVERNANCE, SIGNATURES, ANCHORS)

SIGNING_CONTEXT = b"msc-audit-digest/1:"
"""Officers sign this prefix followed by the 32 digest bytes, never bare bytes: the same keys sign
governance proposals, and a signature must not be replayable from one context in the other."""
ROTATION_CONTEXT = b"msc-officers-rotate/1:"
"""The officers in force sign this prefix and the SHA-256 of an ``officers.rotate`` entry's
canonical body (the entry without its signatures)."""
ROTATE = "officers.rotate"
"""``kind`` of a governance entry that replaces the officer set."""
ROTATION_FIELDS = frozenset({"kind", "period", "replaces", "threshold", "officers", "signatures"})
officers_max = 64

line_bytes_max = 16384
"""No leaf comes near this (an executed proposal with 64 signatures is about 12 KiB); a longer
line is refused before it is parsed."""
json_file_bytes_max = 1 << 20
"""manifest.json, signatures.json and anchors.json are small documents."""
read_chunk_bytes = 1 << 20
"""A JSONL file is streamed in reads of this size (a few thousand lines), never held whole."""
"""manifest.json, signatures.json and anchors.json are small documents."""

WIB = timezone(timedelta(hours=7))
"""Asia/Jakarta has been UTC+7 without daylight saving since 1964; no tz database needed."""
TRANSFER_TYPES = {0: "posted", 2: "pending", 4: "post_pending", 8: "void_pending"}
"""Ledger transfer flags as published; LINKED is not stored (a chain posts all or nothing)."""
RESOLUTIONS = frozenset({"post_pending", "void_pending"})
KINDS = ("asset", "liability", "equity", "income", "expense")
DEBIT_NORMAL = frozenset({"asset", "expense"})
TOTALS = ("credits_pending", "credits_posted", "debits_pending", "debits_posted")
_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
"""A UUID as ``str(uuid.UUID(...))`` writes it (the only spelling a leaf may use)."""
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_TX_HASH = re.compile(r"^0x[0-9a-f]{64}$")
EVM_ANCHOR = "evm"
"""``kind`` of an anchors.json entry published by the EVM ``AuditAnchor`` contract."""
STELLAR_ANCHOR = "stellar"
"""``kind`` of an anchors.json entry published as a Stellar-family transaction's memo hash."""
_STELLAR_ACCOUNT = re.compile(r"^G[A-Z2-7]{55}$")
passphrase_chars_max = 128


class BundleError(ValueError):
    """The bundle fails check ``check``; ``str()`` says why."""

    def __init__(self, check: str, reason: str) -> None:
        super().__init__(f"{check}: {reason}")
        self.check = check
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TransferLeaf:
    """One ledger transfer of the month, as published (party ids pseudonymised)."""

    id: str
    ts: int
    type: str
    debit: str
    credit: str
    amount: int
    asset: str
    code: str
    pending_id: str | None
    released: int

    def as_json(self) -> dict[str, Any]:
        """The leaf as a JSON object; its canonical bytes are the Merkle leaf data."""
        return {
            "amount": self.amount,
            "asset": self.asset,
            "code": self.code,
            "credit": self.credit,
            "debit": self.debit,
            "id": self.id,
            "pending_id": self.pending_id,
            "released": self.released,
            "ts": self.ts,
            "type": self.type,
        }

    def line(self) -> bytes:
        """``canonical_bytes(self.as_json())``, written by one format instead of a walk of a
        dict (the exporter writes, and the verifier compares, a month's lines by the million);
        a field not of its plain type goes the general way, which refuses what is not
        canonical."""
        texts = (self.asset, self.code, self.credit, self.debit, self.id, self.type)
        pending = self.pending_id
        if (
            set(map(type, texts)) != {str}
            or set(map(type, (self.amount, self.released, self.ts))) != {int}
            or (pending is not None and type(pending) is not str)
        ):
            return canonical_bytes(self.as_json())
        text = _TRANSFER_LINE % (
            self.amount, _quoted(self.asset), _quoted(self.code), _quoted(self.credit),
            _quoted(self.debit), _quoted(self.id), "null" if pending is None else _quoted(pending),
            self.released, self.ts, _quoted(self.type),
        )  # fmt: skip
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            return canonical_bytes(self.as_json())


_TRANSFER_LINE = (
    '{"amount":%d,"asset":%s,"code":%s,"credit":%s,"debit":%s,"id":%s,"pending_id":%s,'
    '"released":%d,"ts":%d,"type":%s}'
)
"""A transfer leaf's canonical JSON: its keys in sorted order, strings as ``json`` writes them."""


@dataclass(frozen=True, slots=True)
class BalanceLeaf:
    """One account's four running totals at the end of the month."""

    account: str
    asset: str
    kind: str
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    def as_json(self) -> dict[str, Any]:
        """The leaf as a JSON object; its canonical bytes are the sum-tree leaf data."""
        return {
            "account": self.account,
            "asset": self.asset,
            "credits_pending": self.credits_pending,
            "credits_posted": self.credits_posted,
            "debits_pending": self.debits_pending,
            "debits_posted": self.debits_posted,
            "kind": self.kind,
        }

    def totals(self) -> dict[str, int]:
        """The four totals by name."""
        return {name: getattr(self, name) for name in TOTALS}

    def sums(self) -> dict[str, int]:
        """The sum-tree values of this leaf: ``ASSET/total`` for each of the four totals."""
        return {f"{self.asset}/{name}": value for name, value in self.totals().items()}

    @property
    def posted(self) -> int:
        """Posted balance in the account's normal direction (may be negative)."""
        net = self.debits_posted - self.credits_posted
        return net if self.kind in DEBIT_NORMAL else -net


@dataclass(frozen=True, slots=True)
class OfficerSet:
    """Who may sign (ed25519 public keys) and how many distinct signatures are needed."""

    threshold: int
    keys: frozenset[bytes]

    def id(self) -> str:
        """The set's name in governance entries: hex SHA-256 of its canonical form."""
        body = {"public_keys": sorted(key.hex() for key in self.keys), "threshold": self.threshold}
        return hashlib.sha256(canonical_bytes(body)).hexdigest()


def officer_set(value: object, check: str) -> OfficerSet:
    """Read ``{"threshold": M, "officers": [{"name": ..., "public_key": hex}, ...]}`` (the
    officers file, a manifest's ``signing`` section, an ``officers.rotate`` entry)."""
    officers = value.get("officers") if isinstance(value, dict) else None
    threshold = value.get("threshold") if isinstance(value, dict) else None
    if not isinstance(officers, list) or not 0 < len(officers) <= officers_max:
        raise BundleError(check, f"officers must be a list of 1..{officers_max} officers")
    keys: list[bytes] = []
    for entry in officers:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise BundleError(check, "each officer has a name and a public_key")
        keys.append(hex_bytes(entry.get("public_key"), check, "officer public_key"))
    if isinstance(threshold, bool) or not isinstance(threshold, int):
        raise BundleError(check, "threshold must be an integer")
    if len(set(keys)) != len(keys) or not 1 <= threshold <= len(keys):
        raise BundleError(check, "officer keys must be distinct and 1 <= threshold <= N")
    return OfficerSet(threshold, frozenset(keys))


def rotation_message(entry: Mapping[str, Any]) -> bytes:
    """The bytes each officer in force signs for an ``officers.rotate`` entry."""
    body = {name: value for name, value in entry.items() if name != "signatures"}
    return ROTATION_CONTEXT + hashlib.sha256(canonical_bytes(body)).digest()


def digest(manifest: Mapping[str, Any]) -> bytes:
    """The bundle's digest: SHA-256 of the canonical manifest."""
    return hashlib.sha256(canonical_bytes(manifest)).digest()


def signing_message(manifest_digest: bytes) -> bytes:
    """The bytes an officer signs for a digest."""
    return SIGNING_CONTEXT + manifest_digest


def period_range_us(name: str) -> tuple[int, int]:
    """The first and last ledger timestamp (µs since the epoch) of month ``YYYY-MM`` in WIB."""
    match = _PERIOD.match(name)
    if match is None:
        raise BundleError("manifest", f"a period is written YYYY-MM, not {name!r}")
    year, month = int(match.group(1)), int(match.group(2))
    start = datetime(year, month, 1, tzinfo=WIB)
    following = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=WIB)
    return int(start.timestamp()) * 1_000_000, int(following.timestamp()) * 1_000_000 - 1


def anchor_period(name: str) -> int:
    """The ``uint64`` period of month ``YYYY-MM`` on an anchor contract: ``YYYYMM`` (2025-01 ->
    202501), increasing with time as ``AuditAnchor`` requires."""
    period_range_us(name)
    return int(name[:4]) * 100 + int(name[5:7])


def previous_period(name: str) -> str:
    """The month before ``YYYY-MM``."""
    period_range_us(name)
    year, month = int(name[:4]), int(name[5:7])
    return f"{year - 1:04d}-12" if month == 1 else f"{year:04d}-{month - 1:02d}"


@dataclass(frozen=True, slots=True)
class EvmAnchor:
    """One entry of anchors.json: the month's digest published on an EVM ``AuditAnchor``.

    Outside the manifest (the digest cannot name the transaction that publishes it), so adding
    an anchor to a bundle never changes its digest or signatures.
    """

    chain_id: int
    contract: str
    period: int
    digest: str
    prev_digest: str
    tx_hash: str
    block_number: int

    def as_json(self) -> dict[str, Any]:
        """The entry as written to anchors.json."""
        return {
            "block_number": self.block_number,
            "chain_id": self.chain_id,
            "contract": self.contract,
            "digest": self.digest,
            "kind": EVM_ANCHOR,
            "period": self.period,
            "prev_digest": self.prev_digest,
            "tx_hash": self.tx_hash,
        }


def evm_anchor(value: object, number: int) -> EvmAnchor:
    """Read and shape-check entry ``number`` (1-based) of anchors.json as an EVM anchor."""
    where = f"anchor {number}"
    if not isinstance(value, dict) or set(value) != set(EvmAnchor.__slots__) | {"kind"}:
        raise BundleError("anchors", f"{where}: fields must be kind and {EvmAnchor.__slots__}")
    integers = [value[name] for name in ("chain_id", "period", "block_number")]
    if any(isinstance(n, bool) or not isinstance(n, int) or n <= 0 for n in integers):
        raise BundleError("anchors", f"{where}: chain_id, period, block_number must be > 0")
    if not isinstance(value["contract"], str) or not _ADDRESS.match(value["contract"]):
        raise BundleError("anchors", f"{where}: contract must be a 0x address")
    if not isinstance(value["tx_hash"], str) or not _TX_HASH.match(value["tx_hash"]):
        raise BundleError("anchors", f"{where}: tx_hash must be 0x and 32 bytes of hex")
    hex_bytes(value["digest"], "anchors", f"{where}'s digest")
    hex_bytes(value["prev_digest"], "anchors", f"{where}'s prev_digest")
    return EvmAnchor(
        value["chain_id"],
        value["contract"],
        value["period"],
        value["digest"],
        value["prev_digest"],
        value["tx_hash"],
        value["block_number"],
    )


@dataclass(frozen=True, slots=True)
class StellarAnchor:
    """One entry of anchors.json: the month's digest as the memo hash of a transaction on a
    Stellar-family network (named by its passphrase), from the pinned source account.

    The memo holds 32 bytes, so the entry has no previous digest: the chain of months is the
    manifest's, and the EVM anchor carries both.
    """

    network_passphrase: str
    source_account: str
    period: int
    digest: str
    tx_hash: str
    ledger: int

    def as_json(self) -> dict[str, Any]:
        """The entry as written to anchors.json."""
        return {
            "digest": self.digest,
            "kind": STELLAR_ANCHOR,
            "ledger": self.ledger,
            "network_passphrase": self.network_passphrase,
            "period": self.period,
            "source_account": self.source_account,
            "tx_hash": self.tx_hash,
        }


Anchor = EvmAnchor | StellarAnchor


def stellar_anchor(value: object, number: int) -> StellarAnchor:
    """Read and shape-check entry ``number`` (1-based) of anchors.json as a Stellar anchor."""
    where = f"anchor {number}"
    if not isinstance(value, dict) or set(value) != set(StellarAnchor.__slots__) | {"kind"}:
        raise BundleError("anchors", f"{where}: fields must be kind and {StellarAnchor.__slots__}")
    integers = [value["period"], value["ledger"]]
    if any(isinstance(n, bool) or not isinstance(n, int) or n <= 0 for n in integers):
        raise BundleError("anchors", f"{where}: period and ledger must be > 0")
    passphrase = value["network_passphrase"]
    if not isinstance(passphrase, str) or not 0 < len(passphrase) <= passphrase_chars_max:
        raise BundleError("anchors", f"{where}: network_passphrase must be a short string")
    source = value["source_account"]
    if not isinstance(source, str) or not _STELLAR_ACCOUNT.match(source):
        raise BundleError("anchors", f"{where}: source_account must be a G... account id")
    if not is_digest_hex(value["tx_hash"]):
        raise BundleError("anchors", f"{where}: tx_hash must be 32 bytes of lower-case hex")
    hex_bytes(value["digest"], "anchors", f"{where}'s digest")
    return StellarAnchor(
        passphrase, source, value["period"], value["digest"], value["tx_hash"], value["ledger"]
    )


def is_stellar_account(value: object) -> bool:
    """True for a Stellar account id in its strkey shape (G and 55 base32 characters)."""
    return isinstance(value, str) and _STELLAR_ACCOUNT.match(value) is not None


def read_lines(path: Path, check: str) -> list[bytes]:
    """The lines of a JSONL file, each without its newline; every line ends with one."""
    data = _read(path, check, None)
    if not data:
        return []
    if not data.endswith(b"\n"):
        raise BundleError(check, f"{path.name} does not end with a newline")
    lines = data[:-1].split(b"\n")
    for number, line in enumerate(lines, 1):
        if len(line) > line_bytes_max:
            raise BundleError(check, f"{path.name} line {number} is longer than {line_bytes_max}")
    return lines


def line_batches(
    path: Path, check: str, start: int = 0, end: int | None = None
) -> Iterator[list[bytes]]:
    """The lines of a JSONL file as ``read_lines`` gives them, streamed a batch at a time: the
    file is never held whole, and a line longer than ``line_bytes_max`` is refused before it
    is parsed (the missing final newline before any line). Given ``start`` and ``end``, the
    lines of those bytes only (a run of whole lines, as ``parts.cut`` finds them)."""
    try:
        with path.open("rb") as source:
            limit = os.fstat(source.fileno()).st_size if end is None else end
            if limit > start:
                source.seek(limit - 1)
                if source.read(1) != b"\n":
                    raise BundleError(check, f"{path.name} does not end with a newline")
            source.seek(start)
            number, rest, left = 0, b"", limit - start
            while left > 0 and (chunk := source.read(min(read_chunk_bytes, left))):
                left -= len(chunk)
                lines = chunk.split(b"\n")
                lines[0] = rest + lines[0]
                rest = lines.pop()
                if len(rest) > line_bytes_max or max(map(len, lines), default=0) > line_bytes_max:
                    too_long = next(
                        (n for n, line in enumerate(lines, 1) if len(line) > line_bytes_max),
                        len(lines) + 1,
                    )
                    raise BundleError(
                        check,
                        f"{path.name} line {number + too_long} is longer than {line_bytes_max}",
                    )
                number += len(lines)
                if lines:
                    yield lines
    except OSError as bad:
        raise BundleError(check, f"cannot read {path.name}: {bad.strerror or bad}") from None
    if rest:
        raise BundleError(check, f"{path.name} does not end with a newline")


def read_json(path: Path, check: str) -> object:
    """A small JSON document, parsed strictly (no floats, no duplicate keys)."""
    try:
        return parse_strict(_read(path, check, json_file_bytes_max))
    except CanonicalError as bad:
        raise BundleError(check, f"{path.name}: {bad}") from None


def parse_line(line: bytes, check: str, number: int) -> dict[str, Any]:
    """A JSONL line as a canonical JSON object."""
    try:
        value = parse_canonical(line)
    except CanonicalError as bad:
        raise BundleError(check, f"line {number}: {bad}") from None
    if not isinstance(value, dict):
        raise BundleError(check, f"line {number}: not a JSON object")
    return value


def read_transfer_line(line: bytes, number: int) -> TransferLeaf:
    """``transfer_leaf(parse_line(line, "transfers", number), number)``, the quick way when the
    line is a plain leaf: parsed in C and compared with the leaf's own canonical line (equal
    bytes are the canonical check: a repeated key, a space or an escape would differ); any
    other line goes the strict way, which names what is wrong."""
    try:
        value, end = _DECODER.raw_decode(line.decode("utf-8"))
    except (ValueError, RecursionError):
        value, end = None, -1
    leaf = _plain_transfer_leaf(value) if type(value) is dict else None
    if leaf is None or end != len(line) or leaf.line() != line:
        return transfer_leaf(parse_line(line, "transfers", number), number)
    _check_transfer_rules(leaf, number)
    return leaf


def _not_plain(text: str) -> None:
    raise ValueError(f"{text} is in no plain leaf")


_DECODER = json.JSONDecoder(parse_float=_not_plain, parse_constant=_not_plain)
"""The quick reader's parser: a float or a constant sends the line the strict way."""


def transfer_leaf(value: Mapping[str, Any], number: int) -> TransferLeaf:
    """Read and check one transfer leaf (line ``number``)."""
    leaf = _plain_transfer_leaf(value) or _transfer_leaf_checked(value, number)
    _check_transfer_rules(leaf, number)
    return leaf


_TRANSFER_FIELDS = frozenset(TransferLeaf.__slots__)
_TRANSFER_TYPE_NAMES = frozenset(TRANSFER_TYPES.values())


def _plain_transfer_leaf(value: Mapping[str, Any]) -> TransferLeaf | None:
    """The leaf when every field is as ``_transfer_leaf_checked`` requires, tested in one
    expression (a month's lines are read by the million); None sends it the long way, which
    names the field that is wrong."""
    if value.keys() != _TRANSFER_FIELDS:
        return None
    ts, amount, released = value["ts"], value["amount"], value["released"]
    texts = (value["debit"], value["credit"], value["asset"], value["code"])
    pending_id = value["pending_id"]
    plain = (
        type(ts) is int
        and ts >= 0
        and type(amount) is int
        and amount >= 1
        and type(released) is int
        and released >= 0
        and set(map(type, texts)) == {str}
        and all(texts)
        and type(value["type"]) is str
        and value["type"] in _TRANSFER_TYPE_NAMES
        and type(value["id"]) is str
        and _UUID.match(value["id"]) is not None
        and (pending_id is None or (type(pending_id) is str and _UUID.match(pending_id)))
    )
    if not plain:
        return None
    return TransferLeaf(
        value["id"], ts, value["type"], texts[0], texts[1], amount, texts[2], texts[3],
        pending_id, released,
    )  # fmt: skip


def _transfer_leaf_checked(value: Mapping[str, Any], number: int) -> TransferLeaf:
    fields = _fields(value, TransferLeaf.__slots__, "transfers", number)
    return TransferLeaf(
        id=_uuid(fields["id"], "transfers", number),
        ts=_int(fields["ts"], "transfers", number, 0),
        type=_one_of(fields["type"], tuple(TRANSFER_TYPES.values()), "transfers", number),
        debit=_text(fields["debit"], "transfers", number),
        credit=_text(fields["credit"], "transfers", number),
        amount=_int(fields["amount"], "transfers", number, 1),
        asset=_text(fields["asset"], "transfers", number),
        code=_text(fields["code"], "transfers", number),
        pending_id=None
        if fields["pending_id"] is None
        else _uuid(fields["pending_id"], "transfers", number),
        released=_int(fields["released"], "transfers", number, 0),
    )


def balance_leaf(value: Mapping[str, Any], number: int) -> BalanceLeaf:
    """Read and check one balance leaf (line ``number``)."""
    fields = _fields(value, BalanceLeaf.__slots__, "balances", number)
    return BalanceLeaf(
        account=_text(fields["account"], "balances", number),
        asset=_text(fields["asset"], "balances", number),
        kind=_one_of(fields["kind"], KINDS, "balances", number),
        **{name: _int(fields[name], "balances", number, 0) for name in TOTALS},
    )


def hex_bytes(value: object, check: str, what: str, size: int = 32) -> bytes:
    """Lower-case hex of exactly ``size`` bytes."""
    if not isinstance(value, str) or len(value) != 2 * size or value != value.lower():
        raise BundleError(check, f"{what} must be {size} bytes of lower-case hex")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise BundleError(check, f"{what} must be {size} bytes of lower-case hex") from None


def is_address(value: object) -> bool:
    """True for an EVM address: 0x and 20 bytes of hex (any case)."""
    return isinstance(value, str) and _ADDRESS.match(value) is not None


def is_digest_hex(value: object) -> bool:
    """True for 32 bytes of lower-case hex."""
    return isinstance(value, str) and _HEX64.match(value) is not None


def _check_transfer_rules(leaf: TransferLeaf, number: int) -> None:
    resolution = leaf.type in RESOLUTIONS
    if leaf.debit == leaf.credit:
        raise BundleError("transfers", f"line {number}: debit and credit are the same account")
    if resolution != (leaf.pending_id is not None) or resolution != (leaf.released > 0):
        raise BundleError(
            "transfers", f"line {number}: pending_id and released belong to resolutions only"
        )
    if leaf.type == "void_pending" and leaf.amount != leaf.released:
        raise BundleError("transfers", f"line {number}: a void releases exactly its amount")
    if leaf.type == "post_pending" and leaf.amount > leaf.released:
        raise BundleError("transfers", f"line {number}: posts more than was pending")


def _read(path: Path, check: str, size_max: int | None) -> bytes:
    try:
        if size_max is not None and path.stat().st_size > size_max:
            raise BundleError(check, f"{path.name} is larger than {size_max} bytes")
        return path.read_bytes()
    except OSError as bad:
        raise BundleError(check, f"cannot read {path.name}: {bad.strerror or bad}") from None


def _fields(
    value: Mapping[str, Any], names: tuple[str, ...], check: str, number: int
) -> Mapping[str, Any]:
    if set(value) != set(names):
        raise BundleError(check, f"line {number}: fields must be exactly {sorted(names)}")
    return value


def _int(value: object, check: str, number: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BundleError(check, f"line {number}: expected an integer >= {minimum}")
    return value


def _text(value: object, check: str, number: int) -> str:
    if not isinstance(value, str) or not value:
        raise BundleError(check, f"line {number}: expected a non-empty string")
    return value


def _one_of(value: object, allowed: tuple[str, ...], check: str, number: int) -> str:
    if value not in allowed:
        raise BundleError(check, f"line {number}: expected one of {list(allowed)}")
    return str(value)


def _uuid(value: object, check: str, number: int) -> str:
    text = _text(value, check, number)
    if not _UUID.match(text):
        raise BundleError(check, f"line {number}: expected a lower-case UUID")
    return text
