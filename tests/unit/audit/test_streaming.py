"""The streamed paths equal the plain ones they replace: the compact-range tree and the one-pass
inclusion proof against the recursive tree, the batched reader against ``read_lines``, the quick
canonical parse and the one-test transfer leaf against the strict ones, the ids' table against a
set; and a bundle's lines are still checked one by one (repeats, length, final newline)."""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.audit import bundle as b
from settlement.audit import canonical, merkle
from settlement.audit.bundle import BundleError, TransferLeaf
from settlement.audit.canonical import CanonicalError
from settlement.audit.cli import main
from settlement.audit.verify import IdTable
from tests.unit.audit import builder

PERIOD = "2025-01"
leaf_data = st.lists(st.binary(max_size=6), min_size=1, max_size=80)


def batched(items: list[bytes], cuts: list[int]) -> list[list[bytes]]:
    """``items`` split at the (sorted, deduplicated) ``cuts``."""
    edges = [0, *sorted({c % (len(items) + 1) for c in cuts}), len(items)]
    return [items[a:e] for a, e in itertools.pairwise(edges) if e > a]


def naive_root(hashes: list[bytes]) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    k = merkle.split_point(len(hashes))
    return merkle.node_hash(naive_root(hashes[:k]), naive_root(hashes[k:]))


@given(leaf_data, st.lists(st.integers(0, 100), max_size=8))
def test_the_compact_range_root_is_the_recursive_root_however_leaves_are_batched(
    leaves: list[bytes], cuts: list[int]
) -> None:
    tree = merkle.CompactRange()
    for batch in batched(leaves, cuts):
        tree.extend(batch)
    assert tree.size == len(leaves)
    assert tree.root() == naive_root([merkle.leaf_hash(leaf) for leaf in leaves])
    assert merkle.root(leaves) == tree.root()


def test_a_large_tree_crosses_batches_like_the_recursive_one() -> None:
    leaves = [n.to_bytes(3, "big") for n in range(3 * merkle.leaves_per_batch + 5)]
    assert merkle.root(leaves) == naive_root([merkle.leaf_hash(leaf) for leaf in leaves])
    assert merkle.CompactRange().root() == merkle.EMPTY_ROOT


@given(leaf_data, st.lists(st.integers(0, 100), max_size=8), st.data())
def test_the_streamed_proof_is_the_recursive_proof(
    leaves: list[bytes], cuts: list[int], data: st.DataObject
) -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    index = data.draw(st.integers(0, len(leaves) - 1))
    leaf, path = merkle.inclusion_proof_streamed(batched(leaves, cuts), len(leaves), index)
    assert (leaf, path) == (hashes[index], merkle.inclusion_proof(hashes, index))
    with pytest.raises(merkle.MerkleError):
        merkle.inclusion_proof_streamed([leaves, [b"extra"]], len(leaves), index)
    if len(leaves) > 1:
        with pytest.raises(merkle.MerkleError):
            merkle.inclusion_proof_streamed([leaves[:-1]], len(leaves), 0)


@given(st.lists(st.binary(max_size=40).map(lambda d: d.replace(b"\n", b"")), max_size=40))
def test_line_batches_give_the_lines_of_read_lines(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes]
) -> None:
    path = tmp_path_factory.mktemp("lines") / "x.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    streamed = [line for batch in b.line_batches(path, "x") for line in batch]
    assert streamed == b.read_lines(path, "x") == lines


def test_line_batches_refuse_a_missing_newline_and_a_long_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b"{}\n{}")
    with pytest.raises(BundleError, match="does not end with a newline"):
        list(b.line_batches(path, "x"))
    monkeypatch.setattr(b, "read_chunk_bytes", 16)
    path.write_bytes(b"{}\n" * 10 + b"x" * (b.line_bytes_max + 1) + b"\n{}\n")
    with pytest.raises(BundleError, match="line 11 is longer"):
        list(b.line_batches(path, "x"))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


def strict(data: bytes) -> object:
    """The strict path alone, as parse_canonical was before its quick path."""
    value = canonical.parse_strict(data)
    if canonical.canonical_bytes(value) != data:
        raise CanonicalError("not in canonical form")
    return value


@given(json_values, st.sampled_from(["", " ", "dup", "escape", "nested", "trail"]))
def test_the_quick_canonical_parse_accepts_exactly_what_the_strict_one_does(
    value: object, spoil: str
) -> None:
    text = canonical.canonical_bytes(value).decode()
    if spoil == " ":
        text = text.replace(":", ": ", 1)
    elif spoil == "dup" and text.startswith("{") and text != "{}":
        text = "{" + text[1:].split(",")[0].rstrip("}") + "," + text[1:]
    elif spoil == "escape":
        text = text.replace("a", "\\u0061", 1)
    elif spoil == "nested":
        text = "[" * 40 + text + "]" * 40
    elif spoil == "trail":
        text += " "
    data = text.encode()
    try:
        expected: object = strict(data)
    except CanonicalError:
        with pytest.raises(CanonicalError):
            canonical.parse_canonical(data)
        return
    assert canonical.parse_canonical(data) == expected


