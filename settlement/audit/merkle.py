"""Merkle trees of RFC 9162 (Certificate Transparency v2) and a Merkle sum tree.

Plain functions over bytes, standard library only. Leaves are given as their data (the canonical
bytes of a leaf); hashes are raw 32-byte SHA-256 digests.

The sum tree commits to per-key non-negative integer sums at every node (a proof of liabilities):
a party that checks its own balance's inclusion proof also sees that no sibling subtree carries a
negative sum, so its balance cannot have been cancelled out of the published totals. Each node
hashes both children's sums, not only their total (the fix to Maxwell's original construction).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from settlement.audit.canonical import canonical_bytes

T = TypeVar("T")

hash_bytes = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""RFC 9162 2.1.1: the hash of an empty list is the hash of an empty string."""
_sha256 = hashlib.sha256
_LEAF = b"\x00"
_NODE = b"\x01"
_LEAF_STATE = hashlib.sha256(_LEAF)
_NODE_STATE = hashlib.sha256(_NODE)
"""The hashers with the prefix already fed: copying one costs less than building the prefixed
bytes, which counts at a million leaves and as many nodes."""

Sums = Mapping[str, int]


class MerkleError(ValueError):
    """A tree or proof request is malformed (an index out of range, a negative sum)."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 || data)."""
    return hashlib.sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    if n < 2:
        raise MerkleError(f"a split needs at least 2 leaves, not {n}")
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Iterable[bytes]) -> bytes:
    """The Merkle Tree Hash (RFC 9162 2.1.1) of the leaves' data, streamed (O(log n) memory)."""
    tree = CompactRange()
    batch: list[bytes] = []
    for leaf in leaves:
        batch.append(leaf)
        if len(batch) == leaves_per_batch:
            tree.extend(batch)
            batch = []
    tree.extend(batch)
    return tree.root()


def root_of_hashes(hashes: Sequence[bytes]) -> bytes:
    """The Merkle Tree Hash of leaves given by their leaf hashes (so callers can stream data)."""
    tree = CompactRange()
    tree.extend_hashes(hashes)
    return tree.root()


leaves_per_batch = 4096
"""Leaves are hashed a batch at a time: a batch's perfect subtrees are reduced level by level in
comprehensions, about half the interpreter's work of pushing leaves one by one."""


class CompactRange:
    """A growing run of RFC 9162 leaves ``[start, end)`` kept as the roots of its perfect
    subtrees (a compact range, as transparency logs keep): appending costs O(1) amortised hashes
    and the range needs O(log n) memory, so a month of any size is hashed without holding its
    leaves.

    Every subtree is aligned at its own width in the whole tree, so ranges that meet can be
    joined (``push`` the right one's ``subtrees`` onto the left one) and a range's ``root`` is
    the Merkle Tree Hash of its leaves when it starts at 0 or is one of RFC 9162's subtrees (a
    start aligned at a power of two no smaller than the range)."""

    __slots__ = ("_end", "_stack", "_widths")

    def __init__(self, start: int = 0) -> None:
        if start < 0:
            raise MerkleError(f"a range cannot start at {start}")
        self._end = start
        self._stack: list[bytes] = []
        self._widths: list[int] = []

    @classmethod
    def of_peaks(cls, size: int, peaks: Sequence[bytes]) -> CompactRange:
        """The range ``[0, size)`` given by its perfect subtrees' roots, largest first (what a
        log publishes as its peaks)."""
        widths = [1 << bit for bit in range(size.bit_length() - 1, -1, -1) if size >> bit & 1]
        if size < 0 or len(peaks) != len(widths) or any(len(p) != hash_bytes for p in peaks):
            raise MerkleError(f"a range of {size} leaves has {size.bit_count()} peaks")
        tree = cls()
        tree._end, tree._stack, tree._widths = size, list(peaks), widths
        return tree

    @property
    def size(self) -> int:
        """Where the range ends (for a range from 0, how many leaves were appended)."""
        return self._end

    def extend(self, leaves: Sequence[bytes]) -> None:
        """Append leaves given by their data."""
        self.extend_hashes(leaf_hashes(leaves))

    def extend_hashes(self, hashes: Sequence[bytes]) -> None:
        """Append leaves given by their leaf hashes, in the largest perfect subtrees the
        position allows (each a power of two that divides the position before it)."""
        start, left = 0, len(hashes)
        while left:
            aligned = self._end & -self._end or left
            width = min(aligned, 1 << (left.bit_length() - 1))
            self._push(_perfect_root(hashes[start : start + width]), width)
            start += width
            left -= width

    def subtrees(self) -> list[tuple[bytes, int]]:
        """The range's perfect subtrees, left to right, as (root, width)."""
        return list(zip(self._stack, self._widths, strict=True))

    def push(self, node: bytes, width: int) -> None:
        """Append a perfect subtree of ``width`` leaves (a power of two the end is aligned at),
        given by its root: how another range's ``subtrees`` join this one."""
        if width < 1 or width & (width - 1) or self._end % width:
            raise MerkleError(f"a subtree of {width} leaves cannot follow leaf {self._end}")
        self._push(node, width)

    def root(self) -> bytes:
        """The Merkle Tree Hash of the range (the perfect subtrees folded right to left, the
        largest on the left, as RFC 9162's split point puts it)."""
        if not self._stack:
            return EMPTY_ROOT
        top = self._stack[-1]
        for left in reversed(self._stack[:-1]):
            top = node_hash(left, top)
        return top

    def _push(self, node: bytes, width: int) -> None:
        at = self._end
        self._end = at + width
        stack, widths = self._stack, self._widths
        while widths and widths[-1] == width and (at - width) % (width << 1) == 0:
            node = node_hash(stack.pop(), node)
            widths.pop()
            at -= width
            width <<= 1
        stack.append(node)
        widths.append(width)


