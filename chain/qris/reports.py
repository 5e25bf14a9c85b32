"""Acquirer QRIS transaction reports (CSV): per-acquirer column mapping, streamed line by line.

Amounts are parsed with Decimal into sen (never float), RRNs stay strings (leading zeros
matter), and every time is read in the timezone the format names explicitly.
"""

import csv
import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from escrow.money import IDR, AmountRefused, parse_amount

REQUIRED_FIELDS = ("rrn", "amount", "transacted_at")
OPTIONAL_FIELDS = ("nmid", "reference", "fee", "provider_tx_id", "status", "merchant_pan")
REPORT_STATUSES = frozenset({"paid", "refunded", "failed"})


class ReportError(ValueError):
    """A report (or its format) that cannot be ingested; names the line and column."""

    def __init__(self, reason: str, *, line: int | None = None, column: str | None = None) -> None:
        self.line = line
        self.column = column
        where = ", ".join(
            part
            for part in (f"line {line}" if line else "", f"column {column!r}" if column else "")
            if part
        )
        super().__init__(f"{where}: {reason}" if where else reason)


@dataclass(frozen=True, slots=True)
class ReportFormat:
    """How one acquirer writes its report: delimiter, headers per field, number and time style."""

    name: str
    columns: Mapping[str, str]
    time_format: str
    timezone: str
    delimiter: str = ","
    encoding: str = "utf-8"
    decimal_comma: bool = False
    statuses: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        missing = [f for f in REQUIRED_FIELDS if f not in self.columns]
        unknown = [f for f in self.columns if f not in REQUIRED_FIELDS + OPTIONAL_FIELDS]
        if missing or unknown:
            raise ReportError(f"format {self.name}: missing {missing}, unknown {unknown} fields")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ReportError(f"format {self.name}: unknown timezone {self.timezone!r}") from None
        try:
            ascii_lines = "a,\n".encode(self.encoding) == b"a,\n"
        except LookupError:
            raise ReportError(f"format {self.name}: unknown encoding {self.encoding!r}") from None
        if not ascii_lines:
            raise ReportError(f"format {self.name}: {self.encoding} does not keep ASCII lines")
        bad = {v for v in (self.statuses or {}).values()} - REPORT_STATUSES
        if bad:
            raise ReportError(f"format {self.name}: statuses map to unknown {sorted(bad)}")


@dataclass(frozen=True, slots=True)
class ReportLine:
    """One transaction of a report, normalised (sen, UTC, string RRN)."""

    line: int
    rrn: str
    amount_sen: int
    transacted_at: datetime
    nmid: str | None = None
    reference: str | None = None
    fee_sen: int | None = None
    provider_tx_id: str | None = None
    status: str = "paid"
    merchant_pan: str | None = None


def load_formats(path: Path) -> dict[str, ReportFormat]:
    """Read the acquirer formats (a JSON object name -> format) from configuration."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ReportError(f"cannot read report formats {path}: {error}") from None
    if not isinstance(document, dict):
        raise ReportError(f"{path}: expected an object of formats")
    return {name: _format(name, spec) for name, spec in document.items() if name != "about"}


def _format(name: str, spec: Any) -> ReportFormat:  # noqa: ANN401 - raw JSON, checked below
    if not isinstance(spec, dict):
        raise ReportError(f"format {name}: expected an object")
    try:
        return ReportFormat(name=name, **spec)
    except TypeError as error:
        raise ReportError(f"format {name}: {error}") from None


class CountingReader(io.RawIOBase):
    """A binary stream that counts the bytes read, so progress can be shown per byte."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.bytes_read = 0

    def readable(self) -> bool:
        """This stream is read-only."""
        return True

    def readinto(self, buffer: Any) -> int:  # noqa: ANN401 - the io buffer protocol
        """Read into ``buffer`` and count."""
        data = self._raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        self.bytes_read += size
        return size


def read_report(
    stream: BinaryIO, fmt: ReportFormat, on_lines: Callable[[int], None] | None = None
) -> Iterator[ReportLine]:
    """Yield normalised lines one at a time (memory stays flat); raise ReportError on a bad one,
    including bytes that are not the format's encoding and rows CSV cannot split."""
    physical = _PhysicalLines(stream, fmt.encoding)
    reader = csv.reader(physical, delimiter=fmt.delimiter)
    try:
        yield from _lines(reader, fmt, on_lines)
    except csv.Error as bad:
        raise ReportError(f"not a CSV row: {bad}", line=physical.number) from None


