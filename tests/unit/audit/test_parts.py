"""The verifier on every core answers exactly as on one: the cut of a file into parts, ranges
joined at any cut, a proof joined from parts, and a month's transfer checks (sound or tampered
in any of the ways a part boundary could hide) by several workers against one."""

from __future__ import annotations

import itertools
import json
import os
import tempfile
import threading
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from settlement.audit import bundle as b
from settlement.audit import merkle, parts, verify
from settlement.audit.bundle import BundleError, TransferLeaf
from settlement.audit.canonical import canonical_bytes
from settlement.audit.cli import main
from settlement.audit.export import write_bundle
from settlement.audit.transfer_proof import prove_transfer
from settlement.audit.verify import LogStart, check_transfers, read_manifest
from tests.unit.audit import builder
from tests.unit.audit.test_streaming import naive_root

PERIOD = "2025-01"
lines_strategy = st.lists(
    st.binary(max_size=12).filter(lambda line: b"\n" not in line), min_size=1, max_size=60
)


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


@given(lines_strategy, st.integers(2, 7))
def test_the_parts_are_consecutive_runs_of_whole_lines(lines: list[bytes], count: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        with_file = Path(scratch) / "t.jsonl"
        cut = parts.cut(write_lines(with_file, lines), len(lines), count)
        if min(count, len(lines)) < 2:
            assert cut is None
            return
        assert cut is not None
        assert len(cut) == min(count, len(lines))
        assert [p.first for p in cut] == [sum(q.count for q in cut[:n]) for n in range(len(cut))]
        assert sum(p.count for p in cut) == len(lines)
        data = with_file.read_bytes()
        assert cut[0].start == 0
        assert cut[-1].end == len(data)
        for part, after in itertools.pairwise(cut):
            assert part.end == after.start
        for part in cut:
            held = data[part.start : part.end]
            assert held == b"".join(line + b"\n" for line in lines[part.first :][: part.count])


def test_a_file_holding_fewer_lines_than_said_is_not_cut(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", [b"a", b"b", b"c"])
    assert parts.cut(path, 3, 3) is not None
    assert parts.cut(path, 9, 3) is None
    assert parts.cut(tmp_path / "missing.jsonl", 9, 3) is None


def test_a_device_named_transfers_is_read_no_further_than_its_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / PERIOD
    builder.build(bundle, PERIOD, builder.keys(2), threshold=2)
    (bundle / b.TRANSFERS).unlink()
    (bundle / b.TRANSFERS).symlink_to("/dev/zero")  # endless bytes, no newline, size 0
    found: list[object] = []
    reading = threading.Thread(
        target=lambda: found.append(parts.cut(bundle / b.TRANSFERS, 10**6, 2)), daemon=True
    )
    reading.start()
    reading.join(10)
    assert found == [None], "the cut kept reading past the file's size"
    assert main(["verify", str(bundle), "--trust-bundle-officers", "--workers", "2"]) == 1
    assert capsys.readouterr().out.startswith("FAIL transfer_count: 0 lines, manifest says 6")


def _first_in_parent_others_die(part: parts.Part) -> int:
    if part.first:
        os._exit(3)
    return part.first


def _refused_in_parent(part: parts.Part) -> int:
    if not part.first:
        raise BundleError("transfers", "refused")
    return part.first


def test_map_parts_keeps_order_and_gives_nothing_when_any_part_fails(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", [b"x"] * 12)
    cut = parts.cut(path, 12, 4)
    assert cut is not None
    assert parts.map_parts(lambda part: (part.first, os.getpid()), cut) is not None
    results = parts.map_parts(lambda part: (part.first, os.getpid()), cut)
    assert results is not None
    assert [first for first, _ in results] == [0, 3, 6, 9]
    assert results[0][1] == os.getpid()
    assert len({pid for _, pid in results}) == 4
    assert parts.map_parts(_first_in_parent_others_die, cut) is None
    assert parts.map_parts(_refused_in_parent, cut) is None
    assert parts.map_parts(lambda part: None if part.first == 6 else 1, cut) is None


@given(st.lists(st.binary(max_size=4), min_size=1, max_size=70), st.lists(st.integers(0, 70)))
def test_ranges_joined_at_any_cuts_give_the_whole_root(
    leaves: list[bytes], cuts: list[int]
) -> None:
    edges = sorted({0, len(leaves), *(c % (len(leaves) + 1) for c in cuts)})
    whole = merkle.CompactRange()
    for start, end in itertools.pairwise(edges):
        run = merkle.CompactRange(start)
        run.extend(leaves[start:end])
        assert run.size == end
        for node, width in run.subtrees():
            whole.push(node, width)
    assert whole.root() == naive_root([merkle.leaf_hash(leaf) for leaf in leaves])


@given(st.lists(st.binary(max_size=4), min_size=2, max_size=70), st.integers(1, 69))
def test_a_range_grows_from_published_peaks_as_from_its_leaves(
    leaves: list[bytes], before: int
) -> None:
    before = 1 + before % (len(leaves) - 1)
    prefix = merkle.CompactRange()
    prefix.extend(leaves[:before])
    peaks = [node for node, _ in prefix.subtrees()]
    grown = merkle.CompactRange.of_peaks(before, peaks)
    grown.extend(leaves[before:])
    assert grown.root() == merkle.root(leaves)
    with pytest.raises(merkle.MerkleError):
        merkle.CompactRange.of_peaks(before, [*peaks, peaks[0]])


def test_a_subtree_out_of_its_alignment_is_refused() -> None:
    run = merkle.CompactRange(3)
    with pytest.raises(merkle.MerkleError):
        run.push(merkle.leaf_hash(b"x"), 2)
    with pytest.raises(merkle.MerkleError):
        merkle.CompactRange().push(merkle.leaf_hash(b"x"), 3)
    with pytest.raises(merkle.MerkleError):
        merkle.CompactRange(-1)


@given(
    st.lists(st.binary(max_size=4), min_size=1, max_size=70),
    st.integers(0, 69),
    st.lists(st.integers(0, 70), max_size=5),
)
def test_a_proof_joined_from_parts_is_the_recursive_proof(
    leaves: list[bytes], index: int, cuts: list[int]
) -> None:
    index %= len(leaves)
    spans = merkle.proof_spans(len(leaves), index)
    edges = sorted({0, len(leaves), *(c % (len(leaves) + 1) for c in cuts)})
    runs = []
    for start, end in itertools.pairwise(edges):
        subtrees, reached = merkle.span_subtrees([leaves[start:end]], start, spans)
        assert reached == end
        runs.append(subtrees)
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    leaf_hash, path = merkle.proof_of_subtrees(len(leaves), index, runs)
    assert (leaf_hash, path) == (hashes[index], merkle.inclusion_proof(hashes, index))
    if len(runs) > 1:
        with pytest.raises(merkle.MerkleError):
            merkle.proof_of_subtrees(len(leaves), index, runs[:-1])


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 40), st.integers(0, 39), st.integers(2, 5))
def test_prove_on_several_workers_gives_the_one_process_proof(
    size: int, index: int, workers: int
) -> None:
    index %= size
    with tempfile.TemporaryDirectory() as scratch:
        path = write_lines(Path(scratch) / b.TRANSFERS, [f"leaf {n}".encode() for n in range(size)])
        alone = prove_transfer(path, size, index, workers=1)
        assert prove_transfer(path, size, index, workers=workers) == alone
        with pytest.raises(merkle.MerkleError):
            prove_transfer(path, size + 1, index, workers=workers)


ACCOUNTS = ("merchant:aa11:IDR", "merchant:bb22:IDR", "pioneer:cc33:PI")
TAMPERINGS = ("none", "swap", "repeat", "asset", "amount", "drop", "extra", "newline")


def month(count: int, seed: int) -> list[TransferLeaf]:
    start, _ = b.period_range_us(PERIOD)
    leaves = []
    for n in range(count):
        credit = ACCOUNTS[(n * 7 + seed) % len(ACCOUNTS)]
        asset = "PI" if credit.endswith("PI") else "IDR"
        debit = "treasury:pi_custody" if asset == "PI" else "treasury:bank:IDR"
        leaves.append(
            TransferLeaf(
                str(uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}/{n}")),
                start + 1000 * (n + 1),
                "posted",
                debit,
                credit,
                100 + n,
                asset,
                "test.move",
                None,
                0,
            )
        )
    return leaves


def tampered(leaves: list[TransferLeaf], how: str, i: int, j: int) -> list[TransferLeaf]:
    """Leaves ``i`` < ``j`` changed before the bundle is written (its root commits to them)."""
    first, second = leaves[i], leaves[j]
    if how == "swap":
        first, second = replace(first, ts=second.ts), replace(second, ts=first.ts)
    elif how == "repeat":
        second = replace(second, id=first.id)
    elif how == "asset":
        other = "merchant:aa11:IDR" if second.asset == "PI" else "pioneer:cc33:PI"
        second = replace(second, credit=other)
    changed = list(leaves)
    changed[i], changed[j] = first, second
    return changed


def tamper_file(path: Path, how: str, j: int) -> None:
    """Change transfers.jsonl after its root was written."""
    lines = path.read_bytes().splitlines()
    if how == "amount":
        lines[j] = canonical_bytes(json.loads(lines[j]) | {"amount": 1})
    elif how == "drop":
        del lines[j]
    elif how == "extra":
        lines.append(lines[-1])
    data = b"".join(line + b"\n" for line in lines)
    path.write_bytes(data[:-1] if how == "newline" else data)


def outcome(bundle: Path, log: LogStart | None, workers: int) -> object:
    try:
        checked = check_transfers(bundle, read_manifest(bundle), log, workers)
    except BundleError as refused:
        return ("refused", str(refused))
    try:
        entries: object = checked.double_entry.result()
    except BundleError as refused:
        entries = ("double entry refused", str(refused))
    return checked.count, checked.log_root, entries


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 30),
    st.integers(0, 9),
    st.sampled_from(TAMPERINGS),
    st.integers(0, 29),
    st.integers(0, 29),
    st.integers(2, 5),
    st.integers(0, 40),
)
@example(count=4, seed=0, how="swap", i=1, j=2, workers=2, logged=0)  # across a boundary
@example(count=4, seed=0, how="repeat", i=0, j=3, workers=2, logged=5)  # in two parts
@example(count=4, seed=0, how="asset", i=0, j=2, workers=4, logged=8)  # aa11 in two parts
def test_several_workers_check_a_month_exactly_as_one(
    count: int, seed: int, how: str, i: int, j: int, workers: int, logged: int
) -> None:
    i, j = sorted((i % count, j % count))
    if i == j:
        i, j = (0, 1) if j == 0 else (0, j)
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        leaves = tampered(month(count, seed), how, i, j)
        balances = builder.balances_after([], leaves)
        officers = builder.officers(builder.keys(1), 1)
        write_bundle(directory, PERIOD, leaves, balances, officers, "test", None)
        tamper_file(directory / b.TRANSFERS, how, j)
        before = merkle.CompactRange()
        before.extend([n.to_bytes(2, "big") for n in range(logged)])
        log = (logged, tuple(node for node, _ in before.subtrees()))
        alone = outcome(directory, log, 1)
        assert outcome(directory, log, workers) == alone
        if how == "none":
            grown = merkle.CompactRange.of_peaks(*log)
            grown.extend((directory / b.TRANSFERS).read_bytes().splitlines())
            assert alone[:2] == (count, grown.root())  # type: ignore[index]
            cut = parts.cut(directory / b.TRANSFERS, count, workers)
            assert cut is not None  # a sound month is checked side by side, not again alone
            joined = verify._joined(cut, read_manifest(directory), log)
            assert joined is not None
            assert (joined.count, joined.log_root) == alone[:2]  # type: ignore[index]
        elif how != "asset":  # an account first seen with the other asset is no conflict
            assert alone[0] == "refused"  # type: ignore[index]
        if how == "amount":  # every check but the root holds: named without a second pass
            cut = parts.cut(directory / b.TRANSFERS, count, workers)
            assert cut is not None
            with pytest.raises(BundleError, match="do not hash to the manifest's root"):
                verify._joined(cut, read_manifest(directory), log)


