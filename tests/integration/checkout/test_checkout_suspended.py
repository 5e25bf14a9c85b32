"""A suspended merchant's checkouts (decision 0021): new payments are refused where refusal is
still possible (Pi approval, a balance debit), nothing written; money already sent (a QRIS
scan, a Pi payment approved before) is booked and owed back, never lost, and the checkout stays
open for a reactivation; the escrow of paid checkouts waits for the treasury, which may still
release or refund it."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Connection, text

from escrow.ledger import Ledger
from escrow.model import TransferRequest, transfer_id
from settlement import chart
from settlement.chart import TransferCode
from settlement.checkout import service
from settlement.checkout.apply import OUTBOX_PI_REFUND
from settlement.checkout.model import CheckoutStatus, LegStatus
from settlement.checkout.pricing import TenderShare
from settlement.merchants import service as merchants
from settlement.pi import u2a
from settlement.pi.expectations import find_by_reference, metadata_for
from settlement.tenders import Tender
from tests.integration.checkout.test_checkout_service import (
    HALF_IN_PI,
    PRICE,
    RELEASE_S,
    balance,
    counts,
    deps,
    half_and_half,
    onboard,
    only_qris,
    pay_pi,
    pay_qris,
    refunds_of,
    uow_of,
)
from tests.integration.pi.conftest import PiWorld

pytestmark = pytest.mark.integration


def suspend(conn: Connection, world: PiWorld, merchant_id: str) -> None:
    merchants.suspend(uow_of(conn, world), merchant_id, "treasury:test")


def merchant_of(conn: Connection, checkout_id: str) -> str:
    found: str = conn.execute(
        text("SELECT merchant_id FROM checkouts WHERE id = :id"), {"id": checkout_id}
    ).scalar_one()
    return found


def test_pi_approval_is_refused_and_nothing_is_written(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    merchant_id = onboard(db_conn, pi_world)
    created = service.create_checkout(
        uow_of(db_conn, pi_world), deps(pi_world), half_and_half(merchant_id), "m"
    )
    suspend(db_conn, pi_world, merchant_id)
    pioneer = pi_world.driver.add_pioneer("tin-customer", "100")
    expectation = find_by_reference(db_conn, created.legs[0].reference, lock=False)
    assert expectation is not None
    pid = pi_world.driver.create_payment(pioneer, "1.5", "pecel", metadata_for(expectation))
    before = counts(db_conn)
    with pytest.raises(Exception) as refused, db_conn.begin_nested():  # noqa: PT011 - code below
        u2a.approve(uow_of(db_conn, pi_world), pi_world.deps, pid, pioneer.uid)
    assert getattr(refused.value, "code", None) == "merchant_suspended"
    assert counts(db_conn) == before
    again = find_by_reference(db_conn, created.legs[0].reference, lock=False)
    assert again is not None
    assert (again.status, again.payment_id) == ("open", None)
    assert not u2a.fetch_payment(pi_world.deps, pid).status.developer_approved


def test_a_balance_payment_is_refused_and_nothing_is_written(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    merchant_id = onboard(db_conn, pi_world, Tender.MSC, Tender.QRIS)
    uid = f"pioneer-{uuid.uuid4().hex[:8]}"
    request = half_and_half(merchant_id, pioneer_uid=uid, shares=(TenderShare(Tender.MSC, 10_000),))
    created = service.create_checkout(uow_of(db_conn, pi_world), deps(pi_world), request, "m")
    ledger = Ledger(db_conn)
    chart.open_account(ledger, chart.pioneer_balance(uid, "MSC"))
    chart.open_account(ledger, chart.suspense("MSC"))
    funded = TransferRequest(
        transfer_id("test.msc", uid),
        chart.suspense("MSC").code,
        chart.pioneer_balance(uid, "MSC").code,
        PRICE,
        "MSC",
        TransferCode.SUSPENSE,
    )
    assert ledger.post(funded).ok
    suspend(db_conn, pi_world, merchant_id)
    before = counts(db_conn)
    with pytest.raises(Exception) as refused, db_conn.begin_nested():  # noqa: PT011 - code below
        service.pay_with_balance(uow_of(db_conn, pi_world), created.id, Tender.MSC, uid)
    assert getattr(refused.value, "code", None) == "merchant_suspended"
    assert counts(db_conn) == before
    assert balance(db_conn, chart.pioneer_balance(uid, "MSC").code) == PRICE
    merchants.reactivate(uow_of(db_conn, pi_world), merchant_id, "treasury:test")
    paid = service.pay_with_balance(uow_of(db_conn, pi_world), created.id, Tender.MSC, uid)
    assert paid.status is CheckoutStatus.PAID


def test_a_qris_payment_that_arrives_anyway_is_owed_back(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    checkout_id, reference, _ = only_qris(db_conn, pi_world)
    merchant_id = merchant_of(db_conn, checkout_id)
    suspend(db_conn, pi_world, merchant_id)
    pay_qris(db_conn, pi_world, reference, PRICE)
    assert refunds_of(db_conn, checkout_id) == [("suspended", PRICE)]
    owed = db_conn.execute(
        text("SELECT status FROM checkout_refunds WHERE checkout_id = :id"), {"id": checkout_id}
    ).scalar_one()
    assert owed == "owed"
    still = service.find_checkout(uow_of(db_conn, pi_world), checkout_id, None)
    assert (still.status, still.legs[0].status) == (CheckoutStatus.OPEN, LegStatus.OPEN)
    merchants.reactivate(uow_of(db_conn, pi_world), merchant_id, "treasury:test")
    pay_qris(db_conn, pi_world, reference, PRICE)
    paid = service.find_checkout(uow_of(db_conn, pi_world), checkout_id, None)
    assert paid.status is CheckoutStatus.PAID


def test_a_pi_payment_approved_before_the_suspension_is_refunded_by_a2u(
    db_conn: Connection, pi_world: PiWorld
) -> None:
    merchant_id = onboard(db_conn, pi_world)
    only_pi = half_and_half(merchant_id, shares=(TenderShare(Tender.PI, 10_000),))
    created = service.create_checkout(uow_of(db_conn, pi_world), deps(pi_world), only_pi, "m")
    reference = created.legs[0].reference
    pioneer = pi_world.driver.add_pioneer("tin-customer", "100")
    expectation = find_by_reference(db_conn, reference, lock=False)
    assert expectation is not None
    pid = pi_world.driver.create_payment(pioneer, "3", "pecel", metadata_for(expectation))
    u2a.approve(uow_of(db_conn, pi_world), pi_world.deps, pid, pioneer.uid)
    suspend(db_conn, pi_world, merchant_id)
    txid = str(pi_world.driver.pay(pid)["txid"])
    u2a.complete(uow_of(db_conn, pi_world), pi_world.deps, pid, txid, pioneer.uid)
    assert refunds_of(db_conn, created.id) == [("suspended", 2 * HALF_IN_PI)]
    queued = db_conn.execute(
        text("SELECT count(*) FROM outbox WHERE kind = :kind AND payload->>'uid' = :uid"),
        {"kind": OUTBOX_PI_REFUND, "uid": pioneer.uid},
    ).scalar_one()
    assert queued == 1
    still = service.find_checkout(uow_of(db_conn, pi_world), created.id, None)
    assert still.status is CheckoutStatus.OPEN


def test_paid_escrow_waits_for_the_treasury(db_conn: Connection, pi_world: PiWorld) -> None:
    merchant_id = onboard(db_conn, pi_world)
    created = service.create_checkout(
        uow_of(db_conn, pi_world), deps(pi_world), half_and_half(merchant_id), "m"
    )
    pay_pi(db_conn, pi_world, created.legs[0].reference, "1.5")
    pay_qris(db_conn, pi_world, created.legs[1].reference, created.legs[1].amount_units)
    suspend(db_conn, pi_world, merchant_id)
    before = counts(db_conn)
    with pytest.raises(Exception) as refused, db_conn.begin_nested():  # noqa: PT011 - code below
        service.handover(uow_of(db_conn, pi_world), deps(pi_world), created.id, merchant_id, "m")
    assert getattr(refused.value, "code", None) == "merchant_suspended"
    assert counts(db_conn) == before
    pi_world.clock.now += RELEASE_S + 1
    service.release_due(uow_of(db_conn, pi_world), deps(pi_world))
    waiting = service.find_checkout(uow_of(db_conn, pi_world), created.id, None)
    assert waiting.status is CheckoutStatus.PAID
    released = service.handover(
        uow_of(db_conn, pi_world), deps(pi_world), created.id, None, "treasury:test"
    )
    assert released.status is CheckoutStatus.RELEASED
    assert balance(db_conn, chart.merchant_balance(merchant_id, "PI").code) > 0


def test_the_treasury_may_refund_a_paid_checkout(db_conn: Connection, pi_world: PiWorld) -> None:
    checkout_id, reference, _ = only_qris(db_conn, pi_world)
    pay_qris(db_conn, pi_world, reference, PRICE)
    suspend(db_conn, pi_world, merchant_of(db_conn, checkout_id))
    refunded = service.refund_checkout(uow_of(db_conn, pi_world), checkout_id, None, "treasury:t")
    assert refunded.status is CheckoutStatus.REFUNDED
    assert refunds_of(db_conn, checkout_id) == [("refunded", PRICE)]
