"""A checkout's QRIS leg paid as the acquirer's report tells it: the report path books what the
gateway-notification path books (over-payment: leg paid, excess owed back; under-payment: owed
back, leg open; late: owed back, checkout expired), and a payment told by both (a notification
and a report line of the same RRN, in either order) is booked once."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from chain.qris.reports import load_formats
from escrow.calendar import WIB, business_day, from_us
from settlement.chart import TransferCode
from settlement.checkout import service
from settlement.checkout.model import CheckoutStatus, LegStatus
from settlement.qris.exceptions import list_exceptions
from settlement.qris.ingest import ingest_report
from settlement.qris.reconcile import reconcile_day
from tests.integration.checkout.test_checkout_service import (
    PRICE,
    TTL_S,
    only_qris,
    pay_qris,
    refunds_of,
    uow_of,
)
from tests.integration.pi.conftest import PiWorld

pytestmark = pytest.mark.integration
FORMATS = load_formats(Path(__file__).parents[3] / "settlement" / "qris" / "report_formats.json")
HEADER = "rrn,amount,fee,transaction_time,nmid,reference,transaction_id,status"


def fresh_rrn() -> str:
    return f"{uuid.uuid4().int % 10**12:012d}"


def report(
    conn: Connection, world: PiWorld, tmp_path: Path, reference: str, sen: int, rrn: str
) -> None:
    """The acquirer reports one payment of ``sen`` for bill ``reference`` now; reconcile the day."""
    when = from_us(world.clock.now_us()).astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S")
    path = tmp_path / f"report-{rrn}.csv"
    amount = f"{sen // 100}.{sen % 100:02d}"
    path.write_text(f"{HEADER}\n{rrn},{amount},,{when},,{reference},t-{rrn},SUCCESS\n")
    ingest_report(uow_of(conn, world), path, FORMATS["generic"])
    day = business_day(from_us(world.clock.now_us()))
    reconcile_day(uow_of(conn, world), day, expectation_ttl_max_us=2 * TTL_S * 1_000_000)


def status_of(
    conn: Connection, world: PiWorld, checkout_id: str
) -> tuple[CheckoutStatus, LegStatus]:
    found = service.find_checkout(uow_of(conn, world), checkout_id, None)
    return found.status, found.legs[0].status


def received(conn: Connection, rrn: str) -> list[int]:
    """The cash receipts booked for the payment of ``rrn``."""
    rows = conn.execute(
        text("SELECT amount FROM transfers WHERE external_ref = :rrn AND code = :code"),
        {"rrn": rrn, "code": str(TransferCode.QRIS_RECEIVED)},
    ).scalars()
    return list(rows)


def kinds(conn: Connection, world: PiWorld, reference: str) -> set[str]:
    day = business_day(from_us(world.clock.now_us()))
    return {
        e["kind"] for e in list_exceptions(uow_of(conn, world), day) if e["reference"] == reference
    }


def test_an_over_payment_reported_pays_the_leg_and_owes_the_excess(
    db_conn: Connection, pi_world: PiWorld, tmp_path: Path
) -> None:
    checkout_id, reference, _ = only_qris(db_conn, pi_world)
    rrn = fresh_rrn()
    report(db_conn, pi_world, tmp_path, reference, PRICE + 100, rrn)
    assert status_of(db_conn, pi_world, checkout_id) == (CheckoutStatus.PAID, LegStatus.PAID)
    assert refunds_of(db_conn, checkout_id) == [("excess", 100)]
    assert received(db_conn, rrn) == [PRICE + 100]
    assert "amount_mismatch" not in kinds(db_conn, pi_world, reference)


def test_an_under_payment_reported_is_owed_back_and_the_leg_stays_open(
    db_conn: Connection, pi_world: PiWorld, tmp_path: Path
) -> None:
    checkout_id, reference, _ = only_qris(db_conn, pi_world)
    rrn = fresh_rrn()
    report(db_conn, pi_world, tmp_path, reference, PRICE - 100, rrn)
    assert status_of(db_conn, pi_world, checkout_id) == (CheckoutStatus.OPEN, LegStatus.OPEN)
    assert refunds_of(db_conn, checkout_id) == [("underpaid", PRICE - 100)]
    assert received(db_conn, rrn) == [PRICE - 100]
    assert "amount_mismatch" not in kinds(db_conn, pi_world, reference)
    rest = fresh_rrn()  # the payer pays the whole price after all
    report(db_conn, pi_world, tmp_path, reference, PRICE, rest)
    assert status_of(db_conn, pi_world, checkout_id) == (CheckoutStatus.PAID, LegStatus.PAID)
    assert refunds_of(db_conn, checkout_id) == [("underpaid", PRICE - 100)]


@pytest.mark.parametrize("sen", [PRICE, PRICE + 100, PRICE - 100])
def test_a_payment_reported_after_expiry_is_owed_back(
    db_conn: Connection, pi_world: PiWorld, tmp_path: Path, sen: int
) -> None:
    checkout_id, reference, _ = only_qris(db_conn, pi_world)
    pi_world.clock.now += TTL_S + 5
    rrn = fresh_rrn()
    report(db_conn, pi_world, tmp_path, reference, sen, rrn)
    assert status_of(db_conn, pi_world, checkout_id) == (
        CheckoutStatus.EXPIRED,
        LegStatus.CANCELLED,
    )
    assert refunds_of(db_conn, checkout_id) == [("late", sen)]
    assert received(db_conn, rrn) == [sen]


@pytest.mark.parametrize("sen", [PRICE, PRICE + 100, PRICE - 100])
@pytest.mark.parametrize("notified_first", [True, False])
def test_a_payment_notified_and_reported_is_booked_once(
    db_conn: Connection, pi_world: PiWorld, tmp_path: Path, sen: int, notified_first: bool
) -> None:
    checkout_id, reference, _ = only_qris(db_conn, pi_world)
    rrn = fresh_rrn()
    if notified_first:
        pay_qris(db_conn, pi_world, reference, sen, rrn=rrn)
    report(db_conn, pi_world, tmp_path, reference, sen, rrn)
    if not notified_first:
        pay_qris(db_conn, pi_world, reference, sen, rrn=rrn)
    expected = {PRICE: [], PRICE + 100: [("excess", 100)], PRICE - 100: [("underpaid", sen)]}
    assert refunds_of(db_conn, checkout_id) == expected[sen]
    assert received(db_conn, rrn) == [sen]
    paid = CheckoutStatus.OPEN if sen < PRICE else CheckoutStatus.PAID
    assert status_of(db_conn, pi_world, checkout_id)[0] is paid
    assert not {"amount_mismatch", "duplicate"} & kinds(db_conn, pi_world, reference)
