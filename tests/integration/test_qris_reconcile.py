"""QRIS end to end on PostgreSQL: notifications, report ingest, reconciliation, ledger."""

import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Connection, text

from chain.pi.sandbox.inprocess import SyncASGITransport
from chain.qris.gateways.base import GatewayAdapter
from chain.qris.gateways.event import EventStatus, QrisEvent
from chain.qris.gateways.midtrans import MidtransAdapter
from chain.qris.gateways.midtrans_sandbox import MidtransSandbox, build_midtrans_app
from chain.qris.gateways.midtrans_status import HttpMidtransStatus
from chain.qris.reports import load_formats
from escrow.ledger import Ledger
from settlement.qris.accounts import CLEARING_ACCOUNT, MDR_EXPENSE_ACCOUNT
from settlement.qris.exceptions import list_exceptions
from settlement.qris.expectations import ExpectationRefused, create_expectation
from settlement.qris.ingest import ingest_report
from settlement.qris.mdr import price
from settlement.qris.notifications import Outcome, apply_notification, receive_notification
from settlement.qris.reconcile import reconcile_day
from tests.support.uow import at, us

pytestmark = pytest.mark.integration

DAY = date(2024, 12, 2)
T0 = datetime(2024, 12, 2, 2, 0, tzinfo=UTC)  # 09:00 WIB
TTL = timedelta(minutes=30)
KEY = "server-key"
FORMATS = load_formats(Path(__file__).parents[2] / "settlement" / "qris" / "report_formats.json")
NMID_A, NMID_B = "ID1020000000001", "ID1020000000002"


SANDBOX = MidtransSandbox(KEY)
ADAPTERS: dict[str, GatewayAdapter] = {
    "midtrans": MidtransAdapter(KEY, HttpMidtransStatus(
        httpx.Client(transport=SyncASGITransport(build_midtrans_app(SANDBOX))),
        "http://midtrans-sandbox.test", KEY,
    ))
}  # fmt: skip


def midtrans(order_id: str, status: str, amount: str, tx: str, when: str, **extra: str) -> bytes:
    """Midtrans moves the transaction to ``status`` and notifies it (as its status API tells)."""
    SANDBOX.record(order_id, transaction_id=tx, transaction_status=status, gross_amount=amount,
                   transaction_time=when, settlement_time=when, **extra)  # fmt: skip
    return SANDBOX.notification(order_id)


def notify(conn: Connection, body: bytes) -> Outcome:
    return receive_notification(
        at(conn, T0), ADAPTERS, "midtrans", {}, body, path="/v1/qris/notifications/midtrans"
    ).outcome


def credits(conn: Connection, code: str) -> int:
    balance = Ledger(conn).balance(code)
    return balance.credits_posted - balance.debits_posted


def test_notifications_are_idempotent_and_never_go_backwards(db_conn: Connection) -> None:
    create_expectation(at(db_conn, T0), nmid=NMID_A, amount_sen=1_500_000, ttl_us=us(TTL),
                       reference="CHK-N1")  # fmt: skip
    paid = midtrans("CHK-N1", "settlement", "15000.00", "tx-n1", "2024-12-02 09:05:00")
    assert notify(db_conn, paid) is Outcome.POSTED
    assert notify(db_conn, paid) is Outcome.DUPLICATE
    pending = midtrans("CHK-N1", "pending", "15000.00", "tx-n1", "2024-12-02 09:04:00")
    assert notify(db_conn, pending) is Outcome.STALE
    status = db_conn.execute(
        text("SELECT status FROM qris_payments WHERE provider_tx_id = 'tx-n1'")
    ).scalar_one()
    assert status == "paid"
    assert credits(db_conn, f"merchant:{NMID_A}:IDR") == 1_500_000
    unknown = midtrans("CHK-NONE", "settlement", "1.00", "tx-n2", "2024-12-02 09:05:00")
    assert notify(db_conn, unknown) is Outcome.EXCEPTION
    with pytest.raises(ExpectationRefused):
        create_expectation(at(db_conn, T0), nmid=NMID_A, amount_sen=1, ttl_us=us(TTL),
                           reference="CHK-N1")  # fmt: skip


