"""The auditor's checks of one bundle: every number recomputed, the first failure named.

Standard library and PyNaCl only. ``check_bundle`` returns the lines of what it checked, or
raises ``BundleError`` naming the first check that fails. What it trusts is explicit: the
officers come from the previous month (changed only by ``officers.rotate`` entries signed by
the set they replace) or a pinned officers file, and anchors are read from a pinned chain,
contract and publisher, never from anchors.json's own word.
"""

from __future__ import annotations

import json
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from nacl.exceptions import CryptoError
from nacl.signing import VerifyKey

from settlement.audit import bundle as b
from settlement.audit import governance_log, log_verify, merkle, parts
from settlement.audit.bundle import BalanceLeaf, BundleError, OfficerSet, TransferLeaf

Totals = dict[str, dict[str, int]]
"""Per account (or per asset): the four running totals by name."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """The manifest's fields the checks use, read and shape-checked; ``raw`` is what is hashed."""

    raw: dict[str, Any]
    period: str
    previous: tuple[str, str] | None
    transfer_count: int
    transfer_root: bytes
    balance_count: int
    balance_root: bytes
    balance_totals: Totals
    reserves: Totals
    governance_count: int
    governance_root: bytes
    officer_set: OfficerSet

    @property
    def threshold(self) -> int:
        """How many distinct officers must sign."""
        return self.officer_set.threshold

    @property
    def officers(self) -> frozenset[bytes]:
        """The officers' public keys."""
        return self.officer_set.keys


@dataclass(frozen=True, slots=True)
class TrustRoot:
    """Where the officer set in force at the start of the month comes from, besides
    ``--previous`` (whose officers are the root when it is given)."""

    officers_file: Path | None = None
    """``--officers FILE``: the pinned set (same shape as the service's officers file)."""
    bundle_officers: bool = False
    """``--trust-bundle-officers``: accept the bundle's own officers, unpinned."""


@dataclass(frozen=True, slots=True)
class AnchorPins:
    """The chain, ``AuditAnchor`` contract and publisher the auditor expects (flags, not the
    unsigned anchors.json)."""

    chain_id: int
    contract: str
    publisher: str

    def provenance(self) -> str:
        """The line saying what is pinned, and by what."""
        return (
            f"anchor_pins: chain id {self.chain_id} (pinned by --chain-id), contract"
            f" {self.contract} (pinned by --contract), publisher {self.publisher}"
            " (pinned by --publisher)"
        )


@dataclass(frozen=True, slots=True)
class StellarPins:
    """The Stellar-family network (its passphrase) and the account that anchors, as the
    auditor expects them (flags, not the unsigned anchors.json)."""

    network_passphrase: str
    source_account: str

    def provenance(self) -> str:
        """The line saying what is pinned, and by what."""
        return (
            f"stellar_pins: network {self.network_passphrase!r} (pinned by"
            f" --stellar-passphrase), source account {self.source_account} (pinned by"
            " --stellar-source)"
        )

    def check(self, entry: b.StellarAnchor, number: int) -> None:
        """An anchors.json entry names the pinned network and source account."""
        if entry.network_passphrase != self.network_passphrase:
            raise BundleError(
                "anchor_network",
                f"anchor {number} is on {entry.network_passphrase!r},"
                f" {self.network_passphrase!r} pinned",
            )
        if entry.source_account != self.source_account:
            raise BundleError(
                "anchor_source",
                f"anchor {number} is from {entry.source_account}, {self.source_account} pinned",
            )


@dataclass(frozen=True, slots=True)
class Rotation:
    """One ``officers.rotate`` governance entry, shape-checked (signatures not yet counted)."""

    number: int
    period: str
    replaces: str
    officers: OfficerSet
    message: bytes
    signatures: tuple[tuple[bytes, bytes], ...]


@dataclass(frozen=True, slots=True)
class BundleChecked:
    """What held, a line a check, and for the log's checks (``log_verify.check_log``) the
    manifest and the cumulative root the month's transfers grow the previous peaks to."""

    lines: list[str]
    manifest: Mapping[str, Any]
    log_root: bytes | None


