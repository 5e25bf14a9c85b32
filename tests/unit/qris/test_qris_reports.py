"""Acquirer report parsing: column mapping, Decimal -> sen, RRN as text, explicit timezone."""

import io
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chain.qris.reports import (
    CountingReader,
    ReportError,
    ReportFormat,
    ReportLine,
    load_formats,
    read_report,
)

FORMATS = load_formats(Path(__file__).parents[3] / "settlement" / "qris" / "report_formats.json")
GENERIC = FORMATS["generic"]
SEMICOLON = FORMATS["acquirer-id-semicolon"]
HEADER = "rrn,amount,fee,transaction_time,nmid,reference,transaction_id,status\n"


def lines(text: str, fmt: ReportFormat = GENERIC) -> list[ReportLine]:
    return list(read_report(io.BytesIO(text.encode()), fmt))


def test_generic_line() -> None:
    (line,) = lines(HEADER + "000123456789,15000.50,105.00,2024-12-02 09:30:00,ID1020000000001,"
                    "CHK-1,tx-1,SUCCESS\n")  # fmt: skip
    assert line.rrn == "000123456789"
    assert line.amount_sen == 1_500_050
    assert line.fee_sen == 10_500
    assert line.transacted_at == datetime(2024, 12, 2, 2, 30, tzinfo=UTC)
    assert (line.nmid, line.reference, line.provider_tx_id) == ("ID1020000000001", "CHK-1", "tx-1")
    assert line.status == "paid"
    assert line.line == 2


def test_semicolon_decimal_comma_and_local_date() -> None:
    text = (
        "No. RRN;Nominal;MDR;Tanggal Transaksi;NMID;No. Tagihan;MPAN;Status\n"
        "000000000042;1.250.000,00;8.750,00;01/12/2024 23:59:59;ID1020000000001;;9360;SUKSES\n"
    )
    (line,) = lines(text, SEMICOLON)
    assert (line.rrn, line.amount_sen, line.fee_sen) == ("000000000042", 125_000_000, 875_000)
    assert line.transacted_at == datetime(2024, 12, 1, 16, 59, 59, tzinfo=UTC)
    assert line.reference is None


def test_explicit_offset_in_the_file_wins_over_the_format_zone() -> None:
    (line,) = lines(HEADER + "1,1,,2024-12-02T09:30:00+00:00,,,,\n")
    assert line.transacted_at == datetime(2024, 12, 2, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("row", "column"),
    [("1,1.001,,2024-12-02 09:30:00,,,,", "amount"), ("1,abc,,2024-12-02 09:30:00,,,,", "amount"),
     ("1,0,,2024-12-02 09:30:00,,,,", "amount"), ("1,-5,,2024-12-02 09:30:00,,,,", "amount"),
     ("1,1.0000000000000000000000000000001,,2024-12-02 09:30:00,,,,", "amount"),
     ("1,1e999999999,,2024-12-02 09:30:00,,,,", "amount"),
     (",10,,2024-12-02 09:30:00,,,,", "rrn"), ("1,10,,yesterday,,,,", "transaction_time"),
     ("1,10,,2024-12-02 09:30:00,,,,WHAT", "status")],
)  # fmt: skip
def test_bad_lines_name_line_and_column(row: str, column: str) -> None:
    with pytest.raises(ReportError) as raised:
        lines(HEADER + "1,1,,2024-12-02 09:30:00,,,,\n" + row + "\n")
    assert raised.value.line == 3
    assert raised.value.column == column


def test_missing_header_column_and_empty_report() -> None:
    with pytest.raises(ReportError, match="rrn"):
        lines("amount,transaction_time\n1,2024-01-01 00:00:00\n")
    with pytest.raises(ReportError, match="empty"):
        lines("")


def test_format_validation() -> None:
    with pytest.raises(ReportError, match="missing"):
        ReportFormat("x", columns={"rrn": "r"}, time_format="iso", timezone="Asia/Jakarta")
    with pytest.raises(ReportError, match="timezone"):
        ReportFormat("x", columns={"rrn": "r", "amount": "a", "transacted_at": "t"},
                     time_format="iso", timezone="Mars/Base")  # fmt: skip


@given(st.integers(1, 10**14), st.text("0123456789", min_size=1, max_size=20))
def test_amount_and_rrn_survive_exactly(sen: int, rrn: str) -> None:
    amount = f"{sen // 100}.{sen % 100:02d}"
    (line,) = lines(HEADER + f"{rrn},{amount},,2024-12-02 09:30:00,,,,\n")
    assert (line.rrn, line.amount_sen) == (rrn, sen)


def test_streaming_keeps_memory_flat() -> None:
    row = b"000123456789,15000.50,105.00,2024-12-02 09:30:00,ID1020000000001,CHK-1,tx-1,SUCCESS\n"

    def chunks() -> Iterator[bytes]:
        yield HEADER.encode()
        for _ in range(50_000):
            yield row

    class Stream(io.RawIOBase):
        def __init__(self) -> None:
            self._chunks = chunks()
            self._rest = b""

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            while not self._rest:
                self._rest = next(self._chunks, b"")
                if not self._rest:
                    return 0
            size = min(len(buffer), len(self._rest))
            buffer[:size] = self._rest[:size]
            self._rest = self._rest[size:]
            return size

    counter = CountingReader(io.BufferedReader(Stream()))
    tracemalloc.start()
    seen = 0
    for _ in read_report(counter, GENERIC):  # type: ignore[arg-type]
        seen += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seen == 50_000
    assert counter.bytes_read == len(HEADER) + 50_000 * len(row)
    assert peak < 2_000_000  # 50k lines would need far more than 2 MB if they were kept


def test_bytes_that_are_not_the_formats_encoding_are_a_report_error_naming_the_line() -> None:
    data = HEADER + "000123456789,15000.50,105.00,2024-12-02 09:30:00,ID1,CHK-1,tx-1,SUCCESS\n"
    with pytest.raises(ReportError) as refused:
        list(read_report(io.BytesIO(data.encode() + b"\x80\xff,1\n"), GENERIC))
    assert "not utf-8 text" in str(refused.value)
    assert refused.value.line == 3


@pytest.mark.parametrize(
    ("encoding", "why"),
    [("utf-16", "does not keep ASCII lines"), ("no-such-codec", "unknown encoding")],
)
def test_a_format_whose_encoding_cannot_be_read_line_by_line_is_refused(
    encoding: str, why: str
) -> None:
    with pytest.raises(ReportError, match=why):
        ReportFormat(
            name="odd",
            columns=GENERIC.columns,
            time_format=GENERIC.time_format,
            timezone=GENERIC.timezone,
            encoding=encoding,
        )
