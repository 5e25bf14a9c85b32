"""The public API's leveled month tree gives exactly the root and audit paths of the plain
RFC 9162 functions, for every size and leaf, and refuses a leaf outside the tree."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.audit import merkle
from settlement.audit.published import LeveledTree


def hashes(count: int) -> list[bytes]:
    return [merkle.leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(count)]


@given(st.integers(0, 300), st.data())
def test_paths_and_root_are_the_plain_trees(size: int, data: st.DataObject) -> None:
    leaves = hashes(size)
    tree = LeveledTree(leaves)
    assert tree.root() == merkle.root_of_hashes(leaves)
    if size:
        index = data.draw(st.integers(0, size - 1))
        path = tree.inclusion_proof(index)
        assert path == merkle.inclusion_proof(leaves, index)
        assert merkle.verify_inclusion(index, size, leaves[index], path, tree.root())


@pytest.mark.parametrize(("size", "index"), [(0, 0), (5, 5), (5, -1)])
def test_a_leaf_outside_the_tree_is_refused(size: int, index: int) -> None:
    with pytest.raises(merkle.MerkleError):
        LeveledTree(hashes(size)).inclusion_proof(index)