def check_bundle(
    bundle: Path,
    previous: Path | None = None,
    rpc: str | None = None,
    trust: TrustRoot | None = None,
    pins: AnchorPins | None = None,
    horizon: str | None = None,
    stellar: StellarPins | None = None,
    workers: int | None = None,
) -> BundleChecked:
    """Check the bundle: its link to the ``previous`` month's bundle (or, for a first month,
    balances from zero), its officers against the ``trust`` root and, given an ``rpc`` URL, its
    EVM anchors on chain against the ``pins`` (a ``horizon`` URL: its Stellar anchors against
    the ``stellar`` pins). The transfers are read by ``workers`` processes
    (``check_transfers``)."""
    done: list[str] = []
    manifest = read_manifest(bundle)
    done.append(f"manifest: period {manifest.period}")
    transfers = check_transfers(bundle, manifest, log_start(manifest.raw), workers)
    done.append(f"transfer_root: {transfers.count} transfers")
    deltas, assets = transfers.double_entry.result()
    done.append(f"double_entry: {len(assets)} accounts balanced per asset")
    balances = check_balances(bundle, manifest)
    done.append(f"balance_root: {len(balances)} accounts, totals per asset")
    check_accounts(assets, balances)
    done.append("accounts: every transfer's accounts are in the balances, same asset")
    rotations = check_governance(bundle, manifest)
    done.append(f"governance_root: {manifest.governance_count} entries")
    before: Manifest | None = None
    if previous is not None:
        before = check_continuity(previous, manifest, deltas, balances)
        done.append(f"continuity: balances follow from {before.period} and this month's transfers")
    elif manifest.previous is None:
        balances_follow({}, deltas, balances, "opening_balances", "zero")
        done.append("opening_balances: first month, every balance is zero plus its transfers")
    else:
        done.append("continuity: skipped (no --previous bundle given)")
    linked = governance_log.check_link(
        [r for r in rotations if isinstance(r, governance_log.Entry)],
        governance_log.stated_seq_after(manifest.raw),
        None if before is None else governance_log.stated_seq_after(before.raw),
        before is not None or manifest.previous is None,
    )
    done.extend([linked] if linked else [])
    manifest_digest = b.digest(manifest.raw)
    signers = check_signatures(bundle, manifest, manifest_digest)
    done.append(
        f"signatures: {signers} of {len(manifest.officers)} officers (>= {manifest.threshold})"
    )
    done.extend(check_officers(manifest, rotations, before, trust or TrustRoot()))
    done.extend(check_anchors(bundle, manifest, manifest_digest, rpc, pins, horizon, stellar))
    done.append(f"digest: {manifest_digest.hex()}")
    return BundleChecked(done, manifest.raw, transfers.log_root)


def log_start(raw: Mapping[str, Any]) -> LogStart | None:
    """The cumulative log before the month, as the manifest states it; None without a
    well-formed section (its checks, which come last, then say what is wrong)."""
    try:
        section = log_verify.read_section(raw)
    except BundleError:
        return None
    if section is None or len(section.previous_peaks) != section.previous_size.bit_count():
        return None
    return section.previous_size, section.previous_peaks


def read_manifest(bundle: Path) -> Manifest:
    """Read manifest.json and check its shape and the period's timestamp range."""
    raw = b.read_json(bundle / b.MANIFEST, "manifest")
    if not isinstance(raw, dict) or raw.get("format") != b.FORMAT:
        raise BundleError("manifest", f"not a {b.FORMAT} manifest")
    period = _get(raw, "period", str)
    starts, ends = b.period_range_us(period)
    if _get(raw, "period_range_us", dict) != {"starts_at": starts, "ends_at": ends}:
        raise BundleError("manifest", f"period_range_us is not the range of {period} in WIB")
    transfers = _get(raw, "transfers", dict)
    balances = _get(raw, "balances", dict)
    governance = _get(raw, "governance", dict)
    signing = b.officer_set(_get(raw, "signing", dict), "manifest")
    return Manifest(
        raw=raw,
        period=period,
        previous=_previous(raw, period),
        transfer_count=_count(transfers),
        transfer_root=b.hex_bytes(_get(transfers, "root", str), "manifest", "transfer root"),
        balance_count=_count(balances),
        balance_root=b.hex_bytes(_get(balances, "root", str), "manifest", "balance root"),
        balance_totals=_totals_table(_get(balances, "totals", dict)),
        reserves=_totals_table(_get(raw, "reserves", dict)),
        governance_count=_count(governance),
        governance_root=b.hex_bytes(_get(governance, "root", str), "manifest", "governance root"),
        officer_set=signing,
    )


@dataclass(frozen=True, slots=True)
class MonthTransfers:
    """What the transfer checks leave for the others: the count, the month's double entry
    (read from the stream of leaves, which is not kept) and, when the manifest gives the
    previous month's peaks, the cumulative log's root grown by this month's leaves."""

    count: int
    double_entry: DoubleEntry
    log_root: bytes | None


LogStart = tuple[int, tuple[bytes, ...]]
"""The cumulative log before the month: its size and its peaks (largest first)."""


@dataclass(frozen=True, slots=True)
class RunCheck:
    """One run of consecutive transfer lines, checked: its count and first and last
    timestamps, its perfect subtrees in the month's tree and in the cumulative log, its ids
    and its accounts' changes."""

    count: int
    first_ts: int
    last_ts: int
    month: list[tuple[bytes, int]]
    log: list[tuple[bytes, int]] | None
    ids: IdTable
    entries: DoubleEntry