class _PhysicalLines:
    """The report's lines decoded one at a time, so that bytes which are not the format's
    encoding are refused naming their line (the format's encoding keeps ASCII line ends)."""

    def __init__(self, stream: BinaryIO, encoding: str) -> None:
        if not isinstance(stream, io.BufferedIOBase):  # a raw stream (CountingReader): buffer it
            stream = io.BufferedReader(cast(io.RawIOBase, stream))
        self._lines = iter(stream)
        self._encoding = encoding
        self.number = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        raw = next(self._lines)
        self.number += 1
        try:
            return raw.decode(self._encoding)
        except UnicodeDecodeError as bad:
            why = f"not {self._encoding} text: {bad.reason}"
            raise ReportError(why, line=self.number) from None


def _lines(
    reader: Iterator[list[str]], fmt: ReportFormat, on_lines: Callable[[int], None] | None
) -> Iterator[ReportLine]:
    header = next(reader, None)
    if header is None:
        raise ReportError("the report is empty", line=1)
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    index = _column_index(header, fmt)
    parse = _LineParser(fmt, index)
    for count, row in enumerate(reader, start=1):
        if not row:
            continue
        yield parse(row, count + 1)
        if on_lines is not None and count % 10_000 == 0:
            on_lines(count)


def _column_index(header: list[str], fmt: ReportFormat) -> dict[str, int]:
    positions = {name.strip(): i for i, name in enumerate(header)}
    index: dict[str, int] = {}
    for field_name, column in fmt.columns.items():
        if column not in positions:
            raise ReportError(f"header has no column for {field_name}", line=1, column=column)
        index[field_name] = positions[column]
    return index


class _LineParser:
    """Turns one CSV row into a ReportLine; precomputes what can be precomputed."""

    _FIELDS = ("rrn", "amount", "fee", "transacted_at", "nmid", "reference", "provider_tx_id",
               "status", "merchant_pan")  # fmt: skip

    def __init__(self, fmt: ReportFormat, index: dict[str, int]) -> None:
        self._fmt = fmt
        self._zone = ZoneInfo(fmt.timezone)
        self._width = max(index.values()) + 1
        self._iso = fmt.time_format == "iso"
        self._positions = tuple(index.get(name) for name in self._FIELDS)

    def __call__(self, row: list[str], line: int) -> ReportLine:
        if len(row) < self._width:
            raise ReportError(f"{len(row)} columns, expected at least {self._width}", line=line)
        rrn, amount_text, fee_text, at_text, nmid, reference, tx_id, status, pan = [
            None if at is None else row[at].strip() or None for at in self._positions
        ]
        if rrn is None or len(rrn) > 64:
            raise ReportError("RRN is missing or longer than 64", line=line, column="rrn")
        amount = self._sen(amount_text, "amount", line)
        if amount is None or amount <= 0:
            raise ReportError("amount must be positive", line=line, column="amount")
        return ReportLine(
            line=line,
            rrn=rrn,
            amount_sen=amount,
            transacted_at=self._time(at_text, line),
            nmid=nmid,
            reference=reference,
            fee_sen=self._sen(fee_text, "fee", line),
            provider_tx_id=tx_id,
            status=self._status(status, line),
            merchant_pan=pan,
        )

    def _sen(self, text: str | None, field_name: str, line: int) -> int | None:
        if text is None:
            return None
        column = self._fmt.columns[field_name]
        if self._fmt.decimal_comma:
            text = text.replace(".", "").replace(",", ".")
        try:
            return parse_amount(text, IDR.scale, allow_zero=True)
        except AmountRefused as refused:
            raise ReportError(str(refused), line=line, column=column) from None

    def _time(self, text: str | None, line: int) -> datetime:
        column = self._fmt.columns["transacted_at"]
        if text is None:
            raise ReportError("time is missing", line=line, column=column)
        try:
            if self._iso:
                parsed = datetime.fromisoformat(text)
            else:
                parsed = datetime.strptime(text, self._fmt.time_format)  # noqa: DTZ007 - zone below
        except ValueError:
            raise ReportError(f"{text!r} is not a time", line=line, column=column) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self._zone)
        return parsed.astimezone(UTC)

    def _status(self, text: str | None, line: int) -> str:
        if text is None:
            return "paid"
        mapping = self._fmt.statuses or {}
        status = mapping.get(text) or mapping.get(text.upper())
        if status is None:
            raise ReportError(f"unknown status {text!r}", line=line, column="status")
        return status
