"""RFC 9162 Merkle trees and the sum tree: reference vectors and properties.

Reference vectors: the RFC 6962/9162 test data of transparency-dev/merkle (Google's Certificate
Transparency Merkle library), testonly/constants.go (roots of the trees of the first n leaves)
and proof/verify_test.go (inclusion proofs; leaf numbers there are 1-based).
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.audit import merkle

CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [  # (1-based leaf, tree size, audit path)
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        2,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

leaf_lists = st.lists(st.binary(max_size=12), min_size=1, max_size=40, unique=True)
"""Distinct leaves: a repeated leaf legitimately proves at each of its positions."""


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 2.1.1 read literally: MTH over slices, recursion on the definition."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(
        b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])
    ).digest()


def reference_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 9162 2.1.3.1 PATH(m, D[n]) read literally."""
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*reference_path(m, leaves[:k]), reference_root(leaves[k:])]
    return [*reference_path(m - k, leaves[k:]), reference_root(leaves[:k])]


@pytest.mark.parametrize("size", range(len(CT_ROOTS)))
def test_roots_match_the_certificate_transparency_vectors(size: int) -> None:
    assert merkle.root(CT_LEAVES[:size]).hex() == CT_ROOTS[size]


@pytest.mark.parametrize(("leaf", "size", "path"), CT_INCLUSION)
def test_inclusion_proofs_match_the_reference_vectors(
    leaf: int, size: int, path: list[str]
) -> None:
    hashes = [merkle.leaf_hash(data) for data in CT_LEAVES[:size]]
    proof = merkle.inclusion_proof(hashes, leaf - 1)
    assert [p.hex() for p in proof] == path
    root = bytes.fromhex(CT_ROOTS[size])
    assert merkle.verify_inclusion(leaf - 1, size, hashes[leaf - 1], proof, root)


def test_split_point_is_the_largest_power_of_two_below_n() -> None:
    assert [merkle.split_point(n) for n in range(2, 10)] == [1, 2, 2, 4, 4, 4, 4, 8]
    with pytest.raises(merkle.MerkleError):
        merkle.split_point(1)


@given(leaf_lists)
def test_root_and_paths_agree_with_the_literal_reference(leaves: list[bytes]) -> None:
    assert merkle.root(leaves) == reference_root(leaves)
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    for index in range(len(leaves)):
        assert merkle.inclusion_proof(hashes, index) == reference_path(index, leaves)


@given(leaf_lists, st.data())
def test_every_proof_verifies_and_every_alteration_fails(
    leaves: list[bytes], data: st.DataObject
) -> None:
    hashes = [merkle.leaf_hash(leaf) for leaf in leaves]
    root = merkle.root_of_hashes(hashes)
    n = len(leaves)
    for index in range(n):
        proof = merkle.inclusion_proof(hashes, index)
        assert merkle.verify_inclusion(index, n, hashes[index], proof, root)
    index = data.draw(st.integers(0, n - 1))
    proof = merkle.inclusion_proof(hashes, index)
    leaf = hashes[index]
    other_leaf = merkle.leaf_hash(leaves[index] + b"x")
    assert not merkle.verify_inclusion(index, n, other_leaf, proof, root)
    assert not merkle.verify_inclusion(index, n, leaf, proof, merkle.leaf_hash(b"root"))
    for wrong_index in {index - 1, index + 1, index ^ 2} - {index}:
        assert not merkle.verify_inclusion(wrong_index, n, leaf, proof, root)
    # Sizes whose path to this index has the same shape verify alike (RFC 9162 binds the size
    # through the root only); doubling or halving always changes the shape, as in the CT suite.
    for wrong_size in (2 * n, n // 2):
        assert not merkle.verify_inclusion(index, wrong_size, leaf, proof, root)
    assert not merkle.verify_inclusion(index, n, leaf, [*proof, root], root)
    assert not merkle.verify_inclusion(index, n, leaf, [root, *proof], root)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1))
        flipped = bytes([proof[position][0] ^ 8]) + proof[position][1:]
        altered = [*proof[:position], flipped, *proof[position + 1 :]]
        assert not merkle.verify_inclusion(index, n, leaf, altered, root)
        assert not merkle.verify_inclusion(index, n, leaf, proof[:-1], root)
        assert not merkle.verify_inclusion(index, n, leaf, [*proof[:-1], b"short"], root)


def test_empty_and_out_of_range_requests() -> None:
    assert merkle.root([]) == merkle.EMPTY_ROOT
    with pytest.raises(merkle.MerkleError):
        merkle.inclusion_proof([], 0)
    assert not merkle.verify_inclusion(0, 0, merkle.EMPTY_ROOT, [], merkle.EMPTY_ROOT)


sum_leaves = st.lists(
    st.tuples(
        st.binary(max_size=8),
        st.dictionaries(st.sampled_from(["IDR/c", "IDR/d", "PI/c"]), st.integers(0, 10**18)),
    ),
    min_size=1,
    max_size=24,
)


@given(sum_leaves, st.data())
def test_sum_tree_totals_and_proofs(
    items: list[tuple[bytes, dict[str, int]]], data: st.DataObject
) -> None:
    nodes = [merkle.sum_leaf(leaf, sums) for leaf, sums in items]
    top = merkle.sum_root(nodes)
    expected: dict[str, int] = {}
    for _, sums in items:
        for key, value in sums.items():
            expected[key] = expected.get(key, 0) + value
    assert top.sums == expected
    n = len(nodes)
    for index in range(n):
        proof = merkle.sum_inclusion_proof(nodes, index)
        assert merkle.verify_sum_inclusion(index, n, nodes[index], proof, top)
    index = data.draw(st.integers(0, n - 1))
    proof = merkle.sum_inclusion_proof(nodes, index)
    inflated = merkle.SumNode(nodes[index].hash, {**nodes[index].sums, "IDR/c": 10**19})
    assert not merkle.verify_sum_inclusion(index, n, inflated, proof, top)
    assert not merkle.verify_sum_inclusion(index, 2 * n, nodes[index], proof, top)
    if proof:
        sibling = proof[0]
        moved = merkle.SumNode(
            sibling.hash, {**sibling.sums, "PI/c": sibling.sums.get("PI/c", 0) + 1}
        )
        assert not merkle.verify_sum_inclusion(index, n, nodes[index], [moved, *proof[1:]], top)
        negative = merkle.SumNode(sibling.hash, {"IDR/d": -1})
        assert not merkle.verify_sum_inclusion(index, n, nodes[index], [negative, *proof[1:]], top)


def test_sum_leaves_refuse_negative_or_non_integer_sums() -> None:
    with pytest.raises(merkle.MerkleError):
        merkle.sum_leaf(b"x", {"IDR/d": -1})
    with pytest.raises(merkle.MerkleError):
        merkle.sum_leaf(b"x", {"IDR/d": True})
    assert merkle.sum_root([]) == merkle.EMPTY_SUM_ROOT


def test_a_sum_leaf_commits_to_its_sums() -> None:
    assert merkle.sum_leaf(b"x", {"IDR/d": 1}).hash != merkle.sum_leaf(b"x", {"IDR/d": 2}).hash