def check_transfers(
    bundle: Path, manifest: Manifest, log: LogStart | None = None, workers: int | None = None
) -> MonthTransfers:
    """Recompute the transfer tree: count, root, ids unique, timestamps increasing in the month;
    given the ``log``'s start, the cumulative root the month's leaves grow it to.

    Streamed (a batch of lines at a time, O(log n) for the trees): memory does not grow with
    the month, except by the ids' table (``IdTable``, 16 bytes a transfer). The file is cut
    into ``workers`` parts (by default one per core, ``parts.workers_default``) checked side
    by side; should any part fail, the whole file is checked again in this process, which
    names the first failure."""
    path = bundle / b.TRANSFERS
    count = manifest.transfer_count
    cut = parts.cut(path, count, parts.workers_default(count) if workers is None else workers)
    joined = None if cut is None else _joined(cut, manifest, log)
    if joined is not None:
        return joined
    repeated = partial(_repeated, path)
    run = _check_run(path, manifest, log, 0, 0, None, count, repeated)
    if run.count != count:
        raise BundleError("transfer_count", f"{run.count} lines, manifest says {count}")
    month = merkle.CompactRange()
    for node, width in run.month:
        month.push(node, width)
    if month.root() != manifest.transfer_root:
        raise BundleError("transfer_root", _ROOT_DIFFERS)
    return MonthTransfers(run.count, run.entries, _grown(log, [run]))


_ROOT_DIFFERS = "the transfers do not hash to the manifest's root"


