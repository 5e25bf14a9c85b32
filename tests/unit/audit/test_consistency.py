"""Consistency proofs, audit paths and the compact range against a naive implementation.

The naive side slices lists and recurses exactly as RFC 9162 2.1.4.1 writes SUBPROOF; the code
under test walks iteratively over a ``Subtree`` function and keeps O(log n) hashes.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.audit import merkle
from settlement.audit.consistency import (
    CompactRange,
    ConsistencyError,
    consistency_proof,
    inclusion_path,
    peak_ranges,
    verify_consistency,
)


def _hashes(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def _mth(hashes: list[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return merkle.node_hash(_mth(hashes[:k]), _mth(hashes[k:]))


def _naive_subproof(m: int, d: list[bytes], complete: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if complete else [_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*_naive_subproof(m, d[:k], complete), _mth(d[k:])]
    return [*_naive_subproof(m - k, d[k:], False), _mth(d[:k])]


def _subtree(hashes: list[bytes]):  # type: ignore[no-untyped-def]
    return lambda start, end: _mth(hashes[start:end])


sizes = st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n)))


@given(sizes)
def test_proofs_match_the_naive_recursion_and_verify(pair: tuple[int, int]) -> None:
    m, n = pair
    hashes = _hashes(n)
    proof = consistency_proof(m, n, _subtree(hashes))
    assert proof == _naive_subproof(m, hashes, True)
    verify_consistency(m, n, _mth(hashes[:m]), _mth(hashes), proof)


@given(sizes, st.data())
def test_any_changed_hash_or_size_is_refused(pair: tuple[int, int], data: st.DataObject) -> None:
    m, n = pair
    hashes = _hashes(n)
    root1, root2 = _mth(hashes[:m]), _mth(hashes)
    proof = consistency_proof(m, n, _subtree(hashes))
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 255))
        broken = list(proof)
        broken[at] = bytes(
            b ^ (1 << (bit % 8)) if i == bit // 8 else b for i, b in enumerate(broken[at])
        )
        with pytest.raises(ConsistencyError):
            verify_consistency(m, n, root1, root2, broken)
        with pytest.raises(ConsistencyError):
            verify_consistency(m, n, root1, root2, proof[:-1])
        with pytest.raises(ConsistencyError):
            verify_consistency(m, n, root1, root2, [*proof, proof[0]])
    other = data.draw(st.integers(1, n + 3).filter(lambda s: s != m))
    if other <= n:
        with pytest.raises(ConsistencyError):
            verify_consistency(other, n, root1, root2, proof)
    forked = _hashes(n)
    forked[data.draw(st.integers(0, m - 1))] = merkle.leaf_hash(b"fork")
    with pytest.raises(ConsistencyError):
        verify_consistency(m, n, root1, _mth(forked), consistency_proof(m, n, _subtree(forked)))


@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n - 1), st.just(n))))
def test_inclusion_paths_match_the_month_tree(pair: tuple[int, int]) -> None:
    index, n = pair
    hashes = _hashes(n)
    path = inclusion_path(index, n, _subtree(hashes))
    assert path == merkle.inclusion_proof(hashes, index)
    assert merkle.verify_inclusion(index, n, hashes[index], path, _mth(hashes))


@given(st.integers(0, 600), st.integers(0, 300))
def test_the_compact_range_gives_the_root_and_resumes_from_its_peaks(n: int, more: int) -> None:
    hashes = _hashes(n + more)
    nodes: dict[tuple[int, int], bytes] = {}
    first = CompactRange(sink=lambda level, index, node: nodes.__setitem__((level, index), node))
    for leaf in hashes[:n]:
        first.append(leaf)
    assert first.root() == _mth(hashes[:n])
    assert [_mth(hashes[a:b]) for a, b in peak_ranges(n)] == first.peaks
    resumed = CompactRange(n, first.peaks)
    for leaf in hashes[n:]:
        resumed.append(leaf)
    assert resumed.root() == _mth(hashes) == merkle.root_of_hashes(hashes)
    for (level, index), node in nodes.items():
        assert node == _mth(hashes[index << level : (index + 1) << level])


def test_a_range_needs_one_peak_per_set_bit() -> None:
    with pytest.raises(ConsistencyError):
        CompactRange(5, [bytes(32)])
    with pytest.raises(ConsistencyError):
        consistency_proof(0, 3, _subtree(_hashes(3)))
