"""The bank's confirmation of a payout batch (CSV, layout in decision 0023), read as a stream.

    H,<batch id>,<SHA-256 of the batch file's lines, as in its T line>
    D,<line reference>,<amount>,ACCEPTED|REJECTED,<bank reference>,<reason code>,<reason>
    T,<line count>,<total amount>,<SHA-256 hex of every byte before the T line>

Printable ASCII, LF (or CRLF) line ends. Every D line answers one line of the batch with its
amount; a rejected line names the bank's reason code (an accepted one names none). Anything
else (another encoding, a control character, an unknown record, a line over
``line_bytes_max``, a line twice, a wrong control figure, bytes after the T line) refuses the
whole file: the reader raises before its last line is handed out, so a caller that applies
lines only after the iterator ends applies all of them or none.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from chain.bank.errors import (
    CONFIRMATION_CHECKSUM_MISMATCH,
    CONFIRMATION_COUNT_MISMATCH,
    CONFIRMATION_LINE_DUPLICATE,
    CONFIRMATION_LINE_UNKNOWN,
    CONFIRMATION_MALFORMED,
    CONFIRMATION_TOO_LARGE,
    CONFIRMATION_TOTAL_MISMATCH,
    ConfirmationRefused,
)
from chain.bank.transfer_file import BATCH_ID, batch_lines_max, line_no_digits
from escrow.money import IDR, AmountRefused, format_amount, parse_amount

line_bytes_max = 512
"""No record of the layout comes near this; a longer line is refused before it is split."""
_PRINTABLE = re.compile(rb"[\x20-\x7e]*")
_AMOUNT = re.compile(r"[0-9]{1,16}\.[0-9]{2}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_BANK_REFERENCE = re.compile(r"[A-Za-z0-9/-]{0,32}")
_REASON_CODE = re.compile(r"[A-Z0-9_]{1,16}")
reason_chars_max = 160
ACCEPTED = "ACCEPTED"
REJECTED = "REJECTED"


@dataclass(frozen=True, slots=True)
class ConfirmationHeader:
    """The batch a confirmation answers, and the checksum of the file it answers."""

    batch_id: str
    file_sha256: str


@dataclass(frozen=True, slots=True)
class ConfirmationLine:
    """The bank's answer for one line of the batch."""

    line_no: int
    amount_units: int
    accepted: bool
    bank_reference: str
    reason_code: str
    reason: str