REPORT = """rrn,amount,fee,transaction_time,nmid,reference,transaction_id,status
000000000001,15000.00,,2024-12-02 09:10:00,ID1020000000001,CHK-1,t1,SUCCESS
000000000002,20000.00,,2024-12-02 09:12:00,ID1020000000001,,t2,SUCCESS
000000000003,1000000.00,9000.00,2024-12-02 09:20:00,ID1020000000002,CHK-3,t3,SUCCESS
000000000005,30000.00,,2024-12-02 09:06:00,ID1020000000001,,t5,SUCCESS
000000000009,777.00,,2024-12-02 10:00:00,ID1020000000001,,t9,SUCCESS
000000000003,1000000.00,7000.00,2024-12-02 09:21:00,ID1020000000002,CHK-3,t3b,SUCCESS
000000000010,5000.00,,2024-12-02 11:00:00,ID1020000000001,,t10,REFUND
000000000011,16000.00,,2024-12-02 09:11:00,ID1020000000001,CHK-6,t11,SUCCESS
"""


def test_ingest_and_reconcile_a_day(module_conn: Connection, tmp_path: Path) -> None:
    db_conn = module_conn

    def expect(nmid: str, sen: int, ref: str | None, criteria: str = "UMI") -> None:
        create_expectation(at(db_conn, T0), nmid=nmid, amount_sen=sen, ttl_us=us(TTL),
                           reference=ref, criteria=criteria)  # fmt: skip

    expect(NMID_A, 1_500_000, "CHK-1")
    expect(NMID_A, 2_000_000, None)
    expect(NMID_B, 100_000_000, "CHK-3", "UKE")
    expect(NMID_A, 3_000_000, "CHK-5")
    expect(NMID_A, 4_000_000, "CHK-4")  # never paid: expires
    expect(NMID_A, 1_500_000, "CHK-6")  # paid 16000 instead
    # The RRN comes from Midtrans' status API, not from the notification.
    paid = midtrans("CHK-5", "settlement", "30000.00", "tx-5", "2024-12-02 09:06:00",
                    reference_id="000000000005")  # fmt: skip
    assert notify(db_conn, paid) is Outcome.POSTED

    report = tmp_path / "acq-2024-12-02.csv"
    report.write_text(REPORT)
    first = ingest_report(at(db_conn, T0), report, FORMATS["generic"])
    again = ingest_report(at(db_conn, T0), report, FORMATS["generic"])
    assert (first.lines, first.inserted, again.inserted) == (8, 8, 0)

    summary = reconcile_day(
        at(db_conn, T0 + timedelta(days=1)), DAY, expectation_ttl_max_us=us(TTL)
    )
    assert (summary.lines, summary.matched, summary.confirmed) == (8, 3, 1)

    assert credits(db_conn, f"merchant:{NMID_A}:IDR") == 1_500_000 + 2_000_000 + 3_000_000
    assert credits(db_conn, f"merchant:{NMID_B}:IDR") == 100_000_000
    # UKE pays 0.7%: the acquirer reported 9000.00 (schedule says 7000.00) and kept it.
    assert -credits(db_conn, MDR_EXPENSE_ACCOUNT) == 900_000
    assert -credits(db_conn, CLEARING_ACCOUNT) == 106_500_000 - 900_000

    kinds = {(e["kind"], e["rrn"]) for e in list_exceptions(at(db_conn, T0), DAY)}
    assert ("fee_mismatch", "000000000003") in kinds
    assert ("duplicate", "000000000003") in kinds
    assert ("unmatched_report", "000000000009") in kinds
    assert ("refund", "000000000010") in kinds
    assert ("amount_mismatch", "000000000011") in kinds
    assert ("unmatched_expectation", None) in kinds
    assert all(e["action"] for e in list_exceptions(at(db_conn, T0), DAY))

    rerun = reconcile_day(at(db_conn, T0 + timedelta(days=1)), DAY, expectation_ttl_max_us=us(TTL))
    assert (rerun.lines, rerun.postings, rerun.exceptions) == (0, 0, 0)


@dataclass(frozen=True)
class Quote:
    """The test's own reading of the seeded schedule: floor and ceiling of gross x rate."""

    floor_sen: int
    ceil_sen: int

    def accepts(self, reported_sen: int) -> bool:
        return self.floor_sen <= reported_sen <= self.ceil_sen


