"""Checkout use cases on PostgreSQL, with the rails' real use cases paying the legs: the Pi leg
through U2A against the Pi sandbox, the QRIS leg through a verified gateway event."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from sqlalchemy import Connection, text

from chain.pi.sandbox.client import SandboxPioneer
from chain.qris.gateways.event import EventStatus, QrisEvent
from chain.rates.sandbox import SandboxRateSource
from escrow.calendar import from_us
from escrow.ledger import Ledger
from settlement import chart, parameters, points
from settlement.campaigns import service as campaigns
from settlement.campaigns.model import CampaignRequest
from settlement.checkout import repository, service
from settlement.checkout.apply import OUTBOX_PI_REFUND
from settlement.checkout.conversion import KeepTenderAsset
from settlement.checkout.errors import CheckoutRefused
from settlement.checkout.model import CheckoutStatus, LegStatus
from settlement.checkout.pricing import TenderShare
from settlement.checkout.refunds import pay_pi_refund
from settlement.checkout.service import CheckoutDeps, CheckoutRequest, CheckoutWindows
from settlement.merchants import service as merchants
from settlement.merchants.model import MerchantRequest
from settlement.outbox import OutboxMessage
from settlement.pi import u2a
from settlement.pi.expectations import find_by_reference, metadata_for
from settlement.qris.notifications import apply_notification
from settlement.rates.median import RatePolicy, RateRefused
from settlement.rates.panel import RatePanel
from settlement.rates.quotes import find_quote
from settlement.shares.rules import parse_rule, set_rule
from settlement.tenders import Tender
from settlement.unit_of_work import UnitOfWork, bind
from tests.integration.pi.conftest import PiWorld
from tests.support.merchants import fresh_id, fresh_nmid, static_qris

pytestmark = pytest.mark.integration
PRICE = 1_500_000  # Rp 15.000
HALF = 750_000
PI_PRICE = 500_000  # Rp 5.000 per Pi
HALF_IN_PI = 15_000_000  # 1.5 Pi
TTL_S, QUOTE_S, RELEASE_S = 900, 120, 3600


def deps(world: PiWorld) -> CheckoutDeps:
    return CheckoutDeps(
        RatePanel((SandboxRateSource(PI_PRICE, world.clock),)),
        CheckoutWindows(TTL_S, QUOTE_S, RELEASE_S),
        KeepTenderAsset(),
    )


def uow_of(conn: Connection, world: PiWorld) -> UnitOfWork:
    return bind(conn, world.clock)


def onboard(conn: Connection, world: PiWorld, *tenders: Tender) -> str:
    nmid = fresh_nmid()
    merchant_id = fresh_id()
    merchants.onboard(
        uow_of(conn, world),
        MerchantRequest(
            id=merchant_id,
            name="Pecel Bu Tin",
            kelurahan="Kelurahan A",
            tenders=frozenset(tenders or (Tender.PI, Tender.QRIS)),
            rt="01",
            nmid=nmid,
            static_qris=static_qris(nmid),
        ),
        "treasury:test",
    )
    return merchant_id


def half_and_half(merchant: str, **changes: object) -> CheckoutRequest:
    request = CheckoutRequest(
        merchant, PRICE, (TenderShare(Tender.PI, 5000), TenderShare(Tender.QRIS, 5000))
    )
    return replace(request, **changes)  # type: ignore[arg-type]


def pay_pi(
    conn: Connection,
    world: PiWorld,
    reference: str,
    amount: str,
    pioneer: SandboxPioneer | None = None,
) -> str:
    pioneer = pioneer or world.driver.add_pioneer("tin-customer", "100")
    expectation = find_by_reference(conn, reference, lock=False)
    assert expectation is not None
    pid = world.driver.create_payment(pioneer, amount, "pecel", metadata_for(expectation))
    u2a.approve(uow_of(conn, world), world.deps, pid, pioneer.uid)
    txid = str(world.driver.pay(pid)["txid"])
    u2a.complete(uow_of(conn, world), world.deps, pid, txid, pioneer.uid)
    return pioneer.uid


def pay_qris(
    conn: Connection, world: PiWorld, reference: str | None, amount_sen: int, **fields: object
) -> None:
    event = QrisEvent(
        "midtrans",
        f"tx-{uuid.uuid4().hex[:12]}",
        EventStatus.PAID,
        "settlement",
        amount_sen,
        rrn=uuid.uuid4().hex[:12],
        reference=reference,
        paid_at=from_us(world.clock.now_us()),
    )
    apply_notification(uow_of(conn, world), replace(event, **fields))  # type: ignore[arg-type]


def balance(conn: Connection, code: str) -> int:
    return Ledger(conn).balance(code).posted


def counts(conn: Connection) -> tuple[int, ...]:
    return tuple(
        conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        for table in (
            "checkouts",
            "checkout_legs",
            "transfers",
            "outbox",
            "pi_expectations",
            "qris_expectations",
            "rate_quotes",
            "campaign_reservations",
        )
    )


def test_bu_tin_sells_a_plate_for_half_pi_half_qris(db_conn: Connection, pi_world: PiWorld) -> None:
    merchant_id = onboard(db_conn, pi_world)
    created = service.create_checkout(
        uow_of(db_conn, pi_world), deps(pi_world), half_and_half(merchant_id), "merchant:test"
    )
    pi_leg, qris_leg = created.legs
    assert (pi_leg.idr_units, pi_leg.amount_units) == (HALF, HALF_IN_PI)
    assert (qris_leg.idr_units, qris_leg.amount_units) == (HALF, HALF)
    payer = pay_pi(db_conn, pi_world, pi_leg.reference, "1.5")
    pay_qris(db_conn, pi_world, qris_leg.reference, HALF)
    paid = service.find_checkout(uow_of(db_conn, pi_world), created.id, merchant_id)
    assert paid.status is CheckoutStatus.PAID
    assert paid.legs[0].payer == payer
    assert balance(db_conn, chart.merchant_balance(merchant_id, "PI").code) == 0

    released = service.handover(
        uow_of(db_conn, pi_world), deps(pi_world), created.id, merchant_id, "merchant:test"
    )
    assert released.status is CheckoutStatus.RELEASED
    assert (
        balance(db_conn, chart.merchant_balance(merchant_id, "PI").code) == HALF_IN_PI * 985 // 1000
    )
    assert balance(db_conn, chart.merchant_balance(merchant_id, "IDR").code) == HALF - 7500 - 3750
    with pytest.raises(CheckoutRefused) as twice:
        service.handover(uow_of(db_conn, pi_world), deps(pi_world), created.id, merchant_id, "m")
    assert twice.value.code == "checkout_already_released"
    kinds = (
        db_conn.execute(
            text("SELECT kind FROM checkout_events WHERE checkout_id = :id ORDER BY id"),
            {"id": created.id},
        )
        .scalars()
        .all()
    )
    assert kinds == ["created", "leg_paid", "leg_paid", "paid", "handover"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"price_units": 0}, "checkout_amount_out_of_range"),
        ({"price_units": 10_000_000_01}, "checkout_amount_out_of_range"),
        (
            {"shares": (TenderShare(Tender.PI, 5000), TenderShare(Tender.QRIS, 4999))},
            "checkout_split_invalid",
        ),
        ({"shares": (TenderShare(Tender.MSC, 10_000),)}, "checkout_tender_not_accepted"),
        ({"campaign_id": "nope"}, "checkout_pioneer_required"),
        ({"merchant_id": "UMnobody"}, "merchant_unknown"),
        (
            {
                "campaign_id": "MPZ",
                "pioneer_uid": "ani",
                "shares": (TenderShare(Tender.QRIS, 10_000),),
            },
            "checkout_pioneer_required",
        ),
        ({"merchant_reference": "x" * 65}, "checkout_reference_invalid"),
        (
            {
                "price_units": 1,
                "shares": (TenderShare(Tender.PI, 9999), TenderShare(Tender.QRIS, 1)),
            },
            "checkout_split_invalid",
        ),
    ],
)
def test_bad_checkouts_are_refused_and_nothing_is_written(
    db_conn: Connection, pi_world: PiWorld, change: dict[str, object], code: str
) -> None:
    merchant_id = onboard(db_conn, pi_world)
    before = counts(db_conn)
    with pytest.raises(Exception) as refused, db_conn.begin_nested():  # noqa: PT011 - code below
        service.create_checkout(
            uow_of(db_conn, pi_world),
            deps(pi_world),
            half_and_half(merchant_id, **change),
            "merchant:test",
        )
    assert getattr(refused.value, "code", None) == code
    assert counts(db_conn) == before


def test_a_suspended_merchant_opens_no_checkout(db_conn: Connection, pi_world: PiWorld) -> None:
    merchant_id = onboard(db_conn, pi_world)
    merchants.suspend(uow_of(db_conn, pi_world), merchant_id, "treasury:test")
    before = counts(db_conn)
    with pytest.raises(Exception) as refused, db_conn.begin_nested():  # noqa: PT011 - code below
        service.create_checkout(
            uow_of(db_conn, pi_world), deps(pi_world), half_and_half(merchant_id), "merchant:test"
        )
    assert getattr(refused.value, "code", None) == "merchant_suspended"
    assert counts(db_conn) == before


def test_expiry_refunds_the_paid_pi_leg_by_a2u(db_conn: Connection, pi_world: PiWorld) -> None:
    merchant_id = onboard(db_conn, pi_world)
    created = service.create_checkout(
        uow_of(db_conn, pi_world), deps(pi_world), half_and_half(merchant_id), "merchant:test"
    )
    payer = pay_pi(db_conn, pi_world, created.legs[0].reference, "1.5")
    pi_world.clock.now += TTL_S
    assert service.find_checkout(uow_of(db_conn, pi_world), created.id, None).status is (
        CheckoutStatus.OPEN  # the grace for payments still being told has not passed
    )
    pi_world.clock.now += service.expiry_grace_s
    assert service.expire_due(uow_of(db_conn, pi_world)) >= 1
    expired = service.find_checkout(uow_of(db_conn, pi_world), created.id, None)
    assert expired.status is CheckoutStatus.EXPIRED
    assert [leg.status for leg in expired.legs] == [LegStatus.REFUNDED, LegStatus.CANCELLED]
    assert balance(db_conn, chart.pioneer_pi(payer).code) == HALF_IN_PI
    row = db_conn.execute(
        text("SELECT id, key, payload FROM outbox WHERE kind = :kind AND payload->>'uid' = :uid"),
        {"kind": OUTBOX_PI_REFUND, "uid": payer},
    ).one()
    message = OutboxMessage(row.id, OUTBOX_PI_REFUND, row.key, row.payload, 1)
    pay_pi_refund(pi_world.deps)(db_conn, message)
    pay_pi_refund(pi_world.deps)(db_conn, message)  # redelivered: the same payout, once
    payouts = (
        db_conn.execute(
            text("SELECT amount_units FROM pi_payouts WHERE uid = :uid"), {"uid": payer}
        )
        .scalars()
        .all()
    )
    assert payouts == [HALF_IN_PI]


def test_qris_paid_after_expiry_is_owed_back(db_conn: Connection, pi_world: PiWorld) -> None:
    merchant_id = onboard(db_conn, pi_world)
    created = service.create_checkout(
        uow_of(db_conn, pi_world), deps(pi_world), half_and_half(merchant_id), "merchant:test"
    )
    pi_world.clock.now += TTL_S + 5
    pay_qris(db_conn, pi_world, created.legs[1].reference, HALF)
    owed = db_conn.execute(
        text("SELECT reason, amount_units, status FROM checkout_refunds WHERE checkout_id = :id"),
        {"id": created.id},
    ).all()
    assert [tuple(row) for row in owed] == [("late", HALF, "owed")]
    expired = service.find_checkout(uow_of(db_conn, pi_world), created.id, None)
    assert expired.status is CheckoutStatus.EXPIRED


def test_qris_over_and_under_payments(db_conn: Connection, pi_world: PiWorld) -> None:
    merchant_id = onboard(db_conn, pi_world)
    only_qris = half_and_half(merchant_id, shares=(TenderShare(Tender.QRIS, 10_000),))
    created = service.create_checkout(uow_of(db_conn, pi_world), deps(pi_world), only_qris, "m")
    reference = created.legs[0].reference
    pay_qris(db_conn, pi_world, reference, PRICE - 100)
    assert service.find_checkout(uow_of(db_conn, pi_world), created.id, None).status is (
        CheckoutStatus.OPEN
    )
    pay_qris(db_conn, pi_world, reference, PRICE + 100)
    reasons = db_conn.execute(
        text(
            "SELECT reason, amount_units FROM checkout_refunds WHERE checkout_id = :id"
            " ORDER BY reason"
        ),
        {"id": created.id},
    ).all()
    assert [tuple(row) for row in reasons] == [("excess", 100), ("underpaid", PRICE - 100)]
    assert service.find_checkout(uow_of(db_conn, pi_world), created.id, None).status is (
        CheckoutStatus.PAID
    )


def test_msc_leg_from_the_pioneers_balance(db_conn: Connection, pi_world: PiWorld) -> None:
    merchant_id = onboard(db_conn, pi_world, Tender.MSC, Tender.QRIS)
    uid = f"pioneer-{uuid.uuid4().hex[:8]}"
    request = half_and_half(merchant_id, pioneer_uid=uid, shares=(TenderShare(Tender.MSC, 10_000),))
    created = service.create_checkout(uow_of(db_conn, pi_world), deps(pi_world), request, "m")
    before = counts(db_conn)
    with pytest.raises(CheckoutRefused) as short, db_conn.begin_nested():
        service.pay_with_balance(uow_of(db_conn, pi_world), created.id, Tender.MSC, uid)
    assert short.value.code == "checkout_insufficient_balance"
    assert counts(db_conn) == before
    ledger = Ledger(db_conn)
    chart.open_account(ledger, chart.pioneer_balance(uid, "MSC"))
    chart.open_account(ledger, chart.msc_onchain())
    from escrow.model import TransferRequest, transfer_id
    from settlement.chart import TransferCode

    # the Pioneer deposits MSC from chain (the float is a liability that may not go negative,
    # so mint first: withdraw of nobody's balance is not possible; use suspense as the source)
    chart.open_account(ledger, chart.suspense("MSC"))
    assert ledger.post(
        TransferRequest(
            transfer_id("test.msc", uid),
            chart.suspense("MSC").code,
            chart.pioneer_balance(uid, "MSC").code,
            PRICE,
            "MSC",
            TransferCode.SUSPENSE,
        )
    ).ok
    paid = service.pay_with_balance(uow_of(db_conn, pi_world), created.id, Tender.MSC, uid)
    assert paid.status is CheckoutStatus.PAID
    with pytest.raises(CheckoutRefused) as again:
        service.pay_with_balance(uow_of(db_conn, pi_world), created.id, Tender.MSC, uid)
    assert again.value.code == "checkout_closed"


def test_campaign_discount_is_reserved_then_paid_or_voided(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    merchant_id = onboard(db_conn, pi_world)
    now = pi_world.clock.now_us()
    campaign_id = fresh_id("MPZ")
    campaigns.create_campaign(
        uow_of(db_conn, pi_world),
        CampaignRequest(
            campaign_id,
            "Madiun Pi-Zone",
            3000,
            10_000_000,
            1_000_000,
            5_000_000,
            None,
            now - 1,
            now + 86_400_000_000,
        ),
        "treasury:test",
    )
    parameters.set_(uow_of(db_conn, pi_world), "point_value_idr", "500.00", "treasury:test")
    points.fund_budget(uow_of(db_conn, pi_world), 100, "treasury:test", f"fund-{campaign_id}")
    ten_percent = parse_rule(
        merchant_id,
        [{"to": "platform_fee", "percent_bp": 100}, {"to": "merchant", "remaining": True}],
        1000,
        10_000_000,
    )
    set_rule(uow_of(db_conn, pi_world), ten_percent, "treasury:test")
    pioneer = pi_world.driver.add_pioneer("tin-customer", "100")
    request = half_and_half(merchant_id, campaign_id=campaign_id, pioneer_uid=pioneer.uid)
    created = service.create_checkout(uow_of(db_conn, pi_world), deps(pi_world), request, "m")
    assert created.discount_units == 450_000  # 30% of Rp 15.000
    assert created.payable_units == PRICE - 450_000
    budget = chart.campaign_budget(campaign_id).code
    assert Ledger(db_conn).balance(budget).pending_out == 450_000
    refunded = service.refund_checkout(uow_of(db_conn, pi_world), created.id, merchant_id, "m")
    assert refunded.status is CheckoutStatus.REFUNDED
    assert Ledger(db_conn).balance(budget).pending_out == 0

    again = service.create_checkout(uow_of(db_conn, pi_world), deps(pi_world), request, "m")
    pay_pi(db_conn, pi_world, again.legs[0].reference, "1.05", pioneer)
    pay_qris(db_conn, pi_world, again.legs[1].reference, again.legs[1].amount_units)
    released = service.handover(
        uow_of(db_conn, pi_world), deps(pi_world), again.id, merchant_id, "m"
    )
    assert released.status is CheckoutStatus.RELEASED
    # 10% of the Rp 10.500 paid is Rp 1.050: two whole points of Rp 500 (floored)
    assert balance(db_conn, chart.pioneer_balance(pioneer.uid, "MSCP").code) == 2
    assert balance(db_conn, chart.mscp_budget().code) == 98
    assert balance(db_conn, chart.merchant_balance(merchant_id, "IDR").code) == (
        again.legs[1].amount_units * 99 // 100 + 450_000
    )


def test_a_merchant_reference_names_one_checkout(db_conn: Connection, pi_world: PiWorld) -> None:
    merchant_id = onboard(db_conn, pi_world)
    request = half_and_half(merchant_id, merchant_reference="meja-3")
    service.create_checkout(uow_of(db_conn, pi_world), deps(pi_world), request, "m")
    before = counts(db_conn)
    with pytest.raises(CheckoutRefused) as reused, db_conn.begin_nested():
        service.create_checkout(uow_of(db_conn, pi_world), deps(pi_world), request, "m")
    assert reused.value.code == "checkout_reference_reused"
    assert counts(db_conn) == before


def refunds_of(conn: Connection, checkout_id: str) -> list[tuple[str, int]]:
    rows = conn.execute(
        text("SELECT reason, amount_units FROM checkout_refunds WHERE checkout_id = :id"),
        {"id": checkout_id},
    ).all()
    return sorted((row.reason, row.amount_units) for row in rows)


def only_qris(conn: Connection, world: PiWorld) -> tuple[str, str, str]:
    merchant_id = onboard(conn, world)
    request = half_and_half(merchant_id, shares=(TenderShare(Tender.QRIS, 10_000),))
    created = service.create_checkout(uow_of(conn, world), deps(world), request, "m")
    nmid = merchants.find(conn, merchant_id).nmid  # type: ignore[union-attr]
    return created.id, created.legs[0].reference, str(nmid)


def test_a_walk_in_static_payment_pays_no_checkout(db_conn: Connection, pi_world: PiWorld) -> None:
    checkout_id, _, nmid = only_qris(db_conn, pi_world)
    pay_qris(db_conn, pi_world, None, PRICE, nmid=nmid)  # the stall's printed QR, same amount
    assert service.find_checkout(uow_of(db_conn, pi_world), checkout_id, None).status is (
        CheckoutStatus.OPEN
    )
    assert refunds_of(db_conn, checkout_id) == []


def test_the_same_payment_told_twice_is_not_refunded(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    checkout_id, reference, _ = only_qris(db_conn, pi_world)
    pay_qris(db_conn, pi_world, reference, PRICE, rrn="RRN000000001")
    pay_qris(db_conn, pi_world, reference, PRICE, rrn="RRN000000001")  # another gateway's id
    assert refunds_of(db_conn, checkout_id) == []
    pay_qris(db_conn, pi_world, reference, PRICE, rrn="RRN000000002")  # paid again, truly
    assert refunds_of(db_conn, checkout_id) == [("duplicate", PRICE)]


def test_a_payment_made_before_expiry_counts_though_told_after(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    checkout_id, reference, _ = only_qris(db_conn, pi_world)
    made_at = from_us(pi_world.clock.now_us() + (TTL_S - 10) * 1_000_000)
    pi_world.clock.now += TTL_S + 20
    pay_qris(db_conn, pi_world, reference, PRICE, paid_at=made_at)
    assert service.find_checkout(uow_of(db_conn, pi_world), checkout_id, None).status is (
        CheckoutStatus.PAID
    )
    assert refunds_of(db_conn, checkout_id) == []


def test_the_pi_leg_is_quoted_at_the_median_of_the_fresh_sources(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    merchant_id = onboard(db_conn, pi_world)
    sources = (
        SandboxRateSource(PI_PRICE, pi_world.clock, "one"),
        SandboxRateSource(PI_PRICE + 10_000, pi_world.clock, "two"),
    )
    panel = RatePanel(sources, RatePolicy(sources_min=2, spread_bp_max=500))
    created = service.create_checkout(
        uow_of(db_conn, pi_world),
        replace(deps(pi_world), rates=panel),
        half_and_half(merchant_id),
        "merchant:test",
    )
    pi_leg = created.legs[0]
    quote_id = repository.leg_extras(db_conn, [created.id])[pi_leg.reference].quote_id
    quote = find_quote(db_conn, quote_id) if quote_id else None
    assert quote is not None
    assert (quote.price_units, quote.source, len(quote.reading_ids)) == (505_000, "median", 2)
    assert pi_leg.amount_units == HALF * 10**7 // 505_000 + 1  # Rp 7.500 at Rp 5.050, rounded up


def test_a_pi_leg_without_enough_fresh_sources_opens_nothing(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    merchant_id = onboard(db_conn, pi_world)
    panel = RatePanel((SandboxRateSource(PI_PRICE, pi_world.clock),), RatePolicy(sources_min=2))
    before = counts(db_conn)
    with pytest.raises(RateRefused) as refused:
        service.create_checkout(
            uow_of(db_conn, pi_world),
            replace(deps(pi_world), rates=panel),
            half_and_half(merchant_id),
            "merchant:test",
        )
    assert refused.value.code == "rate_sources_insufficient"
    assert counts(db_conn) == before
