"""Pi-Zone campaigns on PostgreSQL: funding at creation, the window, the merchants, the daily
caps per Pioneer and per merchant (WIB), and a budget that refuses new discounts when it is
exhausted yet always pays the ones it already reserved."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from sqlalchemy import Connection, text

from escrow.clock import FixedClock
from escrow.model import TransferFlags, transfer_id
from settlement import chart
from settlement.campaigns.model import CampaignRefused, CampaignRequest, Reservation
from settlement.campaigns.service import (
    create_campaign,
    find_campaign,
    list_campaigns,
    mark_reservation,
    post_discount_request,
    reservation,
    reserve_discount,
    void_discount_request,
)
from settlement.unit_of_work import UnitOfWork, bind
from tests.integration.shares.conftest import insert_merchant

pytestmark = pytest.mark.integration
HOUR_S = 3600
DAY_US = 24 * HOUR_S * 1_000_000


def _request(clock: FixedClock, **fields: object) -> CampaignRequest:
    now = clock.now_us()
    request = CampaignRequest(
        id=f"pz-{uuid.uuid4().hex[:12]}",
        name="Pi-Zone Madiun",
        discount_bp=1_000,  # 10%
        budget_units=10_000_000,  # Rp 100.000
        cap_per_pioneer_day_units=300_000,  # Rp 3.000
        cap_per_merchant_day_units=1_000_000,  # Rp 10.000
        merchant_ids=None,
        starts_at_us=now - HOUR_S * 1_000_000,
        ends_at_us=now + 10 * DAY_US,
    )
    return replace(request, **fields)  # type: ignore[arg-type]


def _budget(uow: UnitOfWork, campaign_id: str) -> tuple[int, int]:
    """(posted, available) of the campaign's budget."""
    balance = uow.ledger.balance(chart.campaign_budget(campaign_id).code)
    return balance.posted, balance.available


def _reserve(
    uow: UnitOfWork, campaign_id: str, merchant: str, pioneer: str = "uid-a",
    price: int = 1_500_000, checkout: str | None = None,
) -> Reservation:  # fmt: skip
    return reserve_discount(
        uow,
        campaign_id=campaign_id,
        checkout_id=checkout or f"co_{uuid.uuid4().hex[:16]}",
        merchant_id=merchant,
        pioneer_uid=pioneer,
        price_units=price,
    )