class ConfirmationReader:
    """Reads a confirmation from a binary stream: ``header`` first, then ``lines()``."""

    def __init__(self, stream: BinaryIO, lines_max: int = batch_lines_max) -> None:
        self._stream = stream
        self._lines_max = lines_max
        self._digest = hashlib.sha256()
        self._line_number = 0
        self.sha256_of_file = hashlib.sha256()
        """Of every byte read, the T line included (the confirmation's identity)."""
        self.header = self._header()

    def lines(self) -> Iterator[ConfirmationLine]:
        """The D lines in file order; raises ``ConfirmationRefused`` at the first fault, the
        control line's included, before the last line is yielded."""
        prefix = self.header.batch_id + "-"
        seen: set[int] = set()
        count = total = 0
        pending: ConfirmationLine | None = None
        while True:
            fields = self._record()
            if fields[0] == "T":
                break
            if fields[0] != "D" or len(fields) != 7:
                raise self._malformed("a D line has seven fields")
            line = self._detail(fields, prefix)
            if line.line_no in seen:
                raise ConfirmationRefused(
                    f"line {line.line_no} is answered twice", code=CONFIRMATION_LINE_DUPLICATE
                )
            seen.add(line.line_no)
            count += 1
            total += line.amount_units
            if count > self._lines_max:
                raise ConfirmationRefused(
                    "more lines than a batch holds", code=CONFIRMATION_TOO_LARGE
                )
            if pending is not None:
                yield pending
            pending = line
        self._control(fields, count, total)
        if pending is not None:
            yield pending

    def _header(self) -> ConfirmationHeader:
        fields = self._record()
        if fields[0] != "H" or len(fields) != 3:
            raise self._malformed("the first line is H,<batch id>,<file sha256>")
        if not BATCH_ID.fullmatch(fields[1]) or not _SHA256.fullmatch(fields[2]):
            raise self._malformed("the H line names a batch id and a SHA-256")
        return ConfirmationHeader(fields[1], fields[2])

    def _detail(self, fields: list[str], prefix: str) -> ConfirmationLine:
        _, reference, amount, status, bank_reference, reason_code, reason = fields
        digits = reference.removeprefix(prefix)
        if digits == reference or len(digits) != line_no_digits or not digits.isdigit():
            raise ConfirmationRefused(
                f"line {self._line_number}: no line {reference[:40]!r} in {self.header.batch_id}",
                code=CONFIRMATION_LINE_UNKNOWN,
            )
        if status not in (ACCEPTED, REJECTED):
            raise self._malformed("the status is ACCEPTED or REJECTED")
        accepted = status == ACCEPTED
        if accepted != (reason_code == "" and reason == ""):
            raise self._malformed("a rejected line names its reason, an accepted one none")
        if not accepted and not _REASON_CODE.fullmatch(reason_code):
            raise self._malformed("a reason code is 1 to 16 of A-Z, 0-9 and _")
        if not _BANK_REFERENCE.fullmatch(bank_reference) or len(reason) > reason_chars_max:
            raise self._malformed("bank reference or reason too long")
        line_no = int(digits)
        if line_no == 0:
            raise ConfirmationRefused("line 0 does not exist", code=CONFIRMATION_LINE_UNKNOWN)
        return ConfirmationLine(
            line_no, self._amount(amount), accepted, bank_reference, reason_code, reason
        )

    def _control(self, fields: list[str], count: int, total: int) -> None:
        checksum = self._digest.hexdigest()
        if len(fields) != 4:
            raise self._malformed("the T line is T,<count>,<total>,<sha256>")
        if self._stream.read(1):
            raise self._malformed("nothing may follow the T line")
        if not fields[1].isdigit() or int(fields[1]) != count:
            raise ConfirmationRefused(
                f"the T line counts {fields[1][:12]!r}, the file has {count} lines",
                code=CONFIRMATION_COUNT_MISMATCH,
            )
        if self._amount(fields[2]) != total:
            raise ConfirmationRefused(
                f"the T line totals {fields[2]}, the lines {format_amount(total, IDR.scale)}",
                code=CONFIRMATION_TOTAL_MISMATCH,
            )
        if fields[3] != checksum:
            raise ConfirmationRefused(
                "the T line's SHA-256 is not that of the lines before it",
                code=CONFIRMATION_CHECKSUM_MISMATCH,
            )

    def _record(self) -> list[str]:
        raw = self._stream.readline(line_bytes_max + 1)
        self._line_number += 1
        if not raw:
            raise self._malformed("the file ends before its T line")
        if len(raw) > line_bytes_max:
            raise ConfirmationRefused(
                f"line {self._line_number} is longer than {line_bytes_max} bytes",
                code=CONFIRMATION_TOO_LARGE,
            )
        self.sha256_of_file.update(raw)
        body = raw.removesuffix(b"\n").removesuffix(b"\r")
        if not _PRINTABLE.fullmatch(body):
            raise self._malformed("only printable ASCII")
        fields = body.decode("ascii").split(",")
        if fields[0] != "T":
            self._digest.update(raw)
        return fields

    def _amount(self, text: str) -> int:
        if not _AMOUNT.fullmatch(text):
            raise self._malformed("an amount is Rupiah with two decimals, e.g. 15000.00")
        try:
            return parse_amount(text, IDR.scale)
        except AmountRefused:
            raise self._malformed("an amount is above zero") from None

    def _malformed(self, why: str) -> ConfirmationRefused:
        return ConfirmationRefused(f"line {self._line_number}: {why}", code=CONFIRMATION_MALFORMED)
