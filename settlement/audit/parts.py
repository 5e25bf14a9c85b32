"""A JSONL file's lines cut into parts, each streamed by its own process: how the verifier
checks a month of a million transfers on every core.

Standard library only. The parts are consecutive runs of whole lines, cut at about equal line
counts; the first part is worked on in this process and every other in a forked worker (fork
keeps the process's hash key, so keyed hashes agree across the parts), and the results come
back in part order. A worker that fails for any reason gives no result at all, and the caller
then goes the one-process way, which names the first failure exactly as it always has.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TypeVar, cast

R = TypeVar("R")

part_lines_min = 50_000
"""Unless told how many parts to make, no part is smaller: a fork and the join of its result
cost more than a smaller part saves."""
workers_max = 8
scan_bytes = 1 << 20
"""The file is scanned for the cut points in blocks of this size."""


@dataclass(frozen=True, slots=True)
class Part:
    """Lines ``[first, first + count)`` of a file (0-based), bytes ``[start, end)``; the last
    part runs to the end of the file, however many lines it then holds."""

    path: Path
    first: int
    count: int
    start: int
    end: int


def workers_default(lines: int) -> int:
    """How many parts a file of ``lines`` lines is cut into unless the caller says: one per
    core this process may run on, no part under ``part_lines_min`` lines; one where the
    platform cannot fork, or in a process running other threads (a forked child holds only
    the forking thread, and any lock another thread held stays locked in it)."""
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, workers_max, lines // part_lines_min))


def cut(path: Path, lines: int, parts: int) -> list[Part] | None:
    """``parts`` parts of a file said to hold ``lines`` lines; None when one part would do,
    or when the file cannot be read or holds fewer lines than said (the one-process way then
    reports it)."""
    parts = min(parts, lines)
    if parts < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    firsts = [lines * n // parts for n in range(parts)]
    try:
        size = path.stat().st_size
        starts = _line_offsets(path, firsts[1:], size)
    except OSError:
        return None
    if starts is None:
        return None
    offsets = [0, *starts, size]
    counts = [*(b - a for a, b in pairwise(firsts)), lines - firsts[-1]]
    return [
        Part(path, first, count, offsets[n], offsets[n + 1])
        for n, (first, count) in enumerate(zip(firsts, counts, strict=True))
    ]


def map_parts(work: Callable[[Part], R | None], parts: list[Part]) -> list[R] | None:
    """``work`` of every part, in part order: the first here, the others in forked workers.
    None when any part's work gave None, raised or its worker died."""
    context = multiprocessing.get_context("fork")
    workers = []
    for part in parts[1:]:
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_work_and_send, args=(work, part, send), daemon=True)
        process.start()
        send.close()
        workers.append((process, receive))
    results: list[R | None] = []
    try:
        results.append(_work_or_none(work, parts[0]))
        for _, receive in workers:
            results.append(cast("R | None", _received(receive)))
    finally:
        for process, receive in workers:
            receive.close()
            process.join()
    if any(result is None for result in results):
        return None
    return results  # type: ignore[return-value] # no None left


def _line_offsets(path: Path, numbers: list[int], size: int) -> list[int] | None:
    """The byte offsets at which lines ``numbers`` (0-based, increasing) begin; None when the
    file's ``size`` bytes end first (no more is read: a device or a pipe named
    transfers.jsonl would never end)."""
    offsets: list[int] = []
    seen, position = 0, 0
    with path.open("rb") as source:
        while len(offsets) < len(numbers) and position < size:
            block = source.read(min(scan_bytes, size - position))
            if not block:
                break
            in_block = block.count(b"\n")
            at = -1
            while len(offsets) < len(numbers) and seen + in_block >= numbers[len(offsets)]:
                for _ in range(numbers[len(offsets)] - seen):
                    at = block.index(b"\n", at + 1)
                    seen += 1
                    in_block -= 1
                offsets.append(position + at + 1)
            seen += in_block
            position += len(block)
    return offsets if len(offsets) == len(numbers) else None


def _work_or_none(work: Callable[[Part], R | None], part: Part) -> R | None:
    try:
        return work(part)
    except Exception:  # any failure sends the caller the one-process way
        return None


def _work_and_send(work: Callable[[Part], R | None], part: Part, send: Connection) -> None:
    send.send(_work_or_none(work, part))
    send.close()


def _received(receive: Connection) -> object | None:
    try:
        value: object = receive.recv()
    except (EOFError, OSError):
        return None
    return value
