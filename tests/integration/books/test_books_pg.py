"""The treasury's books of months closed on PostgreSQL: they balance per asset, tie to the trial
balance, and agree with the reserves the month's audit bundle publishes (issue 12 item 10)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from nacl.signing import SigningKey
from sqlalchemy import Connection

from escrow.clock import FixedClock, SystemClock
from escrow.model import ResultCode, TransferFlags, TransferRequest
from escrow.periods import period, period_of
from escrow.refusals import Refusal
from settlement import chart
from settlement.audit import bundle as b
from settlement.audit.export import export_period
from settlement.audit.signing import Officers, load_officers
from settlement.books.month import month_books
from settlement.books.render import books_csv, books_html, neraca_view
from settlement.chart import TransferCode
from settlement.unit_of_work import UnitOfWork, bind

pytestmark = pytest.mark.integration
KEY = b"books-pseudonym-key"
DAY_US = 24 * 3600 * 1_000_000
MERCHANT = "UMbooks01"
PIONEER = "u-books"


@pytest.fixture
def officers(tmp_path: Path) -> Officers:
    path = tmp_path / "officers.json"
    key = SigningKey.generate()
    entry = {"name": "officer", "public_key": bytes(key.verify_key).hex()}
    path.write_text(json.dumps({"threshold": 1, "officers": [entry]}))
    return load_officers(path)


def _post(
    uow: UnitOfWork,
    clock: FixedClock,
    debit: chart.AccountSpec,
    credit: chart.AccountSpec,
    amount: int,
    code: TransferCode,
    flags: TransferFlags = TransferFlags.NONE,
) -> None:
    for spec in (debit, credit):
        chart.open_account(uow.ledger, spec)
    clock.advance(60)
    request = TransferRequest(
        uuid.uuid4(), debit.code, credit.code, amount, debit.asset, code, flags
    )
    assert uow.ledger.post(request).code is ResultCode.OK


def _month(uow: UnitOfWork, clock: FixedClock, scale: int) -> None:
    """A month of QRIS receipts, platform fees, Pi in and its network fee, points funded, and a
    hold left pending (not a posted balance)."""
    merchant = chart.merchant_idr(MERCHANT)
    _post(
        uow, clock, chart.qris_clearing(), merchant, 1_489_500 * scale, TransferCode.QRIS_RECEIVED
    )
    _post(uow, clock, chart.qris_mdr(), merchant, 10_500 * scale, TransferCode.QRIS_MDR)
    _post(uow, clock, merchant, chart.platform_fee("IDR"), 15_000 * scale,
          TransferCode.CHECKOUT_PLATFORM_FEE)  # fmt: skip
    _post(uow, clock, merchant, chart.qris_refunds(), 700, TransferCode.CHECKOUT_REFUND,
          TransferFlags.PENDING)  # fmt: skip
    _post(uow, clock, chart.pi_custody(), chart.pioneer_pi(PIONEER), 31_415_926 * scale,
          TransferCode.PI_RECEIVED)  # fmt: skip
    _post(
        uow,
        clock,
        chart.pi_network_fees(),
        chart.pi_custody(),
        100_000,
        TransferCode.PI_NETWORK_FEE,
    )
    _post(uow, clock, chart.mscp_authorised(), chart.mscp_budget(), 5_000 * scale,
          TransferCode.POINTS_FUNDED)  # fmt: skip


def _close(uow: UnitOfWork, clock: FixedClock, name: str) -> None:
    clock.advance_to(period(name).ends_at_us + DAY_US)
    uow.ledger.close_period(name, "test")  # type: ignore[attr-defined]


def _reserves(
    conn: Connection, name: str, officers: Officers, out: Path
) -> dict[str, dict[str, int]]:
    export = export_period(bind(conn, SystemClock()), name, out, KEY, officers, "test")
    manifest = json.loads((export.staging / b.MANIFEST).read_text())
    return manifest["reserves"]  # type: ignore[no-any-return]


def test_two_closed_months_tie_to_their_audit_bundles(
    module_conn: Connection, clock: FixedClock, officers: Officers, tmp_path: Path
) -> None:
    uow = bind(module_conn, clock)
    first = period_of(clock.now_us())
    _month(uow, clock, 1)
    _close(uow, clock, first)
    clock.advance(3 * DAY_US // 1_000_000)
    second = period_of(clock.now_us())
    _month(uow, clock, 2)
    _close(uow, clock, second)
    now = clock.now_us()

    for name in (first, second):
        books = month_books(module_conn, name, now)
        published = _reserves(module_conn, name, officers, tmp_path / name)
        for sheet, trial in zip(books.neraca, books.trial_balance, strict=True):
            assert sheet.balanced, sheet
            assert trial.balanced
            kinds = sheet.by_kind()
            assert kinds["asset"] == (
                kinds["liability"] + kinds["equity"] + kinds["income"] - kinds["expense"]
            )
            # the same balances the bundle publishes, kind by kind, asset by asset
            expected = published.get(sheet.books.asset, dict.fromkeys(b.KINDS, 0))
            assert kinds == expected, (name, sheet.books.asset)

    books = month_books(module_conn, second, now)
    idr = {s.books.asset: s for s in books.laba_rugi}["IDR"]
    assert idr.books.total("income") == 30_000  # the second month's fees alone
    assert idr.books.total("expense") == 21_000
    sheet = {s.books.asset: s for s in books.neraca}["IDR"]
    assert sheet.retained_units == 15_000 - 10_500
    assert sheet.result_units == 30_000 - 21_000
    pi = {s.books.asset: s for s in books.laba_rugi}["PI"]
    assert pi.result_units == -100_000  # Pi fees are Pi, never added to Rupiah
    lines = {line.pattern: line for line in sheet.books.lines}
    assert [a.code for a in lines["merchant:{merchant}:IDR"].accounts] == [
        chart.merchant_idr(MERCHANT).code
    ]

    csv_text = books_csv(books, "neraca")
    assert '"Aset","Dana di acquirer QRIS (kliring)","IDR"' in csv_text
    assert '"Rincian","Utang kepada merchant","IDR"' in csv_text
    assert chart.merchant_idr(MERCHANT).code in csv_text
    page = books_html(books, "laba-rugi")
    assert "Laporan Laba Rugi Treasury" in page
    assert "<script" not in page
    assert neraca_view(books)["transfer_count"] == books.transfer_count


def test_the_books_of_a_month_not_closed_are_refused(
    module_conn: Connection, clock: FixedClock
) -> None:
    with pytest.raises(Refusal) as refused:
        month_books(module_conn, period_of(clock.now_us()), clock.now_us())
    assert refused.value.code == "books_month_not_closed"
    with pytest.raises(Refusal) as invalid:
        month_books(module_conn, "2026-13", clock.now_us())
    assert invalid.value.code == "statement_month_invalid"
