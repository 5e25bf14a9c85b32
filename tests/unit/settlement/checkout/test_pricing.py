"""How a price becomes legs: the split always sums to the price, QRIS legs are whole Rupiah, and
every leg's amount covers the Rupiah it stands for (rounded in the ledger's favour)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from settlement.checkout.errors import CheckoutRefused
from settlement.checkout.pricing import TenderShare, parse_price, pi_units_for, plan_legs
from settlement.tenders import Tender

PI_WHOLE = 10**7


@st.composite
def splits(draw: st.DrawFn) -> list[TenderShare]:
    tenders = draw(st.lists(st.sampled_from(list(Tender)), min_size=1, max_size=4, unique=True))
    cuts = sorted(
        draw(
            st.lists(
                st.integers(1, 9_999),
                min_size=len(tenders) - 1,
                max_size=len(tenders) - 1,
                unique=True,
            )
        )
    )
    bounds = [0, *cuts, 10_000]
    return [TenderShare(t, bounds[i + 1] - bounds[i]) for i, t in enumerate(tenders)]


@given(
    payable=st.integers(10_000, 10_000_000_00),
    shares=splits(),
    price_per_pi=st.integers(1, 10**9),
    point_value=st.integers(1, 10**6),
)
def test_the_legs_cover_the_price_exactly(
    payable: int, shares: list[TenderShare], price_per_pi: int, point_value: int
) -> None:
    try:
        legs = plan_legs(
            payable, shares, idr_units_per_pi=price_per_pi, idr_units_per_point=point_value
        )
    except CheckoutRefused as refused:
        refusal = refused.code
        assert refusal in ("checkout_split_invalid", "checkout_amount_out_of_range")
        return
    assert sum(leg.idr_units for leg in legs) == payable
    for leg in legs:
        if leg.tender is Tender.QRIS:
            assert leg.idr_units % 100 == 0 or all(s.tender is Tender.QRIS for s in shares)
            assert leg.amount_units == leg.idr_units
        elif leg.tender is Tender.PI:
            assert leg.amount_units * price_per_pi >= leg.idr_units * PI_WHOLE
            assert (leg.amount_units - 1) * price_per_pi < leg.idr_units * PI_WHOLE
        elif leg.tender is Tender.MSCP:
            assert leg.amount_units * point_value >= leg.idr_units
            assert (leg.amount_units - 1) * point_value < leg.idr_units
        else:
            assert leg.amount_units == leg.idr_units


def test_bu_tins_plate() -> None:
    pi, qris = plan_legs(
        1_500_000,
        [TenderShare(Tender.PI, 5000), TenderShare(Tender.QRIS, 5000)],
        idr_units_per_pi=500_000,
        idr_units_per_point=None,
    )
    assert (pi.idr_units, pi.amount_units) == (750_000, 15_000_000)
    assert (qris.idr_units, qris.amount_units) == (750_000, 750_000)


def test_the_sen_of_a_split_go_to_the_leg_that_can_carry_them() -> None:
    qris, pi = plan_legs(
        1_500_101,
        [TenderShare(Tender.QRIS, 5000), TenderShare(Tender.PI, 5000)],
        idr_units_per_pi=500_000,
        idr_units_per_point=None,
    )
    assert qris.idr_units == 750_000
    assert pi.idr_units == 750_101
    with pytest.raises(CheckoutRefused) as refused:
        plan_legs(
            1_500_001,
            [TenderShare(Tender.QRIS, 10_000)],
            idr_units_per_pi=None,
            idr_units_per_point=None,
        )
    assert refused.value.code == "checkout_split_invalid"


def test_a_pi_amount_is_rounded_up() -> None:
    assert pi_units_for(1, 300_000) == 34  # 1 sen at Rp 3.000 per Pi: 33.33.. -> 34 units
    assert pi_units_for(300_000, 300_000) == PI_WHOLE


@pytest.mark.parametrize(
    "text", ["1e4", "15000", "15000.0", "015000.00", "+1.00", " 1.00", "1.000", "1,00"]
)
def test_a_price_is_plain_decimal_text_with_two_decimals(text: str) -> None:
    with pytest.raises(CheckoutRefused) as refused:
        parse_price(text, "IDR")
    assert refused.value.code == "checkout_amount_invalid"
    assert parse_price("15000.00", "IDR") == 1_500_000
