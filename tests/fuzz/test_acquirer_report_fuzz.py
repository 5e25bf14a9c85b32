"""Fuzz target: an acquirer's transaction report, in any configured format, yields lines or raises
``ReportError``: never a decoding, CSV or arithmetic error of its own."""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from chain.qris.reports import ReportError, ReportFormat, load_formats, read_report

rrn_chars_max = 64
FORMATS = load_formats(Path(__file__).parents[2] / "settlement" / "qris" / "report_formats.json")
HEADERS = {name: fmt.delimiter.join(fmt.columns.values()) + "\n" for name, fmt in FORMATS.items()}
FIELD = st.text(alphabet=st.characters(codec="utf-8"), max_size=24) | st.sampled_from(
    ["15000.50", "15.000,50", "-1", "0", "1e9", "NaN", "2024-12-02 09:30:00", "SUCCESS", ""]
)


def _assert_lines_or_own_error(data: bytes, fmt: ReportFormat) -> None:
    """Each line read is what ``ReportLine`` promises (an RRN of at most 64, a positive amount in
    sen, a time with its zone); anything else is our own ``ReportError``."""
    try:
        for line in read_report(io.BytesIO(data), fmt):
            assert 0 < len(line.rrn) <= rrn_chars_max
            assert isinstance(line.amount_sen, int)
            assert line.amount_sen > 0
            assert line.transacted_at.tzinfo is not None
    except ReportError:
        return


@given(st.sampled_from(sorted(FORMATS)), st.binary(max_size=600))
def test_arbitrary_bytes_after_a_valid_header(name: str, body: bytes) -> None:
    _assert_lines_or_own_error(HEADERS[name].encode(FORMATS[name].encoding) + body, FORMATS[name])


@given(st.sampled_from(sorted(FORMATS)), st.lists(st.lists(FIELD, max_size=10), max_size=6))
def test_arbitrary_rows_of_fields(name: str, rows: list[list[str]]) -> None:
    fmt = FORMATS[name]
    text = HEADERS[name] + "".join(fmt.delimiter.join(row) + "\n" for row in rows)
    _assert_lines_or_own_error(text.encode(fmt.encoding, errors="replace"), fmt)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_as_a_whole_report(data: bytes) -> None:
    _assert_lines_or_own_error(data, FORMATS["generic"])
