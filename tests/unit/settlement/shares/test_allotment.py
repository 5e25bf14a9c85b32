"""The allotment rule (settlement/shares/allotment.py): parts sum to the whole, each within one
unit of its exact share, leftovers by largest remainder then clause order."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.shares.allotment import (
    BP_WHOLE,
    AllotmentInvalid,
    Fixed,
    Percent,
    Portion,
    Remaining,
    allot,
    portions_max,
)

ASSET = "IDR"


@st.composite
def bp_pieces(draw: st.DrawFn, pieces: int) -> list[int]:
    """``pieces`` positive basis points summing to 10000."""
    cuts = draw(
        st.lists(
            st.integers(1, BP_WHOLE - 1), min_size=pieces - 1, max_size=pieces - 1, unique=True
        )
    )
    bounds = [0, *sorted(cuts), BP_WHOLE]
    return [b - a for a, b in itertools.pairwise(bounds)]


@st.composite
def allotments(draw: st.DrawFn) -> list[Portion]:
    """Valid portions in any order: fixed ones, percents, and at most one remaining."""
    with_remaining = draw(st.booleans())
    fixed_count = draw(st.integers(0, 3))
    percent_count = draw(st.integers(0 if with_remaining else 1, 4))
    pieces = draw(bp_pieces(percent_count + (1 if with_remaining else 0)))
    portions: list[Portion] = [Percent(bp) for bp in pieces[:percent_count]]
    if with_remaining:
        portions.append(Remaining())
    for _ in range(fixed_count):
        units = draw(st.dictionaries(st.sampled_from(["IDR", "PI"]), st.integers(0, 10**6)))
        portions.append(Fixed(units))
    return draw(st.permutations(portions))


totals = st.one_of(st.integers(0, 1000), st.integers(0, 2**63 - 1))


def exact_shares(total: int, portions: list[Portion]) -> list[Fraction]:
    """Each portion's exact share (the reference, in rationals)."""
    shares: list[Fraction] = []
    left = total
    for portion in portions:
        if isinstance(portion, Fixed):
            taken = min(portion.units.get(ASSET, 0), left)
            left -= taken
            shares.append(Fraction(taken))
        else:
            shares.append(Fraction(0))
    percent_bp = sum(p.bp for p in portions if isinstance(p, Percent))
    for i, portion in enumerate(portions):
        if isinstance(portion, Percent):
            shares[i] = Fraction(left * portion.bp, BP_WHOLE)
        elif isinstance(portion, Remaining):
            shares[i] = Fraction(left * (BP_WHOLE - percent_bp), BP_WHOLE)
    return shares


@given(totals, allotments())
def test_parts_sum_to_the_whole_and_none_is_negative(total: int, portions: list[Portion]) -> None:
    parts = allot(total, portions, ASSET)
    assert len(parts) == len(portions)
    assert sum(parts) == total
    assert all(isinstance(part, int) and part >= 0 for part in parts)


@given(totals, allotments())
def test_each_part_is_its_exact_share_rounded_down_or_up(
    total: int, portions: list[Portion]
) -> None:
    parts = allot(total, portions, ASSET)
    for part, share in zip(parts, exact_shares(total, portions), strict=True):
        assert abs(part - share) < 1
        assert part in (math.floor(share), math.ceil(share))


@given(totals, allotments())
def test_fixed_parts_are_exact_and_never_take_a_leftover(
    total: int, portions: list[Portion]
) -> None:
    parts = allot(total, portions, ASSET)
    left = total
    for part, portion in zip(parts, portions, strict=True):
        if isinstance(portion, Fixed):
            assert part == min(portion.units.get(ASSET, 0), left)
            left -= part


