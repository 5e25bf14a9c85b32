"""The bank's side of a payout batch, for tests and the bench: read a transfer file, answer it."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from chain.bank.confirmation import ACCEPTED, REJECTED


def file_lines(data: bytes) -> list[list[str]]:
    """The D lines of a transfer file, split into fields."""
    return [line.split(",") for line in data.decode("ascii").splitlines() if line.startswith("D,")]


def confirmation(data: bytes, rejected: Mapping[int, str] | None = None) -> bytes:
    """The bank's confirmation of transfer file ``data``: every line accepted but those in
    ``rejected`` (line number -> reason code)."""
    rejected = rejected or {}
    text = data.decode("ascii").splitlines()
    batch_id = text[0].split(",")[1]
    file_sha = text[-1].split(",")[3]
    out = [f"H,{batch_id},{file_sha}\n"]
    for number, fields in enumerate(file_lines(data), start=1):
        reference, amount = fields[1], fields[5]
        if number in rejected:
            out.append(f"D,{reference},{amount},{REJECTED},,{rejected[number]},rekening ditutup\n")
        else:
            out.append(f"D,{reference},{amount},{ACCEPTED},BNK{number:08d},,\n")
    return sealed(out, text[-1].split(",")[2], len(out) - 1)


def sealed(lines: list[str], total: str, count: int) -> bytes:
    """``lines`` (H and D, each ending in LF) with their T line."""
    body = "".join(lines).encode("ascii")
    return body + f"T,{count},{total},{hashlib.sha256(body).hexdigest()}\n".encode("ascii")