Span = tuple[int, int]
"""Leaves ``[start, end)`` of a tree."""


def inclusion_proof_streamed(
    batches: Iterable[Sequence[bytes]], size: int, index: int
) -> tuple[bytes, list[bytes]]:
    """Leaf ``index``'s hash and audit path in a tree of ``size`` leaves given as batches of leaf
    data, in one pass and O(log n) memory: each sibling is the root of a range of leaves that
    the other siblings do not cover, built by its own compact range as the leaves go by."""
    spans = proof_spans(size, index)
    subtrees, end = span_subtrees(batches, 0, spans)
    if end != size:
        raise MerkleError(f"{end} leaves, not {size}")
    return proof_of_subtrees(size, index, [subtrees])


def proof_spans(size: int, index: int) -> list[Span]:
    """The spans an audit path's siblings and its leaf cover, in order: together the tree."""
    return sorted([*audit_path(size, index, lambda start, end: (start, end)), (index, index + 1)])


def span_subtrees(
    batches: Iterable[Sequence[bytes]], first: int, spans: Sequence[Span]
) -> tuple[dict[Span, list[tuple[bytes, int]]], int]:
    """The perfect subtrees (``CompactRange.subtrees``) of each of ``spans`` (in order, end to
    end) that leaves ``first``, ``first + 1``, ... given as batches of data fall in, and
    where those leaves end. Leaves past the last span are refused."""
    current = next((n for n, (_, end) in enumerate(spans) if first < end), len(spans))
    trees: dict[Span, CompactRange] = {}
    position = first
    for batch in batches:
        hashes = leaf_hashes(batch)
        taken = 0
        while taken < len(hashes):
            if current == len(spans):
                raise MerkleError(f"more than {spans[-1][1] if spans else 0} leaves")
            span = spans[current]
            width = min(span[1] - position, len(hashes) - taken)
            tree = trees.get(span) or trees.setdefault(span, CompactRange(position))
            tree.extend_hashes(hashes[taken : taken + width])
            taken += width
            position += width
            if position == span[1]:
                current += 1
    return {span: tree.subtrees() for span, tree in trees.items()}, position


def proof_of_subtrees(
    size: int, index: int, parts: Sequence[Mapping[Span, Sequence[tuple[bytes, int]]]]
) -> tuple[bytes, list[bytes]]:
    """Leaf ``index``'s hash and audit path from ``span_subtrees`` of consecutive parts of the
    leaves, joined span by span in part order."""
    roots: dict[Span, bytes] = {}
    for span in proof_spans(size, index):
        tree = CompactRange(span[0])
        for part in parts:
            for node, width in part.get(span, ()):
                tree.push(node, width)
        if tree.size != span[1]:
            raise MerkleError(f"leaves {span[0]} to {span[1] - 1} are not all given")
        roots[span] = tree.root()
    path = audit_path(size, index, lambda start, end: roots[start, end])
    return roots[index, index + 1], path


