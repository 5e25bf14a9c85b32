"""The merchant's statement of checkouts made by the checkout's own use cases (not rows written
by hand): Bu Tin's plate, paid in Pi and QRIS by the rails and handed over, shows its sales, its
shares found by the release's own transfer ids, and balances that hold together."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection

from escrow.calendar import month_of
from escrow.ledger import Ledger
from escrow.periods import period
from settlement.checkout import service
from settlement.reports.history import merchant_history
from settlement.reports.statement import Category, monthly_statement
from tests.integration.checkout.test_checkout_service import (
    HALF,
    HALF_IN_PI,
    deps,
    half_and_half,
    onboard,
    pay_pi,
    pay_qris,
    uow_of,
)
from tests.integration.pi.conftest import PiWorld

pytestmark = pytest.mark.integration


def test_a_handed_over_plate_is_in_the_months_statement(
    module_conn: Connection, pi_world: PiWorld
) -> None:
    merchant_id = onboard(module_conn, pi_world)
    month = month_of(pi_world.clock.now_us())
    checkouts = []
    for _ in range(2):
        created = service.create_checkout(
            uow_of(module_conn, pi_world), deps(pi_world), half_and_half(merchant_id), "merchant:t"
        )
        pi_leg, qris_leg = created.legs
        pay_pi(module_conn, pi_world, pi_leg.reference, "1.5")
        pay_qris(module_conn, pi_world, qris_leg.reference, HALF)
        service.handover(
            uow_of(module_conn, pi_world), deps(pi_world), created.id, merchant_id, "merchant:t"
        )
        checkouts.append(created.id)
    pi_world.clock.now = (period(month).ends_at_us + 1) / 1_000_000 + 3600

    s = monthly_statement(module_conn, merchant_id, month, now_us=pi_world.clock.now_us())
    assert (s.final, s.checkouts_released, s.price_units) == (True, 2, 4 * HALF)
    assert [(x.tender, x.legs, x.amount_units, x.idr_units) for x in s.sales] == [
        ("PI", 2, 2 * HALF_IN_PI, 2 * HALF),
        ("QRIS", 2, 2 * HALF, 2 * HALF),
    ]
    fees = sorted((f.kind, f.asset, f.transfers, f.amount_units) for f in s.fees)
    assert fees == [  # the default rule: 1% platform fee, 0.5% community fund, per leg
        ("community_fund", "IDR", 2, 2 * 3_750),
        ("community_fund", "PI", 2, 2 * HALF_IN_PI // 200),
        ("platform_fee", "IDR", 2, 2 * 7_500),
        ("platform_fee", "PI", 2, 2 * HALF_IN_PI // 100),
    ]  # and no MDR: QRIS for UMI up to Rp 500.000 is 0% (BI, from 1 December 2024)
    by_asset = {a.asset: a for a in s.assets}
    assert [(m.category, m.transfers) for m in by_asset["PI"].movements] == [(Category.SALES, 2)]
    for account in s.assets:
        assert account.balanced
        code = f"merchant:{merchant_id}:{account.asset}"
        assert account.closing_units == Ledger(module_conn).balance(code).posted
    sold = {x.asset: x.amount_units for x in s.sales}
    taken = {a: sum(f.amount_units for f in s.fees if f.asset == a) for a in sold}
    assert {a: by_asset[a].credits_units for a in sold} == {a: sold[a] - taken[a] for a in sold}


def test_the_history_names_each_transfers_checkout(
    module_conn: Connection, pi_world: PiWorld
) -> None:
    merchant_id = onboard(module_conn, pi_world)
    created = service.create_checkout(
        uow_of(module_conn, pi_world), deps(pi_world), half_and_half(merchant_id), "merchant:t"
    )
    pi_leg, qris_leg = created.legs
    pay_pi(module_conn, pi_world, pi_leg.reference, "1.5")
    pay_qris(module_conn, pi_world, qris_leg.reference, HALF)
    service.handover(
        uow_of(module_conn, pi_world), deps(pi_world), created.id, merchant_id, "merchant:t"
    )
    entries = merchant_history(module_conn, merchant_id, after=None, limit=50).entries
    assert [(e.code, e.asset, e.effect) for e in entries] == [
        ("checkout.hold", "PI", "pending"),
        ("checkout.hold", "IDR", "pending"),
        ("checkout.release", "PI", "pending_posted"),
        ("checkout.release", "IDR", "pending_posted"),
    ]
    assert {e.checkout_id for e in entries} == {created.id}
