"""The history cursor: opaque, one spelling per position, and nothing else is accepted."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escrow.model import amount_max
from settlement.reports import ReportRefused
from settlement.reports.history import cursor_chars_max, decode_cursor, encode_cursor


@given(st.integers(0, amount_max))
def test_a_cursor_resumes_where_it_was_made(timestamp_us: int) -> None:
    cursor = encode_cursor(timestamp_us)
    assert len(cursor) <= cursor_chars_max
    assert cursor.replace("-", "").replace("_", "").isalnum()
    assert decode_cursor(cursor) == timestamp_us


@given(st.text(max_size=80))
def test_any_other_text_is_refused_or_is_a_cursor_we_made(text: str) -> None:
    try:
        timestamp_us = decode_cursor(text)
    except ReportRefused as refused:
        code = refused.code
    else:
        code = "" if encode_cursor(timestamp_us) == text else "misread"
    assert code in {"", "history_cursor_invalid"}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64!",
        _b64(b"h1:"),
        _b64(b"h1:-5"),
        _b64(b"h1:007"),  # another spelling of 7
        _b64(b"h1:12a"),
        _b64(b"h2:12"),
        _b64(f"h1:{2**63}".encode()),
        _b64(b"h1:12") + "==",  # padded: another spelling
        "A" * (cursor_chars_max + 1),
    ],
)
def test_a_cursor_we_did_not_make_is_refused(cursor: str) -> None:
    with pytest.raises(ReportRefused) as refused:
        decode_cursor(cursor)
    assert refused.value.code == "history_cursor_invalid"