def inclusion_proof(hashes: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf ``index`` (RFC 9162 2.1.3.1), leaves given by their leaf hashes."""
    return audit_path(len(hashes), index, lambda start, end: _subtree(hashes, start, end))


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """Whether ``proof`` shows leaf hash ``leaf`` at ``index`` of a tree of ``size`` with that root.

    The algorithm of RFC 9162 section 2.1.3.2, step for step.
    """
    if not 0 <= index < size or any(len(p) != hash_bytes for p in (leaf, *proof)):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def leaf_hashes(leaves: Iterable[bytes]) -> list[bytes]:
    """RFC 9162 leaf hashes of ``leaves``, in order."""
    hashes = []
    copy = _LEAF_STATE.copy
    for leaf in leaves:
        hasher = copy()
        hasher.update(leaf)
        hashes.append(hasher.digest())
    return hashes


def _perfect_root(hashes: Sequence[bytes]) -> bytes:
    """The root of a perfect tree (a power of two of leaf hashes), one level at a time."""
    level = list(hashes)
    copy = _NODE_STATE.copy
    while len(level) > 1:
        pairs = iter(level)
        parents = []
        for left, right in zip(pairs, pairs, strict=False):  # consecutive pairs, n even
            hasher = copy()
            hasher.update(left)
            hasher.update(right)
            parents.append(hasher.digest())
        level = parents
    return level[0]


def _subtree(hashes: Sequence[bytes], start: int, end: int) -> bytes:
    if end - start == 1:
        return hashes[start]
    k = split_point(end - start)
    return node_hash(_subtree(hashes, start, start + k), _subtree(hashes, start + k, end))


@dataclass(frozen=True, slots=True)
class SumNode:
    """A node of the sum tree: its hash and the per-key sums of the leaves below it."""

    hash: bytes
    sums: dict[str, int]


def sum_leaf(data: bytes, sums: Sums) -> SumNode:
    """A sum-tree leaf: SHA-256(0x00 || enc(sums) || data), carrying ``sums`` (each >= 0)."""
    checked = _checked_sums(sums)
    return SumNode(hashlib.sha256(_LEAF + _encode_sums(checked) + data).digest(), checked)


def sum_node(left: SumNode, right: SumNode) -> SumNode:
    """SHA-256(0x01 || left.hash || right.hash || enc(left.sums) || enc(right.sums)), summed."""
    digest = hashlib.sha256(
        _NODE + left.hash + right.hash + _encode_sums(left.sums) + _encode_sums(right.sums)
    ).digest()
    total = dict(left.sums)
    for key, value in right.sums.items():
        total[key] = total.get(key, 0) + value
    return SumNode(digest, total)


EMPTY_SUM_ROOT = SumNode(EMPTY_ROOT, {})


def sum_root(leaves: Sequence[SumNode]) -> SumNode:
    """The root of the sum tree over the leaves, split as in RFC 9162."""
    if not leaves:
        return EMPTY_SUM_ROOT
    return _sum_subtree(leaves, 0, len(leaves))


def sum_inclusion_proof(leaves: Sequence[SumNode], index: int) -> list[SumNode]:
    """The siblings (hash and sums) on the way from leaf ``index`` to the root, leaf first."""
    return audit_path(len(leaves), index, lambda start, end: _sum_subtree(leaves, start, end))


def verify_sum_inclusion(
    index: int, size: int, leaf: SumNode, proof: Sequence[SumNode], expected: SumNode
) -> bool:
    """Whether ``proof`` puts ``leaf`` at ``index`` under root ``expected`` (hash and sums).

    The RFC 9162 path walk, with sum nodes; every sum on the path must be a non-negative int.
    """
    if not 0 <= index < size:
        return False
    try:
        for node in (leaf, *proof):
            if len(node.hash) != hash_bytes:
                return False
            _checked_sums(node.sums)
    except MerkleError:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sum_node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = sum_node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r.hash == expected.hash and r.sums == dict(expected.sums)


def _sum_subtree(leaves: Sequence[SumNode], start: int, end: int) -> SumNode:
    if end - start == 1:
        return leaves[start]
    k = split_point(end - start)
    return sum_node(_sum_subtree(leaves, start, start + k), _sum_subtree(leaves, start + k, end))


def _checked_sums(sums: Sums) -> dict[str, int]:
    checked: dict[str, int] = {}
    for key, value in sums.items():
        if not isinstance(key, str):
            raise MerkleError(f"sum keys are strings, not {key!r}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise MerkleError(f"sum {key!r} must be a non-negative int, not {value!r}")
        checked[key] = value
    return checked


def _encode_sums(sums: Sums) -> bytes:
    """Length-prefixed canonical JSON, so that the encoding of two sums is unambiguous."""
    body = canonical_bytes(dict(sums))
    return len(body).to_bytes(4, "big") + body


def audit_path(size: int, index: int, subtree: Callable[[int, int], T]) -> list[T]:
    """The siblings from leaf ``index`` up to the root, leaf first (RFC 9162 2.1.3.1's split)."""
    if not 0 <= index < size:
        raise MerkleError(f"leaf {index} is not in a tree of {size}")
    path: list[T] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start += k
    path.reverse()
    return path
