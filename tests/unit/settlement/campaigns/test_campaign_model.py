"""Campaigns without a database: the request's checks, the window, the floored discount, and
the budget as a ledger account (memory ledger): reserved discounts always post."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escrow.clock import FixedClock
from escrow.memory import MemoryLedger
from escrow.model import ResultCode, TransferFlags, TransferRequest
from settlement import chart
from settlement.campaigns.model import (
    CampaignRefused,
    CampaignRequest,
    Reservation,
    checked,
)
from settlement.campaigns.service import post_discount_request, void_discount_request
from settlement.chart import TransferCode

REQUEST = CampaignRequest(
    id="pz-juni",
    name="Pi-Zone Juni",
    discount_bp=2_000,
    budget_units=100_000,
    cap_per_pioneer_day_units=50_000,
    cap_per_merchant_day_units=80_000,
    merchant_ids=frozenset({"UM001"}),
    starts_at_us=1_000,
    ends_at_us=2_000,
)


def test_a_valid_request_is_the_campaign() -> None:
    campaign = checked(REQUEST)
    assert (campaign.id, campaign.discount_bp, campaign.merchant_ids) == (
        "pz-juni", 2_000, frozenset({"UM001"}),
    )  # fmt: skip
    assert [campaign.open_at(t) for t in (999, 1_000, 1_999, 2_000)] == [False, True, True, False]
    assert campaign.applies_to("UM001")
    assert not campaign.applies_to("UM002")
    assert checked(replace(REQUEST, merchant_ids=None)).applies_to("UM002")


@given(st.integers(1, 2**62), st.integers(1, 5_000))
def test_the_discount_is_floored_and_less_than_the_price(price: int, bp: int) -> None:
    discount = checked(replace(REQUEST, discount_bp=bp)).discount_of(price)
    assert discount == price * bp // 10_000
    assert 0 <= discount * 10_000 <= price * bp
    assert discount < price


@pytest.mark.parametrize(
    "fields",
    [{"discount_bp": 5_001}, {"discount_bp": 0}, {"budget_units": 2**63},
     {"starts_at_us": 2_000}, {"name": "x" * 101}, {"merchant_ids": frozenset({""})}],
)  # fmt: skip
def test_invalid_requests_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(CampaignRefused) as refused:
        checked(replace(REQUEST, **fields))  # type: ignore[arg-type]
    assert refused.value.code == "campaign_invalid"


def _ledger_with_budget(units: int) -> tuple[MemoryLedger, str]:
    ledger = MemoryLedger(FixedClock(1_780_000_000_000_000), policy=chart.CHART)
    funding = chart.open_account(ledger, chart.campaign_funding()).code
    budget = chart.open_account(ledger, chart.campaign_budget("pz-juni")).code
    chart.open_account(ledger, chart.merchant_balance("UM001", "IDR"))
    funded = TransferRequest(uuid.uuid4(), funding, budget, units, "IDR",
                             TransferCode.CAMPAIGN_FUNDED)  # fmt: skip
    assert ledger.post(funded).ok
    return ledger, budget


def _hold(ledger: MemoryLedger, checkout: str, units: int) -> tuple[ResultCode, Reservation]:
    r = Reservation(checkout, "pz-juni", units, uuid.uuid4(), "campaign:pz-juni:IDR",
                    "merchant:UM001:IDR")  # fmt: skip
    pending = TransferRequest(r.transfer_id, r.budget_account, r.merchant_account, units, "IDR",
                              TransferCode.CAMPAIGN_DISCOUNT, TransferFlags.PENDING)  # fmt: skip
    return ledger.post(pending).code, r


def test_reserved_discounts_post_after_the_budget_refused_more() -> None:
    ledger, budget = _ledger_with_budget(1_000)
    results = [_hold(ledger, f"co_{n}", 400) for n in range(3)]
    assert [code for code, _ in results] == [
        ResultCode.OK,
        ResultCode.OK,
        ResultCode.EXCEEDS_CREDITS,
    ]
    assert ledger.balance(budget).available == 200
    for _, r in results[:2]:
        assert ledger.post(post_discount_request(r)).ok
    assert ledger.balance(budget).posted == 200
    assert ledger.balance("merchant:UM001:IDR").posted == 800


def test_a_void_returns_the_discount_and_requests_are_stable() -> None:
    ledger, budget = _ledger_with_budget(400)
    _, r = _hold(ledger, "co_1", 400)
    void = void_discount_request(r)
    assert void == void_discount_request(r)
    assert (void.flags, void.amount, void.pending_id) == (
        TransferFlags.VOID_PENDING,
        0,
        r.transfer_id,
    )
    assert ledger.post(void).ok
    assert ledger.balance(budget).available == 400
    assert ledger.post(post_discount_request(r)).code == ResultCode.PENDING_ALREADY_VOIDED
    post = post_discount_request(r)
    assert (post.flags, post.amount, post.code) == (
        TransferFlags.POST_PENDING,
        400,
        "campaign.discount",
    )
    assert post.id != void.id != r.transfer_id