def test_msc_audit_says_the_same_on_any_number_of_workers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / PERIOD
    builder.build(bundle, PERIOD, builder.keys(2), threshold=2)

    def said(*argv: str) -> tuple[int, str]:
        code = main([*argv, "--workers", "1"])
        alone = capsys.readouterr().out
        assert main([*argv, "--workers", "3"]) == code
        assert capsys.readouterr().out == alone
        return code, alone

    assert said("verify", str(bundle), "--trust-bundle-officers")[0] == 0
    assert said("prove", str(bundle), "--leaf", "4")[0] == 0
    lines = (bundle / b.TRANSFERS).read_bytes().splitlines()
    write_lines(bundle / b.TRANSFERS, [lines[0], *lines[2:], lines[1]])
    code, report = said("verify", str(bundle), "--trust-bundle-officers")
    assert code == 1
    assert report.startswith("FAIL transfers: line 6: timestamp out of order or period")
    assert said("prove", str(bundle), "--leaf", "4")[0] == 1  # not to the manifest's root
    assert main(["verify", str(bundle), "--workers", "0"]) == 2


def test_a_large_month_is_cut_by_default_but_never_in_a_process_with_threads() -> None:
    lines = parts.part_lines_min * 2
    assert parts.workers_default(lines) == min(2, len(os.sched_getaffinity(0)), parts.workers_max)
    assert parts.workers_default(parts.part_lines_min - 1) == 1
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert parts.workers_default(lines) == 1
    finally:
        stop.set()
        other.join()
