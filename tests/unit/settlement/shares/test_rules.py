"""Share rules as data (settlement/shares/rules.py): the JSON they are stored as, the split of
a released leg per destination, and the cashback in points."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.shares.allotment import Fixed, Percent, Remaining
from settlement.shares.rules import (
    Allotment,
    Destination,
    ShareRule,
    ShareRuleInvalid,
    cashback_points,
    parse_rule,
    rule_json,
    split,
)

DEFAULT_JSON: list[Mapping[str, object]] = [
    {"to": "platform_fee", "percent_bp": 100},
    {"to": "community_fund", "percent_bp": 50},
    {"to": "merchant", "remaining": True},
]


def default_rule(cashback_bp: int = 0, cap: int | None = None) -> ShareRule:
    return parse_rule("default", DEFAULT_JSON, cashback_bp, cap)


def test_the_seeded_default_rule_parses() -> None:
    rule = default_rule()
    assert rule.allotments == (
        Allotment(Destination.PLATFORM_FEE, Percent(100)),
        Allotment(Destination.COMMUNITY_FUND, Percent(50)),
        Allotment(Destination.MERCHANT, Remaining()),
    )
    assert (rule.id, rule.cashback_bp, rule.cashback_cap_units) == ("default", 0, None)


def test_a_fixed_clause_is_decimal_text_per_asset() -> None:
    rule = parse_rule(
        "UM001",
        [
            {"to": "platform_fee", "fixed": {"IDR": "200.00", "PI": "0.0100000"}},
            {"to": "platform_fee", "percent_bp": 100},
            {"to": "merchant", "remaining": True},
        ],
        200,
        500_000,
    )
    fixed = rule.allotments[0].portion
    assert isinstance(fixed, Fixed)
    assert dict(fixed.units) == {"IDR": 20_000, "PI": 100_000}
    assert parse_rule(rule.id, rule_json(rule), 200, 500_000) == rule
    assert rule_json(rule)[0] == {
        "to": "platform_fee",
        "fixed": {"IDR": "200.00", "PI": "0.0100000"},
    }


def test_split_adds_the_clauses_of_one_destination() -> None:
    rule = parse_rule(
        "UM001",
        [
            {"to": "platform_fee", "fixed": {"IDR": "200.00"}},
            {"to": "platform_fee", "percent_bp": 100},
            {"to": "merchant", "remaining": True},
        ],
        0,
        None,
    )
    # Rp 15.000: Rp 200 fixed, then 1% of Rp 14.800.
    assert split(rule, 1_500_000, "IDR") == {
        Destination.PLATFORM_FEE: 20_000 + 14_800,
        Destination.MERCHANT: 1_465_200,
    }
    # A PI leg: the fixed fee names no PI, so only the 1%.
    assert split(rule, 10_000_000, "PI") == {
        Destination.PLATFORM_FEE: 100_000,
        Destination.MERCHANT: 9_900_000,
    }


def test_split_of_bu_tins_plate() -> None:
    assert split(default_rule(), 1_500_000, "IDR") == {
        Destination.PLATFORM_FEE: 15_000,
        Destination.COMMUNITY_FUND: 7_500,
        Destination.MERCHANT: 1_477_500,
    }


@given(st.integers(0, 2**63 - 1), st.sampled_from(["IDR", "PI", "MSC", "MSCP"]))
def test_split_values_always_sum_to_the_total(total: int, asset: str) -> None:
    parts = split(default_rule(), total, asset)
    assert sum(parts.values()) == total
    assert set(parts) == set(Destination)
    assert all(part >= 0 for part in parts.values())


@pytest.mark.parametrize(
    ("clauses", "why"),
    [
        ([{"to": "platform_fee", "percent_bp": 10_000}], "merchant"),
        ([{"to": "merchant", "fixed": {"IDR": "1.00"}}, {"to": "platform_fee", "remaining": True}],
         "merchant"),
        ([{"to": "bank", "remaining": True}], "destination"),
        ([{"to": "merchant", "remaining": True, "percent_bp": 1}], "one of"),
        ([{"to": "merchant", "remaining": True, "note": "x"}], "one of"),
        ([{"to": "merchant"}], "one of"),
        ([{"to": "merchant", "remaining": False}], "true"),
        ([{"to": "merchant", "percent_bp": "100"}], "integer"),
        ([{"to": "merchant", "percent_bp": 100.0}], "integer"),
        ([{"to": "merchant", "percent_bp": 9_000}], "sum to"),
        ([{"to": "merchant", "remaining": True}, {"to": "merchant", "remaining": True}],
         "at most one"),
        ([{"to": "platform_fee", "fixed": {"IDR": 200}}, {"to": "merchant", "remaining": True}],
         "decimal string"),
        ([{"to": "platform_fee", "fixed": {"IDR": "2.001"}}, {"to": "merchant", "remaining": True}],
         "amount_too_precise"),
        ([{"to": "platform_fee", "fixed": {"IDR": "0"}}, {"to": "merchant", "remaining": True}],
         "amount_out_of_range"),
        ([{"to": "platform_fee", "fixed": {"XYZ": "1"}}, {"to": "merchant", "remaining": True}],
         "asset_unknown"),
        ([{"to": "platform_fee", "fixed": {}}, {"to": "merchant", "remaining": True}], "fixed"),
        (["merchant"], "object"),
        ([], "portions"),
    ],
)  # fmt: skip
def test_invalid_rules_are_refused(clauses: Sequence[Mapping[str, object]], why: str) -> None:
    with pytest.raises(ShareRuleInvalid, match=why) as refused:
        parse_rule("UM001", clauses, 0, None)
    assert refused.value.code == "share_rule_invalid"


@pytest.mark.parametrize(
    ("rule_id", "bp", "cap"),
    [("", 0, None), ("a b", 0, None), ("x" * 33, 0, None), ("UM001", -1, None),
     ("UM001", 10_001, None), ("UM001", True, None), ("UM001", 0, 0), ("UM001", 0, 2**63)],
)  # fmt: skip
def test_invalid_ids_and_cashback_are_refused(rule_id: str, bp: int, cap: int | None) -> None:
    with pytest.raises(ShareRuleInvalid):
        parse_rule(rule_id, DEFAULT_JSON, bp, cap)


def test_a_rule_is_a_list_not_text() -> None:
    with pytest.raises(ShareRuleInvalid, match="list"):
        parse_rule("UM001", '[{"to": "merchant", "remaining": true}]', 0, None)  # type: ignore[arg-type]


def test_cashback_is_floored_capped_and_floored_again() -> None:
    rule = default_rule(cashback_bp=200, cap=20_000)  # 2%, at most Rp 200
    # Rp 15.000 paid: 2% is Rp 300, capped at Rp 200; at Rp 500 a point, 0.4 point -> 0.
    assert cashback_points(rule, 1_500_000, 50_000) == 0
    # At Rp 50 a point: Rp 200 is 4 points.
    assert cashback_points(rule, 1_500_000, 5_000) == 4
    # Rp 9.999 paid, 2% = Rp 199,98, at Rp 1 a point: 199 points (the 0.98 stays).
    assert cashback_points(rule, 999_900, 100) == 199
    assert cashback_points(default_rule(), 1_500_000, 100) == 0
    assert cashback_points(default_rule(cashback_bp=100), 99, 1) == 0  # 0.99 sen -> 0


@given(
    st.integers(0, 10**12),
    st.integers(0, 10_000),
    st.none() | st.integers(1, 10**9),
    st.integers(1, 10**7),
)
def test_cashback_never_exceeds_its_exact_value(
    paid: int, bp: int, cap: int | None, point_value: int
) -> None:
    points = cashback_points(default_rule(bp, cap), paid, point_value)
    value = Fraction(paid * bp, 10_000)  # the exact cashback in sen
    owed = value if cap is None else min(value, Fraction(cap))
    assert points >= 0
    assert points * point_value <= owed  # never more than the exact, capped value
    assert (points + 1) * point_value > int(owed)  # and no whole point withheld


@pytest.mark.parametrize(("paid", "point_value"), [(-1, 100), (100, 0), (100, -5), (True, 1)])
def test_cashback_of_nonsense_is_an_error(paid: int, point_value: int) -> None:
    with pytest.raises(ValueError, match="sen"):
        cashback_points(default_rule(100), paid, point_value)
