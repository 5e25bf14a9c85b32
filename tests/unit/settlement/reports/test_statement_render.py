"""The statement's month, its categories and its two renderings (CSV and a printable page)."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escrow.calendar import month_range_us
from settlement.chart import TransferCode
from settlement.reports import ReportRefused
from settlement.reports.statement import (
    CSV_HEADER,
    AssetStatement,
    Category,
    FeeLine,
    MovementLine,
    RefundLine,
    Statement,
    TenderSales,
    categorise,
    parse_month,
    statement_csv,
    statement_html,
)

MARCH_2026 = month_range_us(2026, 3)


def statement(name: str = "Pecel Bu Tin", *, final: bool = True) -> Statement:
    start, end = MARCH_2026
    return Statement(
        merchant_id="UM001",
        merchant_name=name,
        kelurahan="Kelurahan A",
        rt="01",
        nmid="ID1020000000001",
        month="2026-03",
        starts_at_us=start,
        ends_at_us=end,
        as_of_us=end - 1 if final else start + 10**9,
        final=final,
        checkouts_released=2,
        price_units=3_000_000,
        discount_units=0,
        sales=(
            TenderSales("PI", "PI", 2, 10_000_000, 1_500_000),
            TenderSales("QRIS", "IDR", 2, 1_500_000, 1_500_000),
        ),
        fees=(
            FeeLine("platform_fee", "IDR", 2, 15_000, True),
            FeeLine("qris_mdr", "IDR", 2, 4_500, False),
        ),
        refunds=(RefundLine("excess", "IDR", 1, 50_000),),
        assets=(
            AssetStatement(
                "IDR",
                100_000,
                1_577_500,
                (
                    MovementLine(Category.SALES, "IDR", 2, 1_477_500),
                    MovementLine(Category.PAYOUT, "IDR", 1, 0),
                ),
            ),
            AssetStatement("PI", 0, 9_850_000, (MovementLine(Category.SALES, "PI", 2, 9_850_000),)),
        ),
    )


@pytest.mark.parametrize(
    "month", ["2026-3", "2026-13", "2026-00", "26-03", "2026/03", "0000-01", "9999-12", " 2026-03"]
)
def test_a_month_not_written_yyyy_mm_is_refused(month: str) -> None:
    with pytest.raises(ReportRefused) as refused:
        parse_month(month, now_us=MARCH_2026[1])
    assert refused.value.code == "statement_month_invalid"


def test_a_month_that_has_not_started_is_refused_and_one_that_has_is_read() -> None:
    start, end = MARCH_2026
    with pytest.raises(ReportRefused) as refused:
        parse_month("2026-03", now_us=start - 1)
    assert refused.value.code == "statement_month_not_started"
    assert parse_month("2026-03", now_us=start) == (start, end)


@given(st.sampled_from([str(c) for c in TransferCode]) | st.text(min_size=1), st.booleans())
def test_every_movement_has_one_category_of_its_direction(code: str, incoming: bool) -> None:
    assert categorise(code, incoming).incoming is incoming


def test_a_payout_is_any_debit_but_a_share_or_a_refund() -> None:
    assert categorise(TransferCode.PI_PAYOUT, incoming=False) is Category.PAYOUT
    assert categorise("bank.payout", incoming=False) is Category.PAYOUT
    assert categorise(TransferCode.CHECKOUT_PLATFORM_FEE, incoming=False) is Category.SHARES
    assert categorise(TransferCode.CHECKOUT_COMMUNITY_FUND, incoming=False) is Category.SHARES
    assert categorise(TransferCode.CHECKOUT_REFUND, incoming=False) is Category.REFUND
    assert categorise(TransferCode.CHECKOUT_RELEASE, incoming=True) is Category.SALES
    assert categorise(TransferCode.CAMPAIGN_DISCOUNT, incoming=True) is Category.DISCOUNT


def test_the_csv_has_indonesian_headers_and_decimal_amounts_with_their_asset() -> None:
    rows = list(csv.reader(io.StringIO(statement_csv(statement()), newline="")))
    assert tuple(rows[0]) == CSV_HEADER
    assert all(len(row) == len(CSV_HEADER) for row in rows)
    by_label = {(row[0], row[1], row[2]): row for row in rows[1:]}
    assert by_label[("Identitas", "Nama usaha", "")][5] == "Pecel Bu Tin"
    assert by_label[("Penjualan", "Pi", "PI")][3:5] == ["1.0000000", "2"]
    assert by_label[("Penjualan", "QRIS", "IDR")][3] == "15000.00"
    assert by_label[("Saldo", "Saldo awal", "IDR")][3] == "1000.00"
    assert by_label[("Saldo", "Saldo akhir", "PI")][3] == "0.9850000"
    mdr = by_label[("Potongan dan biaya", "Biaya MDR QRIS", "IDR")]
    assert mdr[5] == "ditanggung penyelenggara, tidak dipotong"
    assert statement_csv(statement()).endswith("\r\n")


@pytest.mark.parametrize("name", ['=HYPERLINK("http://x")', "+1", "@SUM(A1)", "-2+3"])
def test_a_csv_cell_is_never_a_spreadsheet_formula(name: str) -> None:
    rows = list(csv.reader(io.StringIO(statement_csv(statement(name)), newline="")))
    (shown,) = [row[5] for row in rows if row[1] == "Nama usaha"]
    assert shown == "'" + name


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += attrs

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_page_is_self_contained_printable_and_indonesian() -> None:
    page = statement_html(statement())
    parsed = _Page()
    parsed.feed(page)
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="id">' in page
    assert "script" not in parsed.tags
    assert "link" not in parsed.tags
    assert "img" not in parsed.tags
    assert [a for a in parsed.attributes if a[0] in {"src", "href"}] == []
    assert re.search(r"https?:|url\(", page) is None
    assert "@media print" in page
    assert "@page" in page
    text = " ".join(parsed.text)
    for words in (
        "Laporan Transaksi Bulanan",
        "Maret 2026",
        "Saldo awal",
        "Saldo akhir",
        "Rp 15.000",
        "0,9850000 PI",
        "Biaya platform",
        "Kelebihan bayar",
        "Final",
    ):
        assert words in text, words


def test_an_unfinished_month_says_so() -> None:
    page = statement_html(statement(final=False))
    assert "Sementara, per" in page
    assert "Final" not in page


def test_every_field_of_the_page_is_escaped() -> None:
    page = statement_html(statement('<script>alert("x")</script> & Co'))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in page


def test_the_sample_statement_balances() -> None:
    assert all(account.balanced for account in statement().assets)