def _written(conn: Connection) -> tuple[int, int, int]:
    """Counts that any write of a reservation would change."""
    row = conn.execute(
        text(
            "SELECT (SELECT count(*) FROM campaign_reservations),"
            " (SELECT count(*) FROM transfers), (SELECT count(*) FROM accounts)"
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


def _refused(
    conn: Connection, code: str, uow: UnitOfWork, campaign_id: str, merchant: str, **kw: object
) -> None:
    before = _written(conn)
    with pytest.raises(CampaignRefused) as refused:
        _reserve(uow, campaign_id, merchant, **kw)  # type: ignore[arg-type]
    assert refused.value.code == code
    assert _written(conn) == before


def test_creating_a_campaign_funds_its_budget(module_conn: Connection, clock: FixedClock) -> None:
    uow = bind(module_conn, clock)
    request = _request(clock)
    campaign = create_campaign(uow, request, by="treasury:ana")
    assert _budget(uow, campaign.id) == (10_000_000, 10_000_000)
    funding = uow.ledger.transfer(transfer_id("campaign.funded", campaign.id))
    assert funding is not None
    assert (funding.code, funding.debit) == ("campaign.funded", chart.campaign_funding().code)
    assert funding.user_data == {"by": "treasury:ana"}
    assert find_campaign(module_conn, campaign.id) == campaign
    assert campaign in list_campaigns(module_conn)


def test_the_same_campaign_again_is_the_same_and_funds_once(
    module_conn: Connection, clock: FixedClock
) -> None:
    uow = bind(module_conn, clock)
    request = _request(clock, merchant_ids=frozenset({"UM001", "UM002"}))
    first = create_campaign(uow, request, by="ana")
    assert create_campaign(uow, request, by="budi") == first
    assert _budget(uow, first.id) == (10_000_000, 10_000_000)
    before = _written(module_conn)
    with pytest.raises(CampaignRefused) as refused:
        create_campaign(uow, replace(request, budget_units=20_000_000), by="ana")
    assert refused.value.code == "campaign_exists"
    assert _written(module_conn) == before
    assert find_campaign(module_conn, first.id) == first


@pytest.mark.parametrize(
    "fields",
    [
        {"discount_bp": 0},
        {"discount_bp": 5_001},
        {"budget_units": 0},
        {"cap_per_pioneer_day_units": -1},
        {"cap_per_merchant_day_units": True},
        {"name": ""},
        {"id": "bad id"},
        {"merchant_ids": frozenset()},
        {"merchant_ids": frozenset({"no spaces"})},
        {"ends_at_us": 0},
    ],
)
def test_an_invalid_campaign_is_refused_and_nothing_is_written(
    module_conn: Connection, clock: FixedClock, fields: dict[str, object]
) -> None:
    before = _written(module_conn)
    count = "SELECT count(*) FROM campaigns"
    campaigns = module_conn.execute(text(count)).scalar_one()
    with pytest.raises(CampaignRefused) as refused:
        create_campaign(bind(module_conn, clock), _request(clock, **fields), by="ana")
    assert refused.value.code == "campaign_invalid"
    assert _written(module_conn) == before
    assert module_conn.execute(text(count)).scalar_one() == campaigns


def test_a_discount_is_a_pending_transfer_from_the_budget_to_the_merchant(
    module_conn: Connection, clock: FixedClock
) -> None:
    uow = bind(module_conn, clock)
    campaign = create_campaign(uow, _request(clock), by="ana")
    merchant = insert_merchant(module_conn)
    held = _reserve(uow, campaign.id, merchant, price=1_500_050, checkout="co_aaaaaaaaaaaa1")
    assert held.discount_units == 150_005  # 10% of Rp 15.000,50, floored
    assert held.transfer_id == transfer_id("campaign.discount", "co_aaaaaaaaaaaa1")
    assert held.budget_account == f"campaign:{campaign.id}:IDR"
    assert held.merchant_account == f"merchant:{merchant}:IDR"
    pending = uow.ledger.transfer(held.transfer_id)
    assert pending is not None
    assert (pending.flags, pending.timeout_s, pending.amount) == (TransferFlags.PENDING, 0, 150_005)
    assert _budget(uow, campaign.id) == (10_000_000, 10_000_000 - 150_005)
    assert reservation(module_conn, "co_aaaaaaaaaaaa1") == held
    # Asked again for the same checkout: the same reservation, nothing new.
    before = _written(module_conn)
    assert (
        _reserve(uow, campaign.id, merchant, price=1_500_050, checkout="co_aaaaaaaaaaaa1") == held
    )
    assert _written(module_conn) == before
    _refused(module_conn, "campaign_reservation_conflict", uow, campaign.id, merchant,
             price=1_000_000, checkout="co_aaaaaaaaaaaa1")  # fmt: skip
    assert reservation(module_conn, "co_nothing00000") is None


def test_outside_its_window_a_campaign_refuses(module_conn: Connection, clock: FixedClock) -> None:
    uow = bind(module_conn, clock)
    now = clock.now_us()
    later = create_campaign(uow, _request(clock, starts_at_us=now + 1, ends_at_us=now + DAY_US),
                            by="ana")  # fmt: skip
    ended = create_campaign(uow, _request(clock, starts_at_us=now - DAY_US, ends_at_us=now),
                            by="ana")  # fmt: skip
    merchant = insert_merchant(module_conn)
    _refused(module_conn, "campaign_inactive", uow, later.id, merchant)
    _refused(module_conn, "campaign_inactive", uow, ended.id, merchant)  # ends_at is excluded
    starting = create_campaign(uow, _request(clock, starts_at_us=now), by="ana")
    assert _reserve(uow, starting.id, merchant).discount_units == 150_000  # starts_at included


def test_unknown_campaigns_other_merchants_and_tiny_prices_are_refused(
    module_conn: Connection, clock: FixedClock
) -> None:
    uow = bind(module_conn, clock)
    listed, other = insert_merchant(module_conn), insert_merchant(module_conn)
    campaign = create_campaign(uow, _request(clock, merchant_ids=frozenset({listed})), by="ana")
    _refused(module_conn, "campaign_unknown", uow, "pz-none", listed)
    _refused(module_conn, "campaign_not_for_merchant", uow, campaign.id, other)
    _refused(module_conn, "campaign_price_too_small", uow, campaign.id, listed, price=9)
    assert _reserve(uow, campaign.id, listed, price=10).discount_units == 1


def test_the_cap_per_pioneer_is_per_wib_day(module_conn: Connection, clock: FixedClock) -> None:
    uow = bind(module_conn, clock)
    clock.advance(-HOUR_S)  # 23:00 WIB (the fixture's clock is at 00:00 WIB)
    campaign = create_campaign(uow, _request(clock), by="ana")
    merchant = insert_merchant(module_conn)
    _reserve(uow, campaign.id, merchant, "uid-a")  # Rp 1.500
    _reserve(uow, campaign.id, merchant, "uid-a")  # Rp 3.000: the cap exactly
    _refused(module_conn, "campaign_cap_reached", uow, campaign.id, merchant, pioneer="uid-a",
             price=10)  # fmt: skip
    assert _reserve(uow, campaign.id, merchant, "uid-b").discount_units == 150_000
    clock.advance(HOUR_S)  # 00:00 WIB: a new business day
    assert _reserve(uow, campaign.id, merchant, "uid-a").discount_units == 150_000


def test_the_cap_per_merchant_and_voided_discounts(
    module_conn: Connection, clock: FixedClock
) -> None:
    uow = bind(module_conn, clock)
    campaign = create_campaign(uow, _request(clock, cap_per_merchant_day_units=400_000), by="ana")
    merchant, other = insert_merchant(module_conn), insert_merchant(module_conn)
    first = _reserve(uow, campaign.id, merchant, "uid-a", price=2_000_000)  # Rp 2.000
    _reserve(uow, campaign.id, merchant, "uid-b", price=2_000_000)  # Rp 4.000: the cap
    _refused(module_conn, "campaign_cap_reached", uow, campaign.id, merchant, pioneer="uid-c")
    assert _reserve(uow, campaign.id, other, "uid-c").discount_units == 150_000
    # A voided discount no longer counts against the day's cap.
    assert uow.ledger.post(void_discount_request(first)).ok
    mark_reservation(module_conn, first.checkout_id, "voided")
    assert _reserve(uow, campaign.id, merchant, "uid-d", price=2_000_000).discount_units == 200_000


def test_an_exhausted_budget_refuses_new_discounts_and_pays_the_reserved_ones(
    module_conn: Connection, clock: FixedClock
) -> None:
    uow = bind(module_conn, clock)
    campaign = create_campaign(uow, _request(clock, budget_units=300_000, discount_bp=5_000),
                               by="ana")  # fmt: skip
    merchant = insert_merchant(module_conn)
    held = [_reserve(uow, campaign.id, merchant, f"uid-{n}", price=300_000) for n in range(2)]
    assert _budget(uow, campaign.id) == (300_000, 0)
    newcomer = insert_merchant(module_conn)  # its account would be opened by a discount
    _refused(module_conn, "campaign_budget_exhausted", uow, campaign.id, newcomer,
             pioneer="uid-9", price=2)  # fmt: skip
    # The reservations made before the budget ran out still post, in full.
    results = uow.ledger.post_batch([post_discount_request(r) for r in held])
    assert all(result.ok for result in results)
    for r in held:
        mark_reservation(module_conn, r.checkout_id, "paid")
    assert _budget(uow, campaign.id) == (0, 0)
    assert uow.ledger.balance(chart.merchant_balance(merchant, "IDR").code).posted == 300_000


def test_a_void_gives_the_discount_back_to_the_budget(
    module_conn: Connection, clock: FixedClock
) -> None:
    uow = bind(module_conn, clock)
    campaign = create_campaign(uow, _request(clock, budget_units=150_000), by="ana")
    merchant = insert_merchant(module_conn)
    held = _reserve(uow, campaign.id, merchant, "uid-a")
    _refused(module_conn, "campaign_budget_exhausted", uow, campaign.id, merchant, pioneer="uid-b")
    assert uow.ledger.post(void_discount_request(held)).ok
    mark_reservation(module_conn, held.checkout_id, "voided")
    mark_reservation(module_conn, held.checkout_id, "voided")  # again: nothing changes
    assert _budget(uow, campaign.id) == (150_000, 150_000)
    again = _reserve(uow, campaign.id, merchant, "uid-b")
    assert again.discount_units == 150_000
    assert uow.ledger.balance(chart.merchant_balance(merchant, "IDR").code).posted == 0
    with pytest.raises(ValueError, match="voided"):
        mark_reservation(module_conn, held.checkout_id, "paid")
    with pytest.raises(LookupError):
        mark_reservation(module_conn, "co_nothing00000", "paid")
