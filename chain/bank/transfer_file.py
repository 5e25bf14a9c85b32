"""The payout batch as a bank transfer file (CSV, layout in decision 0023), written as a stream.

    H,<batch id>,<business day YYYY-MM-DD>,<cut-off, ISO 8601 in WIB>,IDR
    D,<line reference>,<bank code>,<account number>,<holder name>,<amount>,<kind>,<payee>
    T,<line count>,<total amount>,<SHA-256 hex of every byte before the T line>

ASCII, one record per line ending in LF, no quoting (no field may hold a comma), amounts in
Rupiah with exactly two decimals. The same header and lines always give the same bytes: the
file carries no time but the batch's own cut-off.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from chain.bank.account import BankAccount
from escrow.calendar import WIB, from_us
from escrow.errors import InvariantViolation
from escrow.money import IDR, format_amount

line_no_digits = 6
batch_lines_max = 10**line_no_digits - 1
"""A line reference has six digits: at most 999,999 lines per batch."""
BATCH_ID = re.compile(r"PO[0-9]{8}")
payee_chars_max = 140
"""A payee names a merchant, a checkout, or a holder's account (``pioneer:<uid>:MSC``, a uid
being up to 128 characters)."""
PAYEE = re.compile(rf"[A-Za-z0-9_.:-]{{1,{payee_chars_max}}}")
KINDS = frozenset({"merchant", "qris_refund", "redemption"})


@dataclass(frozen=True, slots=True)
class BatchHeader:
    """What the H line says: the batch, its WIB business day and its cut-off (µs)."""

    batch_id: str
    business_day: date
    cutoff_at_us: int


@dataclass(frozen=True, slots=True)
class TransferLine:
    """One D line: a transfer of ``amount_units`` sen to ``account``."""

    line_no: int
    account: BankAccount
    amount_units: int
    kind: str
    payee: str


@dataclass(frozen=True, slots=True)
class FileSummary:
    """The control line's figures."""

    line_count: int
    total_units: int
    sha256: str


def batch_id_of(day: date) -> str:
    """``PO`` and the business day: one batch per WIB day."""
    return f"PO{day:%Y%m%d}"


def line_reference(batch_id: str, line_no: int) -> str:
    """The line's reference, unique across batches (``PO20261201-000001``)."""
    return _LINE_REFERENCE.format(batch_id, line_no)


_LINE_REFERENCE = f"{{}}-{{:0{line_no_digits}d}}"
"""The format built once: a batch asks for 200,000 references."""


def write_transfer_file(
    header: BatchHeader, lines: Iterable[TransferLine], write: Callable[[bytes], object]
) -> FileSummary:
    """Write the file to ``write`` line by line (lines in ``line_no`` order, from 1) and return
    its control figures; nothing is held but the running digest."""
    records = TransferFileRecords(header, lines)
    for record in records:
        write(record)
    return records.summary()


class TransferFileRecords:
    """The file's records (bytes, each ending in LF) as an iterator; ``summary()`` once done."""

    def __init__(self, header: BatchHeader, lines: Iterable[TransferLine]) -> None:
        if not BATCH_ID.fullmatch(header.batch_id):
            raise InvariantViolation(f"batch id {header.batch_id!r}")
        self._header = header
        self._lines = lines
        self._summary: FileSummary | None = None

    def __iter__(self) -> Iterator[bytes]:
        digest = hashlib.sha256()
        header = self._header
        cutoff = from_us(header.cutoff_at_us).astimezone(WIB).isoformat(timespec="seconds")
        first = f"H,{header.batch_id},{header.business_day.isoformat()},{cutoff},IDR\n".encode()
        digest.update(first)
        yield first
        count = total = 0
        for line in self._lines:
            count += 1
            record = _detail(header.batch_id, line, count)
            total += line.amount_units
            digest.update(record)
            yield record
        checksum = digest.hexdigest()
        self._summary = FileSummary(count, total, checksum)
        yield f"T,{count},{format_amount(total, IDR.scale)},{checksum}\n".encode("ascii")

    def summary(self) -> FileSummary:
        """The control figures, once every record was read."""
        if self._summary is None:
            raise InvariantViolation("the file's records were not all read")
        return self._summary


def _detail(batch_id: str, line: TransferLine, expected_no: int) -> bytes:
    if line.line_no != expected_no or expected_no > batch_lines_max:
        raise InvariantViolation(f"line {line.line_no} where {expected_no} was due")
    if line.kind not in KINDS or not PAYEE.fullmatch(line.payee) or line.amount_units <= 0:
        raise InvariantViolation(f"line {line.line_no} cannot be written")
    account = line.account
    return (
        f"D,{line_reference(batch_id, line.line_no)},{account.bank_code},"
        f"{account.account_number},{account.holder_name},"
        f"{format_amount(line.amount_units, IDR.scale)},{line.kind},{line.payee}\n"
    ).encode("ascii")
