"""A transfer leaf's inclusion proof from transfers.jsonl, streamed, on every core.

Standard library only. Every leaf of the month is hashed (the proof's siblings are subtrees
of them); the file is cut into parts (``parts.cut``), each part gives the perfect subtrees of
the proof's spans its leaves fall in, and the spans' roots are joined in part order. Should a
part fail, the whole file is read again in this process, which names what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from settlement.audit import bundle as b
from settlement.audit import merkle, parts


@dataclass(frozen=True, slots=True)
class TransferProof:
    """Leaf ``index`` of a tree of ``size``: its line, leaf hash and audit path."""

    index: int
    size: int
    line: bytes
    leaf_hash: bytes
    path: list[bytes]


@dataclass(frozen=True, slots=True)
class RunSubtrees:
    """What one run of lines gives: each span's subtrees, and the proved leaf's line if the
    run holds it."""

    subtrees: dict[merkle.Span, list[tuple[bytes, int]]]
    line: bytes | None


def prove_transfer(path: Path, size: int, index: int, workers: int | None = None) -> TransferProof:
    """The proof of leaf ``index`` (0-based) in a file said to hold ``size`` transfer lines,
    read by ``workers`` processes (by default one per core); ``merkle.MerkleError`` when the
    file holds another number of lines."""
    spans = merkle.proof_spans(size, index)
    cut = parts.cut(path, size, parts.workers_default(size) if workers is None else workers)
    runs = None
    if cut is not None:
        runs = parts.map_parts(partial(_part_subtrees, spans=spans, index=index), cut)
    if runs is None:
        kept: list[bytes] = []
        batches = _keeping(b.line_batches(path, "transfers"), 0, index, kept)
        leaf_hash, proof = merkle.inclusion_proof_streamed(batches, size, index)
        return TransferProof(index, size, kept[0], leaf_hash, proof)
    leaf_hash, proof = merkle.proof_of_subtrees(size, index, [run.subtrees for run in runs])
    line = next(run.line for run in runs if run.line is not None)
    return TransferProof(index, size, line, leaf_hash, proof)


def _part_subtrees(
    part: parts.Part, spans: Sequence[merkle.Span], index: int
) -> RunSubtrees | None:
    """A worker's part; None (the one-process way decides) unless it holds its count."""
    kept: list[bytes] = []
    lines = b.line_batches(part.path, "transfers", part.start, part.end)
    batches = _keeping(lines, part.first, index, kept)
    subtrees, end = merkle.span_subtrees(batches, part.first, spans)
    if end != part.first + part.count:
        return None
    return RunSubtrees(subtrees, kept[0] if kept else None)


def _keeping(
    batches: Iterator[list[bytes]], first: int, index: int, kept: list[bytes]
) -> Iterator[list[bytes]]:
    """The batches (of lines ``first``, ``first + 1``, ...), unchanged, line ``index``
    appended to ``kept`` on the way."""
    seen = first
    for lines in batches:
        if seen <= index < seen + len(lines):
            kept.append(lines[index - seen])
        seen += len(lines)
        yield lines