def _check_run(
    path: Path,
    manifest: Manifest,
    log: LogStart | None,
    first: int,
    start: int,
    end: int | None,
    ids: int,
    repeated: Callable[[str, int], bool],
) -> RunCheck:
    """Check the lines in bytes ``[start, end)`` of the file, the first of them line ``first``
    (0-based); raise at the first failure. The ids' table is sized for ``ids`` ids (never more
    than the file can hold); ``repeated`` confirms a candidate repeat of an id."""
    starts, ends = b.period_range_us(manifest.period)
    month = merkle.CompactRange(first)
    grown = None if log is None else merkle.CompactRange(log[0] + first)
    entries = DoubleEntry()
    seen = IdTable(min(ids, _size(path) // transfer_line_bytes_min + 1))
    first_ts, last_ts, number = None, starts - 1, first
    for lines in b.line_batches(path, "transfers", start, end):
        for line in lines:
            number += 1
            leaf = b.read_transfer_line(line, number)
            if not last_ts < leaf.ts <= ends:
                raise BundleError("transfers", f"line {number}: timestamp out of order or period")
            if not seen.add(leaf.id) and repeated(leaf.id, number):
                raise BundleError("transfers", f"line {number}: transfer id repeated")
            first_ts = leaf.ts if first_ts is None else first_ts
            last_ts = leaf.ts
            entries.add(leaf, number)
        hashes = merkle.leaf_hashes(lines)
        month.extend_hashes(hashes)
        if grown is not None:
            grown.extend_hashes(hashes)
    return RunCheck(
        count=number - first,
        first_ts=starts if first_ts is None else first_ts,
        last_ts=last_ts,
        month=month.subtrees(),
        log=None if grown is None else grown.subtrees(),
        ids=seen,
        entries=entries,
    )


def _check_part(part: parts.Part, manifest: Manifest, log: LogStart | None) -> RunCheck | None:
    """A worker's part; None (the one-process way decides) on an account of two assets or a
    candidate repeat of an id, which fails the part at once. The first part's ids' table is
    sized for the month: the others' ids join it."""
    ids = manifest.transfer_count if part.first == 0 else part.count
    run = _check_run(part.path, manifest, log, part.first, part.start, part.end, ids, _always)
    return None if run.entries.failed else run


def _always(transfer_id: str, number: int) -> bool:
    return True


def _joined(
    cut: list[parts.Part], manifest: Manifest, log: LogStart | None
) -> MonthTransfers | None:
    """The parts checked side by side and joined: None when any part or any check between
    parts (order, ids, assets, count) fails, for the one-process way to name. A root that
    differs when everything else held is the one failure one process would find, so it is
    raised here (a bundle tampered in a leaf's value is not read twice)."""
    runs = parts.map_parts(partial(_check_part, manifest=manifest, log=log), cut)
    if runs is None:
        return None
    month, entries, seen = merkle.CompactRange(), DoubleEntry(), runs[0].ids
    last_ts = b.period_range_us(manifest.period)[0] - 1
    for part, run in zip(cut, runs, strict=True):
        if run.count != part.count or not last_ts < run.first_ts:
            return None
        if run is not runs[0] and not seen.join(run.ids):
            return None
        if not entries.join(run.entries):
            return None
        for node, width in run.month:
            month.push(node, width)
        last_ts = run.last_ts
    if month.root() != manifest.transfer_root:
        raise BundleError("transfer_root", _ROOT_DIFFERS)
    return MonthTransfers(manifest.transfer_count, entries, _grown(log, runs))


def _grown(log: LogStart | None, runs: Sequence[RunCheck]) -> bytes | None:
    """The cumulative root: the log's peaks, then the runs' subtrees in the log."""
    if log is None:
        return None
    tree = merkle.CompactRange.of_peaks(*log)
    for run in runs:
        for node, width in run.log or ():
            tree.push(node, width)
    return tree.root()


class IdTable:
    """The transfer ids seen so far, as 64-bit keyed hashes (Python's ``hash`` of a str is
    SipHash under a secret drawn for each process) in an open-addressing table of machine
    words: 16 bytes an id where a set of the ids' strings takes about 120. A hash seen before
    is only a candidate repeat; the caller confirms it against the ids themselves."""

    __slots__ = ("_count", "_mask", "_table")

    def __init__(self, expected: int) -> None:
        self._count = 0
        self._mask = _capacity(expected) - 1
        self._table = array("q", bytes(8 * (self._mask + 1)))

    def add(self, key: str) -> bool:
        """Record ``key``; False when its hash was recorded already."""
        return self._insert(hash(key) or -1)  # 0 marks an empty slot; no str hashes to -1

    def join(self, other: IdTable) -> bool:
        """Record every key ``other`` recorded (in a process forked from this one's, so with
        the same hash key); False when one of them was recorded here already."""
        return all(self._insert(hashed) for hashed in other._table if hashed)

    def _insert(self, hashed: int) -> bool:
        table, mask = self._table, self._mask
        slot = hashed & mask
        while True:
            held = table[slot]
            if held == 0:
                break
            if held == hashed:
                return False
            slot = (slot + 1) & mask
        table[slot] = hashed
        self._count += 1
        if 2 * self._count > mask:
            self._grow()
        return True

    def _grow(self) -> None:
        held = [value for value in self._table if value]
        self._mask = 2 * self._mask + 1
        self._table = array("q", bytes(8 * (self._mask + 1)))
        self._count = 0
        for hashed in held:
            slot = hashed & self._mask
            while self._table[slot]:
                slot = (slot + 1) & self._mask
            self._table[slot] = hashed
            self._count += 1


transfer_line_bytes_min = 128
"""No transfer leaf is shorter (its field names alone take more): the ids' table is sized for
the manifest's count but never for more lines than the file can hold, so that a forged count
cannot make the verifier allocate more than its lines need (the table grows if it fills)."""


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _capacity(expected: int) -> int:
    """The smallest power of two at least twice ``expected`` (a table at most half full)."""
    return 1 << max(4, (2 * expected).bit_length())


def _repeated(path: Path, transfer_id: str, number: int) -> bool:
    """Whether a line before ``number`` holds ``transfer_id`` (they were checked already): the
    exact test behind ``IdTable``'s candidate, reading the file again (a real repeat fails the
    bundle; a collision of two 64-bit hashes is as rare as 2^-64 a pair)."""
    earlier = 0
    for lines in b.line_batches(path, "transfers"):
        for line in lines:
            earlier += 1
            if earlier >= number:
                return False
            if json.loads(line)["id"] == transfer_id:
                return True
    return False


class DoubleEntry:
    """Per account the month's change of each total, and each account's asset, added up a
    transfer at a time; ``result`` checks the double entry per asset.

    A transfer naming an account of another asset is remembered, not raised at once, so that
    the transfer root is still checked first (the order the checks have always failed in)."""

    __slots__ = ("_assets", "_deltas", "_failure")

    def __init__(self, deltas: Totals | None = None, assets: dict[str, str] | None = None) -> None:
        self._deltas: Totals = defaultdict(lambda: dict.fromkeys(b.TOTALS, 0), deltas or {})
        self._assets: dict[str, str] = assets or {}
        self._failure: BundleError | None = None

    def __reduce__(self) -> tuple[type[DoubleEntry], tuple[Totals, dict[str, str]]]:
        """Pickled (a worker's result) without its failure: a failed run is never sent."""
        return DoubleEntry, (dict(self._deltas), self._assets)

    @property
    def failed(self) -> bool:
        """Whether a transfer named an account of another asset."""
        return self._failure is not None

    def join(self, other: DoubleEntry) -> bool:
        """Add ``other``'s changes (of a later run of the month's transfers); False when an
        account holds another asset there."""
        for account, asset in other._assets.items():
            if self._assets.setdefault(account, asset) != asset:
                return False
        for account, month in other._deltas.items():
            mine = self._deltas[account]
            for total, value in month.items():
                mine[total] += value
        return True

    def add(self, leaf: TransferLeaf, number: int) -> None:
        """Add transfer ``number``'s effects to its accounts."""
        if self._failure is not None:
            return
        assets = self._assets
        for account in (leaf.debit, leaf.credit):
            if assets.setdefault(account, leaf.asset) != leaf.asset:
                self._failure = BundleError(
                    "double_entry", f"line {number}: {account} holds {assets[account]}"
                )
                return
        deltas = self._deltas
        for account, total, change in effects(leaf):
            deltas[account][total] += change

    def result(self) -> tuple[Totals, dict[str, str]]:
        """The deltas and assets, once the month's debits equal its credits per asset, posted
        and pending alike (each account holds one asset)."""
        if self._failure is not None:
            raise self._failure
        per_asset: Totals = defaultdict(lambda: dict.fromkeys(b.TOTALS, 0))
        for account, month in self._deltas.items():
            for total, value in month.items():
                per_asset[self._assets[account]][total] += value
        for asset, sums in sorted(per_asset.items()):
            if (
                sums["debits_posted"] != sums["credits_posted"]
                or sums["debits_pending"] != sums["credits_pending"]
            ):
                raise BundleError("double_entry", f"{asset}: debits and credits differ")
        return dict(self._deltas), self._assets


def check_double_entry(transfers: Iterable[TransferLeaf]) -> tuple[Totals, dict[str, str]]:
    """Per account the month's change of each total, and each account's asset.

    Double entry per asset: each account holds one asset, and the month's debits equal its
    credits, posted and pending alike.
    """
    entries = DoubleEntry()
    for number, leaf in enumerate(transfers, 1):
        entries.add(leaf, number)
    return entries.result()


def effects(leaf: TransferLeaf) -> list[tuple[str, str, int]]:
    """How a transfer changes its two accounts' totals, as the ledger applies it."""
    changes: list[tuple[str, str, int]] = []
    if leaf.type in b.RESOLUTIONS:
        changes += [
            (leaf.debit, "debits_pending", -leaf.released),
            (leaf.credit, "credits_pending", -leaf.released),
        ]
    if leaf.type == "pending":
        changes += [
            (leaf.debit, "debits_pending", leaf.amount),
            (leaf.credit, "credits_pending", leaf.amount),
        ]
    if leaf.type in ("posted", "post_pending"):
        changes += [
            (leaf.debit, "debits_posted", leaf.amount),
            (leaf.credit, "credits_posted", leaf.amount),
        ]
    return changes


def check_balances(bundle: Path, manifest: Manifest) -> dict[str, BalanceLeaf]:
    """Recompute the balance sum tree, the totals per asset, their double entry and reserves."""
    leaves = read_balances(bundle, "balances")
    if len(leaves) != manifest.balance_count:
        raise BundleError(
            "balance_count", f"{len(leaves)} lines, manifest says {manifest.balance_count}"
        )
    nodes = [merkle.sum_leaf(line, leaf.sums()) for line, leaf in leaves]
    top = merkle.sum_root(nodes)
    if top.hash != manifest.balance_root:
        raise BundleError("balance_root", "the balances do not hash to the manifest's root")
    totals = _per_asset(leaf for _, leaf in leaves)
    if top.sums != _as_sums(totals) or totals != manifest.balance_totals:
        raise BundleError("balance_totals", "the per-asset totals differ from the manifest's")
    for asset, sums in sorted(totals.items()):
        if (
            sums["debits_posted"] != sums["credits_posted"]
            or sums["debits_pending"] != sums["credits_pending"]
        ):
            raise BundleError("balance_double_entry", f"{asset}: debits and credits differ")
    if reserves(leaf for _, leaf in leaves) != manifest.reserves:
        raise BundleError("reserves", "posted balances per kind differ from the manifest's")
    return {leaf.account: leaf for _, leaf in leaves}


def read_balances(bundle: Path, check: str) -> list[tuple[bytes, BalanceLeaf]]:
    """The balance leaves with their lines, in strictly increasing account order."""
    leaves: list[tuple[bytes, BalanceLeaf]] = []
    for number, line in enumerate(b.read_lines(bundle / b.BALANCES, check), 1):
        leaf = b.balance_leaf(b.parse_line(line, check, number), number)
        if leaves and not leaves[-1][1].account < leaf.account:
            raise BundleError(check, f"line {number}: accounts must be in increasing order")
        leaves.append((line, leaf))
    return leaves


def reserves(leaves: Iterable[BalanceLeaf]) -> Totals:
    """Per asset, the posted balances summed by account kind (the reserves statement)."""
    table: Totals = {}
    for leaf in leaves:
        row = table.setdefault(leaf.asset, dict.fromkeys(b.KINDS, 0))
        row[leaf.kind] += leaf.posted
    return table


def check_accounts(assets: Mapping[str, str], balances: Mapping[str, BalanceLeaf]) -> None:
    """Every account a transfer names has an end-of-month balance, in the same asset."""
    for account, asset in sorted(assets.items()):
        leaf = balances.get(account)
        if leaf is None or leaf.asset != asset:
            raise BundleError("accounts", f"{account} has no {asset} balance")


def check_governance(bundle: Path, manifest: Manifest) -> list[Change]:
    """Recompute the governance log's root and count; its entries, each an ``officers.rotate``
    or a governance log entry (``governance_log``): one the verifier cannot check is refused."""
    lines = b.read_lines(bundle / b.GOVERNANCE, "governance")
    rotations = read_changes(
        [b.parse_line(line, "governance", n) for n, line in enumerate(lines, 1)]
    )
    if len(lines) != manifest.governance_count or merkle.root(lines) != manifest.governance_root:
        raise BundleError("governance_root", "the governance log differs from the manifest's")
    return rotations


Change = Rotation | governance_log.Entry
"""A governance.jsonl line as the officer set follows it."""


def read_changes(values: Sequence[Mapping[str, Any]]) -> list[Change]:
    """Read every governance line: ``officers.rotate`` entries and governance log entries."""
    changes: list[Change] = [
        read_rotation(value, n)
        if value.get("kind") == b.ROTATE
        else governance_log.read_entry(value, n)
        for n, value in enumerate(values, 1)
    ]
    governance_log.check_order([c for c in changes if isinstance(c, governance_log.Entry)])
    return changes


def read_rotation(value: Mapping[str, Any], number: int) -> Rotation:
    """Read and shape-check governance entry ``number`` as an ``officers.rotate``."""
    where = f"line {number}"
    if value.get("kind") != b.ROTATE:
        raise BundleError("governance", f"{where}: kind must be {b.ROTATE!r}")
    if set(value) != b.ROTATION_FIELDS:
        raise BundleError("governance", f"{where}: fields must be {sorted(b.ROTATION_FIELDS)}")
    period = value["period"]
    try:
        b.period_range_us(period if isinstance(period, str) else "")
    except BundleError:
        raise BundleError("governance", f"{where}: period must be YYYY-MM") from None
    if not b.is_digest_hex(value["replaces"]):
        raise BundleError("governance", f"{where}: replaces must be an officer set's id")
    if not isinstance(value["signatures"], list):
        raise BundleError("governance", f"{where}: signatures must be a list")
    signatures: list[tuple[bytes, bytes]] = []
    for entry in value["signatures"]:
        if not isinstance(entry, dict) or set(entry) != {"public_key", "signature"}:
            raise BundleError("governance", f"{where}: a signature is {{public_key, signature}}")
        signatures.append(
            (
                b.hex_bytes(entry["public_key"], "governance", f"{where}'s signer"),
                b.hex_bytes(entry["signature"], "governance", f"{where}'s signature", 64),
            )
        )
    return Rotation(
        number,
        period,
        value["replaces"],
        b.officer_set(value, "governance"),
        b.rotation_message(value),
        tuple(signatures),
    )


def rotated(start: OfficerSet, rotations: Sequence[Change], period: str) -> OfficerSet:
    """The officer set after the month's rotations, applied in order; each must name the month,
    replace the set then in force and be signed by that set's threshold."""
    current = start
    for rotation in rotations:
        if isinstance(rotation, governance_log.Entry):
            current = rotation.apply(current, period)
            continue
        where = f"governance line {rotation.number}"
        if rotation.period != period:
            raise BundleError("officers", f"{where} rotates the officers of {rotation.period}")
        if rotation.replaces != current.id():
            raise BundleError("officers", f"{where} replaces another set than the one in force")
        valid = {
            key
            for key, signature in rotation.signatures
            if key in current.keys and _verifies(key, rotation.message, signature)
        }
        if len(valid) < current.threshold:
            raise BundleError(
                "officers",
                f"{where}: {len(valid)} valid signatures of the officers in force,"
                f" {current.threshold} needed",
            )
        current = rotation.officers
    return current


def check_officers(
    manifest: Manifest, rotations: Sequence[Change], before: Manifest | None, trust: TrustRoot
) -> list[str]:
    """The manifest's officers are the trust root's set, changed only by the month's signed
    rotations; the lines saying which root was used."""
    start, root = trust_root(before, trust)
    if start is None:
        if rotations:
            root += f"; its {len(rotations)} governance entries are not checked"
        return [root]
    if rotated(start, rotations, manifest.period) != manifest.officer_set:
        after = " after this month's officers.rotate entries" if rotations else ""
        raise BundleError(
            "officers",
            f"the manifest's officers are not the trust root's{after}: a change of officers"
            " needs an officers.rotate entry signed by the threshold of the set it replaces",
        )
    signed = sum(isinstance(r, Rotation) for r in rotations)
    logged = len(rotations) - signed
    changed = ", ".join(
        [f"changed by {signed} signed officers.rotate"] * bool(signed)
        + [f"followed through {logged} governance log entries"] * bool(logged)
    )
    changed = changed or "unchanged"
    return [root, f"officers: the manifest's officers are the trust root's, {changed}"]


def trust_root(before: Manifest | None, trust: TrustRoot) -> tuple[OfficerSet | None, str]:
    """The officer set in force at the month's start and the line naming where it came from;
    None for the bundle's own officers (only with ``bundle_officers``)."""
    if trust.officers_file is not None:
        pinned = b.officer_set(b.read_json(trust.officers_file, "trust_root"), "trust_root")
        if before is not None and before.officer_set != pinned:
            raise BundleError(
                "officers", f"{before.period}'s officers are not the set pinned by --officers"
            )
        held = f", held by {before.period}" if before is not None else ""
        return pinned, f"trust_root: officers pinned by --officers {trust.officers_file}{held}"
    if before is not None:
        return before.officer_set, f"trust_root: the officers of {before.period} (--previous)"
    if not trust.bundle_officers:
        raise BundleError(
            "trust_root",
            "no trust root for the officers: give --previous DIR (last month's bundle) or"
            " --officers FILE, or accept the bundle's own with --trust-bundle-officers",
        )
    return None, (
        "trust_root: UNPINNED, the bundle's own officers (--trust-bundle-officers):"
        " whoever wrote the bundle chose who signs it"
    )


def check_continuity(
    previous: Path, manifest: Manifest, deltas: Totals, balances: Mapping[str, BalanceLeaf]
) -> Manifest:
    """The previous bundle is the month the manifest links to, signed by its officers, and its
    balances plus this month's transfers are exactly this month's balances; its manifest."""
    before = read_manifest(previous)
    if manifest.previous is None:
        raise BundleError("previous_link", "this manifest names no previous month")
    if (before.period, b.digest(before.raw).hex()) != manifest.previous:
        raise BundleError("previous_link", f"--previous is not {manifest.previous[0]} as linked")
    prior = read_balances(previous, "previous")
    if merkle.sum_root([merkle.sum_leaf(line, leaf.sums()) for line, leaf in prior]).hash != (
        before.balance_root
    ):
        raise BundleError("previous", "the previous balances do not hash to their root")
    try:
        check_signatures(previous, before, b.digest(before.raw))
    except BundleError as bad:
        raise BundleError("previous", f"{before.period}'s {bad}") from None
    earlier = {leaf.account: leaf for _, leaf in prior}
    balances_follow(earlier, deltas, balances, "balance_continuity", before.period)
    return before


def balances_follow(
    earlier: Mapping[str, BalanceLeaf],
    deltas: Totals,
    balances: Mapping[str, BalanceLeaf],
    check: str,
    source: str,
) -> None:
    """Every account's balance is its ``earlier`` totals (zero where it has none) plus the
    month's change, in every total; an earlier account never disappears or changes asset."""
    for account in sorted(set(earlier) | set(deltas) | set(balances)):
        old, new = earlier.get(account), balances.get(account)
        if new is None:
            raise BundleError(check, f"{account} disappeared")
        if old is not None and (old.asset, old.kind) != (new.asset, new.kind):
            raise BundleError(check, f"{account} changed asset or kind")
        base = old.totals() if old else dict.fromkeys(b.TOTALS, 0)
        change = deltas.get(account, dict.fromkeys(b.TOTALS, 0))
        if {k: base[k] + change[k] for k in b.TOTALS} != new.totals():
            raise BundleError(
                check, f"{account} ({new.asset}) does not follow from {source} and the transfers"
            )


def check_signatures(bundle: Path, manifest: Manifest, manifest_digest: bytes) -> int:
    """Every signature is a valid officer signature over the digest; at least threshold distinct."""
    document = b.read_json(bundle / b.SIGNATURES, "signatures")
    if not isinstance(document, dict) or not isinstance(document.get("signatures"), list):
        raise BundleError("signatures", "signatures.json must hold a list of signatures")
    if document.get("digest") != manifest_digest.hex():
        raise BundleError("digest", "the manifest does not hash to the signed digest")
    signers: set[bytes] = set()
    message = b.signing_message(manifest_digest)
    for number, entry in enumerate(document["signatures"], 1):
        if not isinstance(entry, dict):
            raise BundleError("signatures", f"signature {number} is not an object")
        key = b.hex_bytes(entry.get("public_key"), "signatures", f"signature {number}'s key")
        signature = b.hex_bytes(entry.get("signature"), "signatures", f"signature {number}", 64)
        if key not in manifest.officers:
            raise BundleError("signatures", f"signature {number} is not by a listed officer")
        if not _verifies(key, message, signature):
            raise BundleError("signatures", f"signature {number} does not verify")
        signers.add(key)
    if len(signers) < manifest.threshold:
        raise BundleError(
            "signatures", f"{len(signers)} valid officer signatures, {manifest.threshold} needed"
        )
    return len(signers)


def check_anchors(
    bundle: Path,
    manifest: Manifest,
    manifest_digest: bytes,
    rpc: str | None,
    pins: AnchorPins | None,
    horizon: str | None = None,
    stellar: StellarPins | None = None,
) -> list[str]:
    """Every anchor in anchors.json names this month and its digest (an EVM one its previous
    digest too), and the pinned chain and contract or network and source account; given an
    ``rpc`` URL (which needs ``pins``: anchors.json is not signed) each EVM anchor is read back
    from the chain, publisher included (web3 imported only then), and given a ``horizon`` URL
    (which needs ``stellar``) each Stellar anchor from Horizon (stellar-sdk imported only then)."""
    entries, stellar_entries = read_anchors(bundle, manifest, manifest_digest, pins, stellar)
    done = [pin.provenance() for pin in (pins, stellar) if pin is not None]
    if rpc is None:
        done.append(f"anchors: {len(entries)} listed; anchor verification skipped (no --rpc given)")
    else:
        if pins is None:
            raise BundleError("anchor_pins", "--rpc needs --chain-id, --contract and --publisher")
        if not entries:
            raise BundleError("anchors", "--rpc given but anchors.json lists no EVM anchor")
        from settlement.audit.anchor_rpc import check_evm_anchor

        done += [check_evm_anchor(rpc, entry, n, pins.publisher) for n, entry in entries]
    if horizon is None:
        if stellar_entries:
            skipped = "verification skipped (no --horizon given)"
            done.append(f"stellar_anchors: {len(stellar_entries)} listed; {skipped}")
        return done
    if stellar is None:
        raise BundleError(
            "anchor_pins", "--horizon needs --stellar-passphrase and --stellar-source"
        )
    if not stellar_entries:
        raise BundleError("anchors", "--horizon given but anchors.json lists no Stellar anchor")
    from settlement.audit.anchor_horizon import check_stellar_anchor

    return done + [check_stellar_anchor(horizon, held, n, stellar) for n, held in stellar_entries]


def read_anchors(
    bundle: Path,
    manifest: Manifest,
    manifest_digest: bytes,
    pins: AnchorPins | None,
    stellar: StellarPins | None,
) -> tuple[list[tuple[int, b.EvmAnchor]], list[tuple[int, b.StellarAnchor]]]:
    """anchors.json's EVM and Stellar entries with their numbers, each shape-checked, naming
    this month, its digest (and for EVM its previous digest) and what is pinned."""
    anchors = b.read_json(bundle / b.ANCHORS, "anchors")
    if not isinstance(anchors, list):
        raise BundleError("anchors", "anchors.json must be a JSON list")
    period, digest = b.anchor_period(manifest.period), manifest_digest.hex()
    previous = manifest.previous[1] if manifest.previous else bytes(32).hex()
    entries: list[tuple[int, b.EvmAnchor]] = []
    stellar_entries: list[tuple[int, b.StellarAnchor]] = []
    for number, value in enumerate(anchors, 1):
        kind = value.get("kind") if isinstance(value, dict) else None
        if kind == b.EVM_ANCHOR:
            entry = b.evm_anchor(value, number)
            if (entry.period, entry.digest, entry.prev_digest) != (period, digest, previous):
                raise BundleError(
                    "anchors", f"anchor {number} names another period, digest or previous digest"
                )
            if pins is not None:
                check_pinned(entry, number, pins)
            entries.append((number, entry))
        elif kind == b.STELLAR_ANCHOR:
            held = b.stellar_anchor(value, number)
            if (held.period, held.digest) != (period, digest):
                raise BundleError("anchors", f"anchor {number} names another period or digest")
            if stellar is not None:
                stellar.check(held, number)
            stellar_entries.append((number, held))
        else:
            kinds = f"{b.EVM_ANCHOR!r} or {b.STELLAR_ANCHOR!r}"
            raise BundleError("anchors", f"anchor {number}: kind must be {kinds}")
    return entries, stellar_entries


def check_pinned(entry: b.EvmAnchor, number: int, pins: AnchorPins) -> None:
    """An anchors.json entry names the pinned chain and contract."""
    if entry.chain_id != pins.chain_id:
        raise BundleError(
            "anchor_chain", f"anchor {number} is on chain {entry.chain_id}, {pins.chain_id} pinned"
        )
    if entry.contract.lower() != pins.contract.lower():
        raise BundleError(
            "anchor_contract", f"anchor {number} names {entry.contract}, {pins.contract} pinned"
        )


def _verifies(key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        VerifyKey(key).verify(message, signature)
    except (CryptoError, ValueError, TypeError):
        return False
    return True


def _previous(raw: Mapping[str, Any], period: str) -> tuple[str, str] | None:
    value = raw.get("previous", False)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BundleError("manifest", "previous must be null or {period, digest}")
    name = _get(value, "period", str)
    digest_hex = _get(value, "digest", str)
    if not b.is_digest_hex(digest_hex) or not name < period:
        raise BundleError("manifest", "previous must name an earlier period and its digest")
    b.period_range_us(name)
    return name, digest_hex


def _count(section: Mapping[str, Any]) -> int:
    count: int = _get(section, "count", int)
    if count < 0:
        raise BundleError("manifest", "counts are non-negative")
    return count


def _totals_table(value: Mapping[str, Any]) -> Totals:
    table: Totals = {}
    for asset, row in value.items():
        if not isinstance(row, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in row.values()
        ):
            raise BundleError("manifest", f"totals of {asset} must be integers by name")
        table[asset] = dict(row)
    return table


def _per_asset(leaves: Iterable[BalanceLeaf]) -> Totals:
    table: Totals = {}
    for leaf in leaves:
        row = table.setdefault(leaf.asset, dict.fromkeys(b.TOTALS, 0))
        for name, value in leaf.totals().items():
            row[name] += value
    return table


def _as_sums(totals: Totals) -> dict[str, int]:
    return {f"{asset}/{name}": n for asset, row in totals.items() for name, n in row.items()}


def _get(section: object, key: str, kind: type) -> Any:  # noqa: ANN401 - raw JSON, checked
    if not isinstance(section, dict):
        raise BundleError("manifest", f"expected an object holding {key!r}")
    value = section.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BundleError("manifest", f"{key!r} must be a {kind.__name__}")
    return value
