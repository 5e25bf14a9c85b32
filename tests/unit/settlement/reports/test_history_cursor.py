"""The history cursor: opaque, one spelling per set of positions, and nothing else is accepted;
the first cursors (one timestamp for every account) still read as they were meant."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escrow.model import amount_max
from settlement.reports import MERCHANT_ASSETS, ReportRefused
from settlement.reports.history import cursor_chars_max, decode_cursor, encode_cursor

POSITIONS = st.dictionaries(st.sampled_from(MERCHANT_ASSETS), st.integers(1, amount_max))


@given(POSITIONS)
def test_a_cursor_resumes_where_it_was_made(positions: dict[str, int]) -> None:
    cursor = encode_cursor(positions)
    assert len(cursor) <= cursor_chars_max
    assert cursor.replace("-", "").replace("_", "").isalnum()
    assert decode_cursor(cursor) == positions


@given(st.integers(0, amount_max))
def test_a_first_cursor_resumes_every_account_after_its_timestamp(timestamp_us: int) -> None:
    cursor = _b64(f"h1:{timestamp_us}".encode())
    assert decode_cursor(cursor) == dict.fromkeys(MERCHANT_ASSETS, timestamp_us)


@given(st.text(max_size=80))
def test_any_other_text_is_refused_or_is_a_cursor_we_made(text: str) -> None:
    try:
        positions = decode_cursor(text)
    except ReportRefused as refused:
        code = refused.code
    else:
        first = set(positions.values()) == {positions.get("IDR")} and len(positions) == len(
            MERCHANT_ASSETS
        )
        spelt = {encode_cursor(positions)}
        if first:
            spelt.add(_b64(f"h1:{positions['IDR']}".encode()))
        code = "" if text in spelt else "misread"
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
        _b64(b"h2:IDR=0"),  # nothing shown is spelt by leaving the account out
        _b64(b"h2:PI=5;IDR=7"),  # the chart's order only
        _b64(b"h2:IDR=7;IDR=8"),
        _b64(b"h2:BTC=7"),
        _b64(b"h2:IDR=07"),
        _b64(f"h2:IDR={2**63}".encode()),
        _b64(f"h1:{2**63}".encode()),
        _b64(b"h1:12") + "==",  # padded: another spelling
        "A" * (cursor_chars_max + 1),
    ],
)
def test_a_cursor_we_did_not_make_is_refused(cursor: str) -> None:
    with pytest.raises(ReportRefused) as refused:
        decode_cursor(cursor)
    assert refused.value.code == "history_cursor_invalid"