@given(totals, allotments())
def test_leftover_units_go_by_largest_remainder_then_clause_order(
    total: int, portions: list[Portion]
) -> None:
    parts = allot(total, portions, ASSET)
    shares = exact_shares(total, portions)
    rounded = [
        (share - int(share), i, part > share)
        for i, (part, share) in enumerate(zip(parts, shares, strict=True))
        if not isinstance(portions[i], Fixed)
    ]
    for fraction_up, i, up in rounded:
        for fraction_down, j, other_up in rounded:
            if up and not other_up:
                assert (fraction_up, -i) > (fraction_down, -j)


@given(totals, allotments())
def test_the_same_input_gives_the_same_parts(total: int, portions: list[Portion]) -> None:
    assert allot(total, portions, ASSET) == allot(total, list(portions), ASSET)


def test_rp_15000_one_percent_half_percent_and_the_rest() -> None:
    portions: list[Portion] = [Percent(100), Percent(50), Remaining()]
    assert allot(1_500_000, portions, ASSET) == [15_000, 7_500, 1_477_500]


def test_a_leftover_sen_goes_to_the_largest_fraction() -> None:
    # Rp 15.000,50: 15000.5 / 7500.25 / 1477549.25 sen; the one leftover sen goes to the 0.5.
    portions: list[Portion] = [Percent(100), Percent(50), Remaining()]
    assert allot(1_500_050, portions, ASSET) == [15_001, 7_500, 1_477_549]


def test_one_sen_split_three_ways() -> None:
    # Thirds as basis points: 0.3333 / 0.3333 / 0.3334; the largest fraction takes the sen.
    assert allot(1, [Percent(3333), Percent(3333), Remaining()], ASSET) == [0, 0, 1]
    # Equal fractions: the first clause takes it.
    assert allot(1, [Percent(5000), Percent(5000)], ASSET) == [1, 0]
    assert allot(2, [Percent(3334), Percent(3333), Percent(3333)], ASSET) == [1, 1, 0]
    # The default rule gives one sen to the merchant (0.985), not to the fee (0.01).
    assert allot(1, [Percent(100), Percent(50), Remaining()], ASSET) == [0, 0, 1]


def test_numscripts_fixed_fee_pitfall_does_not_happen() -> None:
    # Numscript's docs: 1999 split 7 fixed + 0.6% + 0.5% + remaining gives the fixed fee 8.
    portions: list[Portion] = [Fixed({"IDR": 7}), Percent(60), Percent(50), Remaining()]
    parts = allot(1999, portions, ASSET)
    assert parts[0] == 7
    assert parts == [7, 12, 10, 1970]  # base 1992: 11.952, 9.96, 1970.088
    assert sum(parts) == 1999


def test_fixed_parts_are_capped_by_the_total_in_clause_order() -> None:
    portions: list[Portion] = [Fixed({"IDR": 300}), Fixed({"IDR": 300}), Remaining()]
    assert allot(500, portions, ASSET) == [300, 200, 0]
    assert allot(500, [Fixed({"PI": 300}), Remaining()], ASSET) == [0, 500]
    assert allot(0, [Percent(100), Remaining()], ASSET) == [0, 0]


@pytest.mark.parametrize(
    "portions",
    [
        [],
        [Percent(100)],
        [Percent(5000), Percent(5001)],
        [Percent(0), Remaining()],
        [Percent(10_001)],
        [Remaining(), Remaining()],
        [Percent(10_000), Remaining()],
        [Fixed({"IDR": 100})],
        [Fixed({"IDR": -1}), Remaining()],
        [Percent(True), Remaining()],  # type: ignore[arg-type]
        [Remaining()] * 1 + [Fixed({})] * portions_max,
        ["half"],  # type: ignore[list-item]
    ],
)
def test_invalid_portions_are_refused(portions: list[Portion]) -> None:
    with pytest.raises(AllotmentInvalid) as refused:
        allot(100, portions, ASSET)
    assert refused.value.code == "share_rule_invalid"


@pytest.mark.parametrize("total", [-1, True, 1.5])
def test_a_total_is_whole_units(total: object) -> None:
    with pytest.raises(ValueError, match="total"):
        allot(total, [Remaining()], ASSET)  # type: ignore[arg-type]