transfer_fields = st.fixed_dictionaries(
    {
        "amount": st.one_of(st.integers(-1, 3), st.booleans(), st.just("1")),
        "asset": st.sampled_from(["IDR", "", 5]),
        "code": st.sampled_from(["t", ""]),
        "credit": st.sampled_from(["a", "b", None]),
        "debit": st.sampled_from(["a", "b"]),
        "id": st.sampled_from([str(uuid.UUID(int=7)), str(uuid.UUID(int=7)).upper(), "x", 3]),
        "pending_id": st.sampled_from([None, str(uuid.UUID(int=9)), "y", ["z"]]),
        "released": st.integers(-1, 3),
        "ts": st.one_of(st.integers(-1, 9), st.none()),
        "type": st.sampled_from(["posted", "pending", "post_pending", "void_pending", "x", []]),
    }
)


@given(transfer_fields)
def test_the_one_test_transfer_leaf_is_the_checked_one(fields: dict[str, object]) -> None:
    try:
        expected = b._transfer_leaf_checked(fields, 1)
    except BundleError:
        assert b._plain_transfer_leaf(fields) is None
        return
    assert b._plain_transfer_leaf(fields) == expected


@given(st.lists(st.text(max_size=4), max_size=300), st.integers(0, 5))
def test_the_ids_table_answers_like_a_set(keys: list[str], expected: int) -> None:
    table, seen = IdTable(expected), set()
    for key in keys:
        assert table.add(key) is (key not in seen)
        seen.add(key)


def test_a_repeated_transfer_id_is_named_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    builder.build(tmp_path / PERIOD, PERIOD, builder.keys(2), threshold=2)
    path = tmp_path / PERIOD / b.TRANSFERS
    lines = path.read_bytes().splitlines()
    first = json.loads(lines[0])
    third = json.loads(lines[2]) | {"id": first["id"]}
    lines[2] = json.dumps(third, sort_keys=True, separators=(",", ":")).encode()
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    assert main(["verify", str(tmp_path / PERIOD), "--trust-bundle-officers"]) == 1
    assert capsys.readouterr().out.startswith("FAIL transfers: line 3: transfer id repeated")


def test_prove_streams_to_each_leaf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    builder.build(tmp_path / PERIOD, PERIOD, builder.keys(2), threshold=2)
    lines = (tmp_path / PERIOD / b.TRANSFERS).read_bytes().splitlines()
    root = json.loads((tmp_path / PERIOD / b.MANIFEST).read_text())["transfers"]["root"]
    hashes = [merkle.leaf_hash(line) for line in lines]
    for index, line in enumerate(lines):
        assert main(["prove", str(tmp_path / PERIOD), "--leaf", str(index)]) == 0
        out = capsys.readouterr().out
        proof = json.loads(out[: out.rindex("}") + 1])
        assert proof["leaf"] == line.decode()
        assert proof["path"] == [h.hex() for h in merkle.inclusion_proof(hashes, index)]
        assert (proof["root"], proof["tree_size"]) == (root, len(lines))
    path = tmp_path / PERIOD / b.TRANSFERS
    path.write_bytes(b"".join(line + b"\n" for line in lines[:-1]))
    assert main(["prove", str(tmp_path / PERIOD), "--leaf", "0"]) == 1
    assert capsys.readouterr().out.startswith("FAIL transfer_count: ")


leaf_text = st.text(max_size=6)
leaves = st.builds(
    TransferLeaf,
    id=leaf_text,
    ts=st.integers(-(2**70), 2**70),
    type=leaf_text,
    debit=leaf_text,
    credit=leaf_text,
    amount=st.one_of(st.integers(), st.booleans()),
    asset=st.one_of(leaf_text, st.none()),
    code=leaf_text,
    pending_id=st.one_of(st.none(), leaf_text, st.integers()),
    released=st.integers(),
)


@given(leaves)
def test_the_formatted_transfer_line_is_the_canonical_json(leaf: TransferLeaf) -> None:
    try:
        expected = canonical.canonical_bytes(leaf.as_json())
    except CanonicalError:
        with pytest.raises(CanonicalError):
            leaf.line()
        return
    assert leaf.line() == expected


@given(leaves, st.sampled_from(["", " ", "dup", "float", "escape", "order"]))
def test_a_transfer_line_is_read_the_quick_way_exactly_as_the_strict_way(
    leaf: TransferLeaf, spoil: str
) -> None:
    try:
        text = canonical.canonical_bytes(leaf.as_json()).decode()
    except CanonicalError:
        return
    if spoil == " ":
        text = text.replace(":", ": ", 1)
    elif spoil == "dup":
        text = text.replace("{", '{"ts":1,', 1)
    elif spoil == "float":
        text = text.replace('"released":', '"released":1.5,"x":', 1)
    elif spoil == "escape":
        text = text.replace("a", "\\u0061", 1)
    elif spoil == "order":
        fields = list(json.loads(text).items())
        text = json.dumps(dict(reversed(fields)), separators=(",", ":"), ensure_ascii=False)
    line = text.encode("utf-8", "surrogatepass")
    assert outcome(lambda: b.read_transfer_line(line, 1)) == outcome(
        lambda: b.transfer_leaf(b.parse_line(line, "transfers", 1), 1)
    )


def outcome(read: Callable[[], TransferLeaf]) -> TransferLeaf | tuple[str, str]:
    """The leaf read, or the check and reason it was refused with."""
    try:
        return read()
    except BundleError as refused:
        return refused.check, refused.reason
