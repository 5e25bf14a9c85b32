"""Free text the ledger keeps: what ``printable`` lets through can be stored and shown."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.text import printable, printable_lines

chars_max = 40


@given(st.text(max_size=60))
def test_what_passes_is_storable_text_of_its_length(value: str) -> None:
    if printable(value, chars_max):
        value.encode("utf-8")  # no unpaired surrogate
        assert "\x00" not in value
        assert value.strip()
        assert len(value) <= chars_max


@given(
    st.text(min_size=1, max_size=20), st.sampled_from(["\x00", "\x07", "\x1b", "\u202e", "\ud800"])
)
def test_a_control_format_or_surrogate_character_refuses_the_text(value: str, bad: str) -> None:
    assert not printable(value + bad, chars_max)
    assert not printable_lines(value + bad, chars_max)


@pytest.mark.parametrize("value", ["satu\ndua", "satu\r\ndua", "satu dua"])
def test_a_note_may_break_its_lines(value: str) -> None:
    assert printable_lines(value, chars_max)
    assert printable(value, chars_max) is ("\n" not in value)


@pytest.mark.parametrize("value", ["", "  ", "\n", "x" * (chars_max + 1), None, 7])
def test_blank_long_or_not_text_is_refused(value: object) -> None:
    assert not printable(value, chars_max)
    assert not printable_lines(value, chars_max)
