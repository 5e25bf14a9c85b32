"""The one parser of outside amounts: exact or refused with a stable code, never rounded."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escrow import money
from escrow.money import (
    AMOUNT_CHARS_MAX,
    AMOUNT_INVALID,
    AMOUNT_OUT_OF_RANGE,
    AMOUNT_TOO_PRECISE,
    SCALE_MAX,
    UNITS_MAX,
    AmountRefused,
    format_amount,
    parse_amount,
)

SCALES = st.integers(min_value=0, max_value=SCALE_MAX)
UNITS = st.integers(min_value=1, max_value=UNITS_MAX)
DIGITS = st.text(st.sampled_from("0123456789"), min_size=1, max_size=20)


def refused(text: str, scale: int, *, allow_zero: bool = False) -> str:
    with pytest.raises(AmountRefused) as caught:
        parse_amount(text, scale, allow_zero=allow_zero)
    return caught.value.code


def outcome(text: str, scale: int, *, allow_zero: bool) -> int | str:
    """The units, or the refusal's code; any other exception escapes and fails the test."""
    try:
        return parse_amount(text, scale, allow_zero=allow_zero)
    except AmountRefused as refusal:
        return refusal.code


@given(UNITS, SCALES)
def test_format_then_parse_is_the_identity_at_every_scale(units: int, scale: int) -> None:
    assert parse_amount(format_amount(units, scale), scale) == units


@given(DIGITS, DIGITS, SCALES)
def test_more_fractional_digits_than_the_scale_is_refused(
    whole: str, fraction: str, scale: int
) -> None:
    text = f"{whole}.{fraction.ljust(scale + 1, '0')}"
    assert refused(text, scale, allow_zero=True) in (AMOUNT_TOO_PRECISE, AMOUNT_INVALID)
    if len(text) <= AMOUNT_CHARS_MAX:
        assert refused(text, scale, allow_zero=True) == AMOUNT_TOO_PRECISE


@given(st.text(max_size=100), SCALES, st.booleans())
def test_arbitrary_text_is_parsed_or_refused_and_nothing_else(
    text: str, scale: int, allow_zero: bool
) -> None:
    result = outcome(text, scale, allow_zero=allow_zero)
    if isinstance(result, str):
        assert result in (AMOUNT_INVALID, AMOUNT_TOO_PRECISE, AMOUNT_OUT_OF_RANGE)
    else:
        assert (0 if allow_zero else 1) <= result <= UNITS_MAX


@given(st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,20})?[eE][+-]?[0-9]{1,12}", fullmatch=True), SCALES)
def test_exponents_are_exact_or_refused(text: str, scale: int) -> None:
    result = outcome(text, scale, allow_zero=True)
    if isinstance(result, str):
        assert result in (AMOUNT_TOO_PRECISE, AMOUNT_OUT_OF_RANGE)
    else:
        assert 0 <= result <= UNITS_MAX


@pytest.mark.parametrize(
    ("text", "scale", "units"),
    [("15000.50", 2, 1_500_050), ("15000", 2, 1_500_000), ("3.1415926", 7, 31_415_926),
     ("1E-7", 7, 1), ("1.5e1", 0, 15), (str(UNITS_MAX), 0, UNITS_MAX),
     ("92233720368547758.07", 2, UNITS_MAX)],
)  # fmt: skip
def test_exact_amounts(text: str, scale: int, units: int) -> None:
    assert parse_amount(text, scale) == units


@pytest.mark.parametrize(
    ("text", "scale", "code"),
    [("1.0000000000000000000000000000001", 2, AMOUNT_TOO_PRECISE),
     ("1e999999999", 2, AMOUNT_OUT_OF_RANGE), ("1e-999999999", 2, AMOUNT_TOO_PRECISE),
     ("0e-999999999", 0, AMOUNT_TOO_PRECISE), ("1.000", 2, AMOUNT_TOO_PRECISE),
     ("9223372036854775808", 0, AMOUNT_OUT_OF_RANGE), ("0", 2, AMOUNT_OUT_OF_RANGE),
     ("0.00", 2, AMOUNT_OUT_OF_RANGE), ("NaN", 2, AMOUNT_INVALID), ("sNaN", 2, AMOUNT_INVALID),
     ("Infinity", 2, AMOUNT_INVALID), ("-1", 2, AMOUNT_INVALID), ("+1", 2, AMOUNT_INVALID),
     ("-0", 2, AMOUNT_INVALID), (" 1", 2, AMOUNT_INVALID), ("1\n", 2, AMOUNT_INVALID),
     ("1_000", 2, AMOUNT_INVALID), ("\u0661", 2, AMOUNT_INVALID), ("1.", 2, AMOUNT_INVALID),
     (".5", 2, AMOUNT_INVALID), ("", 2, AMOUNT_INVALID), ("1" * 65, 0, AMOUNT_INVALID)],
)  # fmt: skip
def test_refusals_have_stable_codes(text: str, scale: int, code: str) -> None:
    assert refused(text, scale) == code


def test_zero_only_when_allowed() -> None:
    assert parse_amount("0", 2, allow_zero=True) == 0
    assert parse_amount("0.00", 2, allow_zero=True) == 0


def test_a_refusal_is_a_value_error() -> None:
    assert issubclass(AmountRefused, ValueError)


@pytest.mark.parametrize("scale", [-1, SCALE_MAX + 1, True])
def test_a_scale_outside_the_known_assets_is_a_programmer_error(scale: int) -> None:
    with pytest.raises(ValueError, match="scale"):
        parse_amount("1", scale)


@given(DIGITS, st.one_of(st.none(), DIGITS), SCALES)
def test_plain_text_is_read_in_integers_exactly_as_the_decimal_context_reads_it(
    whole: str, fraction: str | None, scale: int
) -> None:
    """The integer reading of digits-point-digits (the common case) and the exact Decimal
    context (kept for exponents) agree on every plain text: the same units or the same code."""
    text = whole if fraction is None else f"{whole}.{fraction}"
    answers = []
    for read in (money._plain_units, money._exp_units):
        try:
            answers.append(read(text, scale))
        except AmountRefused as refused:
            answers.append(refused.code)
    assert answers[0] == answers[1]
