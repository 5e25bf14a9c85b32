"""Amount text of the read models: exact, signed, and the Indonesian display of every asset."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escrow.money import ASSETS, UNITS_MAX, parse_amount
from settlement.reports import amount_display, amount_text


@given(st.sampled_from(sorted(ASSETS)), st.integers(-UNITS_MAX, UNITS_MAX))
def test_amount_text_is_exact_and_signed(code: str, units: int) -> None:
    shown = amount_text(units, code)
    assert shown.startswith("-") == (units < 0)
    assert parse_amount(shown.removeprefix("-"), ASSETS[code].scale, allow_zero=True) == abs(units)


@given(st.sampled_from(sorted(ASSETS)), st.integers(-UNITS_MAX, UNITS_MAX))
def test_the_display_reads_back_to_the_same_units(code: str, units: int) -> None:
    shown = amount_display(units, code)
    number = shown.removeprefix("-").removeprefix("Rp ").removesuffix(f" {code}")
    text = number.replace(".", "").replace(",", ".")
    scale = ASSETS[code].scale
    if code == "IDR" and "." not in text and scale:
        text += "." + "0" * scale  # whole rupiah are shown without sen
    assert parse_amount(text, scale, allow_zero=True) == abs(units)
    assert shown.startswith("-") == (units < 0)


@pytest.mark.parametrize(
    ("units", "code", "shown"),
    [
        (1_500_000, "IDR", "Rp 15.000"),
        (1_500_050, "IDR", "Rp 15.000,50"),
        (-1_500_000, "IDR", "-Rp 15.000"),
        (5_000_000, "PI", "0,5000000 PI"),
        (12_345_000_000_000, "PI", "1.234.500,0000000 PI"),
        (1_500_000, "MSC", "15.000,00 MSC"),
        (1500, "MSCP", "1.500 MSCP"),
        (0, "MSCP", "0 MSCP"),
    ],
)
def test_amounts_are_shown_as_people_in_indonesia_read_them(
    units: int, code: str, shown: str
) -> None:
    assert amount_display(units, code) == shown