def scheduled(criteria: str, gross_sen: int) -> Quote:
    """Bank Indonesia's MDR on DAY, as seeded: UMI 0% up to Rp 500.000 and 0.3% above from
    1 Dec 2024, UKE 0.7%; the exact fee as a fraction, rounded both ways."""
    rate = Fraction(7, 1000) if criteria == "UKE" else Fraction(3, 1000)
    if criteria == "UMI" and gross_sen <= 50_000_000:
        rate = Fraction(0)
    exact = gross_sen * rate
    return Quote(math.floor(exact), math.ceil(exact))


def test_mdr_agrees_with_the_schedule_from_both_sources(
    db_conn: Connection, tmp_path: Path
) -> None:
    """One MDR definition prices report lines (set-based) and notifications (one payment):
    every booked fee and fee exception equals the schedule, across band edges, remainders and
    reported fees, from both sources."""
    band_edge = 50_000_000  # UMI: 0% up to Rp 500.000 from 1 Dec 2024, 0.3% above
    amounts = [1, 99, 333, 1_000_001, band_edge - 1, band_edge, band_edge + 1, 123_456_789]
    cases = []
    for i, (criteria, gross) in enumerate((c, a) for c in ("UMI", "UKE") for a in amounts):
        quote = scheduled(criteria, gross)
        reported = (None, quote.floor_sen, quote.ceil_sen, quote.ceil_sen + 1)[i % 4]
        cases.append((f"MDR-{i}", criteria, gross, reported, quote))
        create_expectation(at(db_conn, T0), nmid=NMID_B, amount_sen=gross, ttl_us=us(TTL),
                           reference=f"MDR-{i}", criteria=criteria)  # fmt: skip
    lines = ["rrn,amount,fee,transaction_time,nmid,reference,transaction_id,status"]
    for i, (reference, _, gross, reported, _) in enumerate(cases):
        fee = "" if reported is None else f"{reported // 100}.{reported % 100:02d}"
        lines.append(f"{900 + i:012d},{gross // 100}.{gross % 100:02d},{fee},"
                     f"2024-12-02 09:10:00,{NMID_B},{reference},m{i},SUCCESS")  # fmt: skip
    report = tmp_path / "mdr.csv"
    report.write_text("\n".join(lines) + "\n")
    ingest_report(at(db_conn, T0), report, FORMATS["generic"])
    reconcile_day(at(db_conn, T0 + timedelta(days=1)), DAY, expectation_ttl_max_us=us(TTL))

    booked = dict(
        db_conn.execute(
            text("SELECT reference, fee_sen FROM qris_expectations WHERE reference LIKE 'MDR-%'")
        ).all()
    )
    flagged = {
        e["reference"] for e in list_exceptions(at(db_conn, T0), DAY) if e["kind"] == "fee_mismatch"
    }
    for reference, _, gross, reported, quote in cases:
        assert booked[reference] == (quote.floor_sen if reported is None else min(reported, gross))
        assert (reference in flagged) == (reported is not None and not quote.accepts(reported))

    for i, (_, criteria, gross, reported, quote) in enumerate(cases):
        mdr = price(db_conn, criteria, gross, reported, DAY)
        assert (mdr.floor_sen, mdr.ceil_sen) == (quote.floor_sen, quote.ceil_sen), cases[i]
        assert mdr.fee_sen == (quote.floor_sen if reported is None else min(reported, gross))
        assert mdr.disputed == (reported is not None and not quote.accepts(reported))


def test_a_payment_without_its_time_is_listed_on_the_clocks_wib_day(db_conn: Connection) -> None:
    rrn = f"{uuid.uuid4().int % 10**12:012d}"
    event = QrisEvent(provider="midtrans", provider_tx_id=f"tx-{rrn}", status=EventStatus.PAID,
                      provider_status="settlement", amount_sen=100, fee_sen=None, rrn=rrn,
                      nmid="ID1020000000999", reference=None, paid_at=None)  # fmt: skip
    evening_utc = datetime(2024, 12, 1, 18, 30, tzinfo=UTC)  # 01:30 WIB on 2 December

    assert apply_notification(at(db_conn, evening_utc), event).outcome is Outcome.EXCEPTION

    def listed(day: date) -> list[str]:
        rows = list_exceptions(at(db_conn, evening_utc), day)
        return [row["kind"] for row in rows if row["rrn"] == rrn]

    assert listed(date(2024, 12, 2)) == ["unmatched_event"]
    assert listed(date(2024, 12, 1)) == []
