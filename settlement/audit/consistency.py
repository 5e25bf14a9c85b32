"""RFC 9162 consistency proofs and the compact range of an append-only Merkle tree.

Standard library only (the auditor's verifier uses it). A ``Subtree`` function gives the Merkle
Tree Hash of leaves ``[start, end)``; the service answers it from stored nodes, a test from a
list. ``CompactRange`` appends leaf hashes one at a time and keeps only the roots of the perfect
subtrees so far (one per set bit of the size): a tree of a billion leaves is 30 hashes, and the
next month's root follows from it and the month's leaves alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from hashlib import sha256 as _sha256

from settlement.audit.merkle import (
    EMPTY_ROOT,
    MerkleError,
    audit_path,
    hash_bytes,
    node_hash,
    split_point,
)

Subtree = Callable[[int, int], bytes]
"""The Merkle Tree Hash of the leaves ``[start, end)`` (end > start) of one fixed tree."""
NodeSink = Callable[[int, int, bytes], None]
"""Told of every perfect node a ``CompactRange`` completes: (level, index at that level, hash)."""
_NODE = b"\x01"
proof_hashes_max = 63
"""A consistency or inclusion proof of a tree under 2^63 leaves has at most this many hashes."""


class ConsistencyError(ValueError):
    """A consistency proof does not show the first tree to be a prefix of the second; why."""


def consistency_proof(size1: int, size2: int, subtree: Subtree) -> list[bytes]:
    """PROOF(size1, D[size2]) of RFC 9162 2.1.4.1, for 0 < size1 <= size2 (empty if equal)."""
    if not 0 < size1 <= size2:
        raise ConsistencyError(f"no consistency proof from size {size1} to size {size2}")
    return _subproof(size1, 0, size2, True, subtree)


def _subproof(m: int, start: int, end: int, complete: bool, subtree: Subtree) -> list[bytes]:
    """SUBPROOF(m, D[start:end], b), iteratively: the hashes are found leaf side last."""
    path: list[bytes] = []
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            m -= k
            start += k
            complete = False
    if not complete:
        path.append(subtree(start, end))
    path.reverse()
    return path


def verify_consistency(
    size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]
) -> None:
    """Raise ``ConsistencyError`` naming the difference unless ``proof`` shows the tree of
    ``size1`` leaves with ``root1`` to be the first ``size1`` leaves of ``root2``'s tree.

    RFC 9162 2.1.4.2, with transparency-dev/merkle's rules for the edges: a proof from an
    empty tree proves nothing and is refused (the empty tree is a prefix of every tree, no
    proof needed), equal sizes need an empty proof and equal roots.
    """
    if _edge_case(size1, size2, root1, root2, proof):
        return
    fr, fh = _walk(size1, size2, root1, proof)
    if fr != root1:
        raise ConsistencyError(f"the proof does not lead to the root of size {size1}")
    if fh != root2:
        raise ConsistencyError(f"the proof does not lead to the root of size {size2}")


def _edge_case(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> bool:
    """Refuse what no walk can mend; True when equal sizes settled it."""
    if size2 < size1:
        raise ConsistencyError(f"the second size {size2} is smaller than the first {size1}")
    if size1 == 0:
        raise ConsistencyError("a consistency proof from the empty tree is meaningless")
    if any(len(node) != hash_bytes for node in proof) or len(proof) > proof_hashes_max:
        raise ConsistencyError(f"a proof holds at most {proof_hashes_max} 32-byte hashes")
    if size1 == size2:
        if proof:
            raise ConsistencyError(f"sizes are equal ({size1}) but the proof is not empty")
        if root1 != root2:
            raise ConsistencyError(f"the two roots of size {size1} differ")
        return True
    if not proof:
        raise ConsistencyError(f"empty proof from size {size1} to {size2}")
    return False


def _walk(size1: int, size2: int, root1: bytes, proof: Sequence[bytes]) -> tuple[bytes, bytes]:
    """RFC 9162 2.1.4.2 steps 2-6: the two roots the proof leads to."""
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = fh = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ConsistencyError(f"the proof from {size1} to {size2} is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            fh = node_hash(c, fh)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            fh = node_hash(fh, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ConsistencyError(f"the proof from {size1} to {size2} is too short")
    return fr, fh


def inclusion_path(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162 2.1.3.1)."""
    try:
        return audit_path(size, index, subtree)
    except MerkleError as bad:
        raise ConsistencyError(str(bad)) from None


class CompactRange:
    """The leaves ``[0, size)`` of a tree as the roots of its perfect subtrees, largest first.

    Memory is one hash per set bit of ``size``; appending is amortised one node hash per leaf.
    """

    __slots__ = ("_peaks", "_sink", "size")

    def __init__(
        self, size: int = 0, peaks: Sequence[bytes] = (), sink: NodeSink | None = None
    ) -> None:
        if size < 0 or len(peaks) != size.bit_count() or any(len(p) != hash_bytes for p in peaks):
            raise ConsistencyError(f"a range of {size} leaves has {size.bit_count()} peaks")
        self.size = size
        self._peaks = list(peaks)
        self._sink = sink

    @property
    def peaks(self) -> list[bytes]:
        """The perfect subtrees' roots, leftmost (largest) first: what is stored between months."""
        return list(self._peaks)

    def append(self, leaf: bytes) -> None:
        """Add one leaf, given by its leaf hash (hot: a month appends a million)."""
        size, peaks, sink = self.size, self._peaks, self._sink
        if sink is not None:
            sink(0, size, leaf)
        node, level = leaf, 0
        while (size >> level) & 1:
            node = _sha256(_NODE + peaks.pop() + node).digest()
            level += 1
            if sink is not None:
                sink(level, size >> level, node)
        peaks.append(node)
        self.size = size + 1

    def root(self) -> bytes:
        """The Merkle Tree Hash of the leaves so far (RFC 9162: peaks folded right to left)."""
        if not self._peaks:
            return EMPTY_ROOT
        node = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            node = node_hash(peak, node)
        return node


def peak_ranges(size: int) -> list[tuple[int, int]]:
    """The leaf ranges ``[start, end)`` of a size's perfect subtrees, largest first."""
    ranges: list[tuple[int, int]] = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if (size >> level) & 1:
            ranges.append((start, start + (1 << level)))
            start += 1 << level
    return ranges
