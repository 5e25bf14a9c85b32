from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chain.pi.amounts import to_decimal, to_str, to_units, units_max
from chain.pi.errors import PiInputError
from chain.pi.ids import check_address, check_payment_id, check_txid


@given(st.integers(min_value=1, max_value=units_max))
def test_units_round_trip_through_decimal_string(units: int) -> None:
    assert to_units(to_str(units)) == units
    assert to_units(to_decimal(units)) == units


def test_pi_amount_is_exact_at_seven_decimals() -> None:
    assert to_units("3.1415926") == 31_415_926
    assert to_units(Decimal("1")) == 10_000_000
    assert to_str(31_415_926) == "3.1415926"


@pytest.mark.parametrize("bad", ["3.14159265", "0", "-1", "NaN", "Infinity", "abc", "1e30"])
def test_amounts_refused(bad: str) -> None:
    with pytest.raises(PiInputError):
        to_units(bad)


def test_zero_balance_allowed_only_when_asked() -> None:
    assert to_units("0.0000000", allow_zero=True) == 0


@pytest.mark.parametrize("bad", ["", "a" * 29, "has space", "semi;colon", "../x", "é"])
def test_payment_id_shape(bad: str) -> None:
    with pytest.raises(PiInputError) as info:
        check_payment_id(bad)
    assert info.value.code == "pi_bad_payment_id"


@pytest.mark.parametrize("bad", ["", "A" * 64, "g" * 64, "a" * 63, "a" * 65])
def test_txid_shape(bad: str) -> None:
    with pytest.raises(PiInputError):
        check_txid(bad)


def test_good_identifiers_pass() -> None:
    assert check_payment_id("kZBjJ4dAq8lTbK2f5bVr0rM3pV1c")
    assert check_txid("5408e032890445b0bcb96913e37f326dc2c5573ff7221d3402ed450b324a4a3c")
    assert check_address("GDNDEI3B7PZCHUBXEFDE6G2F2J2DWEXFLDTBCYCGH7O2ECA36A4QTAIO")
    with pytest.raises(PiInputError):
        check_address("GDNDEI3B7PZCHUBXEFDE6G2F2J2DWEXFLDTBCYCGH7O2ECA36A4QTAIA")


@pytest.mark.parametrize(
    ("bad", "code"),
    [("1.0000000000000000000000000000001", "amount_too_precise"),
     ("1e999999999", "amount_out_of_range"), (Decimal("1e999999999"), "amount_out_of_range"),
     ("1.00000000", "amount_too_precise"), ("sNaN", "amount_invalid")],
)  # fmt: skip
def test_amounts_are_never_rounded(bad: str | Decimal, code: str) -> None:
    with pytest.raises(PiInputError) as caught:
        to_units(bad)
    assert caught.value.code == code
