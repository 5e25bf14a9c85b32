"""The one asset vocabulary: the registry, ``Money`` arithmetic within one asset, display text."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escrow.model import Asset
from escrow.money import (
    AMOUNT_OUT_OF_RANGE,
    ASSET_MISMATCH,
    ASSET_UNKNOWN,
    ASSETS,
    IDR,
    MSC,
    MSCP,
    PI,
    UNITS_MAX,
    AmountRefused,
    AssetRefused,
    Money,
    asset,
    format_idr_display,
    parse_amount,
)

ASSET_LIST = st.sampled_from(sorted(ASSETS.values(), key=lambda a: a.code))
UNITS = st.integers(min_value=0, max_value=UNITS_MAX)


def test_the_four_assets_and_their_scales() -> None:
    assert {a.code: a.scale for a in ASSETS.values()} == {"IDR": 2, "PI": 7, "MSC": 2, "MSCP": 0}
    assert (asset("IDR"), asset("PI"), asset("MSC"), asset("MSCP")) == (IDR, PI, MSC, MSCP)


@pytest.mark.parametrize("code", ["", "idr", "USD", "PI ", "BTC"])
def test_an_unknown_asset_code_is_refused_with_a_stable_code(code: str) -> None:
    with pytest.raises(AssetRefused) as caught:
        asset(code)
    assert caught.value.code == ASSET_UNKNOWN
    assert isinstance(caught.value, ValueError)


@given(ASSET_LIST, UNITS)
def test_format_then_parse_is_the_identity_per_asset(of: Asset, units: int) -> None:
    money = Money(of, units)
    assert Money.parse(str(money), of, allow_zero=True) == money
    assert money.to_decimal().as_tuple().exponent == -of.scale
    assert Money.parse(str(money.to_decimal()), of, allow_zero=True) == money


@given(UNITS)
def test_the_display_of_any_rupiah_amount_reads_back_exactly(units: int) -> None:
    shown = format_idr_display(Money(IDR, units))
    assert shown.startswith("Rp ")
    decimal_text = shown.removeprefix("Rp ").replace(".", "").replace(",", ".")
    assert parse_amount(decimal_text, IDR.scale, allow_zero=True) == units


@pytest.mark.parametrize(
    ("units", "shown"),
    [
        (0, "Rp 0"),
        (50, "Rp 0,50"),
        (1_500_000, "Rp 15.000"),
        (1_500_050, "Rp 15.000,50"),
        (123_456_789_01, "Rp 123.456.789,01"),
    ],
)
def test_display_is_indonesian_style(units: int, shown: str) -> None:
    assert format_idr_display(Money(IDR, units)) == shown


def test_display_refuses_an_asset_that_is_not_rupiah() -> None:
    with pytest.raises(AssetRefused) as caught:
        format_idr_display(Money(MSC, 100))
    assert caught.value.code == ASSET_MISMATCH


@given(ASSET_LIST, ASSET_LIST, UNITS, UNITS)
def test_arithmetic_never_mixes_assets(a: Asset, b: Asset, x: int, y: int) -> None:
    left, right = Money(a, x), Money(b, y)
    if a == b:
        assert (left < right) == (x < y)
        assert (left >= right) == (x >= y)
        return
    for operation in (
        lambda: left + right,
        lambda: left - right,
        lambda: left < right,
        lambda: left >= right,
    ):
        with pytest.raises(AssetRefused) as caught:
            operation()
        assert caught.value.code == ASSET_MISMATCH


@given(ASSET_LIST, UNITS, UNITS)
def test_arithmetic_within_an_asset_is_integer_arithmetic(of: Asset, x: int, y: int) -> None:
    small, large = sorted((x, y))
    assert (Money(of, large) - Money(of, small)).units == large - small
    assert (Money(of, small) <= Money(of, large)) is True
    if x + y <= UNITS_MAX:
        assert (Money(of, x) + Money(of, y)).units == x + y
    else:
        with pytest.raises(AmountRefused):
            Money(of, x) + Money(of, y)


@pytest.mark.parametrize("units", [-1, UNITS_MAX + 1, True, 1.5])
def test_money_refuses_units_that_are_no_ledger_amount(units: object) -> None:
    with pytest.raises(AmountRefused):
        Money(PI, units)  # type: ignore[arg-type]


def test_money_below_zero_is_refused() -> None:
    with pytest.raises(AmountRefused) as caught:
        Money(MSCP, 1) - Money(MSCP, 2)
    assert caught.value.code == AMOUNT_OUT_OF_RANGE
