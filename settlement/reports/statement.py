"""The monthly statement of a merchant, in Bahasa Indonesia: the record a stall shows a bank.

Two views of one month (WIB, ``escrow.calendar.month_range_us``), each from its own source:

- **What was sold**: the checkouts released in the month (``checkouts.closed_at``): sales per
  tender (the legs' amounts in their asset, and their Rupiah value), the Pi-Zone discounts the
  campaigns paid, the shares taken from them (each leg's ``checkout.platform_fee`` and
  ``checkout.community_fund`` transfers, by the ids the release gives them) and the QRIS MDR
  of their QRIS legs (the ``qris.mdr`` transfer of each leg's expectation; the
  treasury bears it, so it is shown and not deducted), and the refunds of the merchant's
  checkouts made in the month (``checkout_refunds``).
- **What the ledger holds**: per asset, the posted balance of ``merchant:{mid}:{asset}`` at the
  month's first and last microsecond, and every posted movement between them by category. The
  opening and closing balances are read separately from the movements, so ``opening + credits -
  debits = closing`` is a check, not an identity (``tests`` hold it for every asset).

What counts as what is decision 0019 (``docs/decisions/0019-merchant-statement.md``). A month
not over yet is answered as it stands (``final`` is False); a month not started is refused.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, text

from escrow.calendar import format_wib, from_us, month_range_us
from escrow.clock import SystemClock
from escrow.model import transfer_id
from settlement.chart import TransferCode
from settlement.checkout.rules import share_id
from settlement.merchants.model import MerchantRefused
from settlement.merchants.service import find
from settlement.qris.posting import MDR_NAMESPACE
from settlement.reports import (
    MERCHANT_ASSETS,
    ReportRefused,
    amount_display,
    amount_text,
    amount_view,
    merchant_account_codes,
)

__all__ = [
    "AssetStatement",
    "Category",
    "FeeLine",
    "MovementLine",
    "RefundLine",
    "Statement",
    "TenderSales",
    "categorise",
    "monthly_statement",
    "parse_month",
    "statement_csv",
    "statement_html",
    "statement_view",
]

_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
_POSTED = (0, 4)
"""Stored transfer flags that change a posted balance: plain, and a pending transfer posted."""
MONTHS_ID = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)


class Category(StrEnum):
    """Where a posted movement of a merchant's account belongs in the statement."""

    SALES = "sales"
    DISCOUNT = "discount"
    QRIS_DIRECT = "qris_direct"
    OTHER_IN = "other_in"
    SHARES = "shares"
    REFUND = "refund"
    PAYOUT = "payout"

    @property
    def incoming(self) -> bool:
        """True for the categories that credit the merchant."""
        return self in _INCOMING


_INCOMING = frozenset({Category.SALES, Category.DISCOUNT, Category.QRIS_DIRECT, Category.OTHER_IN})
_IN_BY_CODE: dict[str, Category] = {
    TransferCode.CHECKOUT_RELEASE: Category.SALES,
    TransferCode.CAMPAIGN_DISCOUNT: Category.DISCOUNT,
    TransferCode.QRIS_RECEIVED: Category.QRIS_DIRECT,
    TransferCode.QRIS_MDR: Category.QRIS_DIRECT,
}
_OUT_BY_CODE: dict[str, Category] = {
    TransferCode.CHECKOUT_PLATFORM_FEE: Category.SHARES,
    TransferCode.CHECKOUT_COMMUNITY_FUND: Category.SHARES,
    TransferCode.CHECKOUT_REFUND: Category.REFUND,
}


def categorise(code: str, incoming: bool) -> Category:
    """The category of a posted movement with transfer ``code`` into (or out of) the merchant.

    A payout is every posted debit of a merchant's account that is neither a share nor a refund:
    whatever leaves the balance towards the merchant (bank transfer, A2U, conversion).
    """
    if incoming:
        return _IN_BY_CODE.get(code, Category.OTHER_IN)
    return _OUT_BY_CODE.get(code, Category.PAYOUT)


@dataclass(frozen=True, slots=True)
class TenderSales:
    """The legs of one tender of the checkouts released in the month."""

    tender: str
    asset: str
    legs: int
    amount_units: int
    idr_units: int


@dataclass(frozen=True, slots=True)
class FeeLine:
    """A share or fee taken from the month's released checkouts."""

    kind: str
    """``platform_fee``, ``community_fund`` or ``qris_mdr``."""
    asset: str
    transfers: int
    amount_units: int
    deducted: bool
    """False for the QRIS MDR: the treasury bears it, the merchant is paid the gross."""


@dataclass(frozen=True, slots=True)
class RefundLine:
    """Refunds of the merchant's checkouts made in the month, per reason and asset."""

    reason: str
    asset: str
    refunds: int
    amount_units: int


@dataclass(frozen=True, slots=True)
class MovementLine:
    """Posted movements of one category of one asset in the month."""

    category: Category
    asset: str
    transfers: int
    amount_units: int


@dataclass(frozen=True, slots=True)
class AssetStatement:
    """Opening balance, movements, closing balance of one of the merchant's accounts."""

    asset: str
    opening_units: int
    closing_units: int
    movements: tuple[MovementLine, ...]

    @property
    def credits_units(self) -> int:
        """Everything posted into the account in the month."""
        return sum(m.amount_units for m in self.movements if m.category.incoming)

    @property
    def debits_units(self) -> int:
        """Everything posted out of the account in the month."""
        return sum(m.amount_units for m in self.movements if not m.category.incoming)

    @property
    def balanced(self) -> bool:
        """Whether opening + credits - debits = closing (always, unless the ledger is broken)."""
        return self.opening_units + self.credits_units - self.debits_units == self.closing_units


@dataclass(frozen=True, slots=True)
class Statement:
    """A merchant's month: identity, sales, fees, refunds and each asset's balances."""

    merchant_id: str
    merchant_name: str
    kelurahan: str
    rt: str | None
    nmid: str | None
    month: str
    starts_at_us: int
    ends_at_us: int
    """The first microsecond of the next month (the month is ``[starts_at_us, ends_at_us)``)."""
    as_of_us: int
    final: bool
    """False while the month is still running: the figures are as of ``as_of_us``."""
    checkouts_released: int
    price_units: int
    discount_units: int
    sales: tuple[TenderSales, ...]
    fees: tuple[FeeLine, ...]
    refunds: tuple[RefundLine, ...]
    assets: tuple[AssetStatement, ...]


def parse_month(month: str, now_us: int) -> tuple[int, int]:
    """``[first µs, first µs of the next month)`` of ``YYYY-MM`` (WIB).

    Refused: anything but ``YYYY-MM`` from 0001-01 to 9999-11 (``statement_month_invalid``),
    a month that starts after ``now_us`` (``statement_month_not_started``).
    """
    found = _MONTH.fullmatch(month) if isinstance(month, str) else None
    try:
        if found is None:
            raise ValueError(month)
        start, end = month_range_us(int(found.group(1)), int(found.group(2)))
    except (ValueError, OverflowError):
        raise ReportRefused(
            f"a statement month is YYYY-MM, not {month!r:.40}", code="statement_month_invalid"
        ) from None
    if start > now_us:
        raise ReportRefused(f"{month} has not started", code="statement_month_not_started")
    return start, end


def monthly_statement(
    conn: Connection, merchant_id: str, month: str, *, now_us: int | None = None
) -> Statement:
    """The statement of ``merchant_id`` for ``month`` (``YYYY-MM``, WIB), as of ``now_us``.

    ``merchant_unknown`` for a merchant that was never onboarded. ``now_us`` is the
    caller's clock (the unit of work's); the system clock when omitted.
    """
    now = SystemClock().now_us() if now_us is None else now_us
    start, end = parse_month(month, now)
    merchant = find(conn, merchant_id)
    if merchant is None:
        raise MerchantRefused(f"no merchant {merchant_id!r:.40}", code="merchant_unknown")
    window = {"m": merchant_id, "start": from_us(start), "end": from_us(end)}
    totals = conn.execute(_RELEASED_TOTALS, window).one()
    return Statement(
        merchant_id=merchant.id,
        merchant_name=merchant.name,
        kelurahan=merchant.kelurahan,
        rt=merchant.rt,
        nmid=merchant.nmid,
        month=month,
        starts_at_us=start,
        ends_at_us=end,
        as_of_us=min(now, end - 1),
        final=now >= end,
        checkouts_released=int(totals.checkouts),
        price_units=int(totals.price),
        discount_units=int(totals.discount),
        sales=tuple(
            TenderSales(r.tender, r.asset, int(r.legs), int(r.amount), int(r.idr))
            for r in conn.execute(_SALES, window)
        ),
        fees=(*_shares(conn, window), *_mdr(conn, window)),
        refunds=tuple(
            RefundLine(r.reason, r.asset, int(r.refunds), int(r.amount))
            for r in conn.execute(_REFUNDS, window)
        ),
        assets=_assets(conn, merchant_id, start, end),
    )


_RELEASED = """
    SELECT c.id, c.price_units, c.discount_units FROM checkouts c
    WHERE c.merchant_id = :m AND c.status = 'released'
      AND c.closed_at >= :start AND c.closed_at < :end
"""
"""The month's released checkouts (index ``checkouts_released_by_merchant``, migration 0013)."""
_RELEASED_TOTALS = text(
    f"SELECT count(*) AS checkouts, coalesce(sum(price_units), 0) AS price,"  # noqa: S608 - constant SQL
    f" coalesce(sum(discount_units), 0) AS discount FROM ({_RELEASED}) released"
)
_SALES = text(
    f"""
    SELECT l.tender, l.asset, count(*) AS legs, sum(l.amount_units) AS amount,
           sum(l.idr_units) AS idr
    FROM ({_RELEASED}) released JOIN checkout_legs l ON l.checkout_id = released.id
    WHERE l.status NOT IN ('refunded', 'cancelled')
    GROUP BY l.tender, l.asset ORDER BY l.tender, l.asset
    """  # noqa: S608 - constant SQL
)
_RELEASED_LEGS = text(
    f"SELECT l.reference FROM ({_RELEASED}) released"  # noqa: S608 - constant SQL
    " JOIN checkout_legs l ON l.checkout_id = released.id"
)
_SHARES = text(
    "SELECT code, asset, count(*) AS transfers, sum(amount) AS amount FROM transfers"
    " WHERE id = ANY(:ids) AND flags IN (0, 4) GROUP BY code, asset ORDER BY code, asset"
)
_QRIS_EXPECTATIONS = text(
    f"""
    SELECT e.id FROM ({_RELEASED}) released
    JOIN checkout_legs l ON l.checkout_id = released.id AND l.tender = 'QRIS'
    JOIN qris_expectations e ON e.reference = l.reference
    """  # noqa: S608 - constant SQL
)
_MDR = text(
    "SELECT count(*) AS transfers, coalesce(sum(amount), 0) AS amount FROM transfers"
    " WHERE id = ANY(:ids) AND code = :code"
)
_REFUNDS = text(
    """
    SELECT r.reason, r.asset, count(*) AS refunds, sum(r.amount_units) AS amount
    FROM checkout_refunds r JOIN checkouts c ON c.id = r.checkout_id
    WHERE c.merchant_id = :m AND r.created_at >= :start AND r.created_at < :end
    GROUP BY r.reason, r.asset ORDER BY r.asset, r.reason
    """
)
"""Refunds by when they were made (index ``checkout_refunds_by_time``, migration 0013)."""


def _shares(conn: Connection, window: dict[str, Any]) -> Iterator[FeeLine]:
    """Each released leg's share transfers, found by the ids the release gives them
    (``settlement.checkout.rules.share_id``): primary-key reads, one per leg and share."""
    kinds = {
        TransferCode.CHECKOUT_PLATFORM_FEE: "platform_fee",
        TransferCode.CHECKOUT_COMMUNITY_FUND: "community_fund",
    }
    legs = [row.reference for row in conn.execute(_RELEASED_LEGS, window)]
    if not legs:
        return
    ids = [share_id(code, leg) for leg in legs for code in kinds]
    for row in conn.execute(_SHARES, {"ids": ids}):
        yield FeeLine(kinds[row.code], row.asset, int(row.transfers), int(row.amount), True)


def _mdr(conn: Connection, window: dict[str, Any]) -> Iterator[FeeLine]:
    """The ``qris.mdr`` transfer of each QRIS leg's expectation, found by its id (the QRIS rail
    derives it from the expectation: ``settlement.qris.posting``)."""
    ids = [
        transfer_id(MDR_NAMESPACE, str(row.id)) for row in conn.execute(_QRIS_EXPECTATIONS, window)
    ]
    if not ids:
        return
    row = conn.execute(_MDR, {"ids": ids, "code": str(TransferCode.QRIS_MDR)}).one()
    if int(row.transfers):
        yield FeeLine("qris_mdr", "IDR", int(row.transfers), int(row.amount), False)


_BALANCES = text(
    """
    SELECT a.id, a.asset, a.credits_posted - a.debits_posted AS now,
      coalesce((SELECT sum(amount) FROM transfers WHERE credit_account_id = a.id
                AND ts >= :start AND flags IN (0, 4)), 0)
      - coalesce((SELECT sum(amount) FROM transfers WHERE debit_account_id = a.id
                  AND ts >= :start AND flags IN (0, 4)), 0) AS since_start,
      coalesce((SELECT sum(amount) FROM transfers WHERE credit_account_id = a.id
                AND ts >= :end AND flags IN (0, 4)), 0)
      - coalesce((SELECT sum(amount) FROM transfers WHERE debit_account_id = a.id
                  AND ts >= :end AND flags IN (0, 4)), 0) AS since_end
    FROM accounts a WHERE a.code = ANY(:codes)
    """
)
"""A balance at a moment is the account's posted total now less what was posted since: the cost
is the transfers since the month began (a recent month is the one asked for), on the
``(account, ts)`` indexes."""
_MOVEMENTS = text(
    """
    SELECT a.asset, t.code, true AS incoming, count(*) AS transfers, sum(t.amount) AS amount
    FROM accounts a JOIN transfers t ON t.credit_account_id = a.id
    WHERE a.code = ANY(:codes) AND t.ts >= :start AND t.ts < :end AND t.flags IN (0, 4)
    GROUP BY a.asset, t.code
    UNION ALL
    SELECT a.asset, t.code, false, count(*), sum(t.amount)
    FROM accounts a JOIN transfers t ON t.debit_account_id = a.id
    WHERE a.code = ANY(:codes) AND t.ts >= :start AND t.ts < :end AND t.flags IN (0, 4)
    GROUP BY a.asset, t.code
    """
)


def _assets(conn: Connection, merchant_id: str, start: int, end: int) -> tuple[AssetStatement, ...]:
    """Each opened account (IDR always): balances at both ends and the movements between."""
    params = {
        "codes": sorted(merchant_account_codes(merchant_id).values()),
        "start": start,
        "end": end,
    }
    balances = {row.asset: row for row in conn.execute(_BALANCES, params)}
    lines: dict[tuple[str, Category], list[int]] = {}
    for row in conn.execute(_MOVEMENTS, params):
        line = lines.setdefault((row.asset, categorise(row.code, row.incoming)), [0, 0])
        line[0] += int(row.transfers)
        line[1] += int(row.amount)
    found = []
    for code in MERCHANT_ASSETS:
        balance = balances.get(code)
        if balance is None and code != "IDR":
            continue
        now, since_start, since_end = (0, 0, 0) if balance is None else _ints(balance)
        movements = tuple(
            MovementLine(category, code, *lines[(code, category)])
            for category in Category
            if (code, category) in lines
        )
        found.append(AssetStatement(code, now - since_start, now - since_end, movements))
    return tuple(found)


def _ints(row: Row[Any]) -> tuple[int, int, int]:
    return int(row.now), int(row.since_start), int(row.since_end)


# --- rendering -------------------------------------------------------------------------------

TENDER_LABELS = {"PI": "Pi", "QRIS": "QRIS", "MSC": "MSC (Madiun Stable Coin)", "MSCP": "Poin MSC"}
FEE_LABELS = {
    "platform_fee": "Biaya platform",
    "community_fund": "Dana komunitas",
    "qris_mdr": "Biaya MDR QRIS",
}
REFUND_LABELS = {
    "excess": "Kelebihan bayar",
    "underpaid": "Pembayaran kurang",
    "late": "Pembayaran terlambat",
    "duplicate": "Pembayaran ganda",
    "expired": "Checkout kedaluwarsa",
    "refunded": "Dikembalikan atas permintaan merchant",
    "decision": "Keputusan sengketa",
    "suspended": "Merchant dibekukan",
}
CATEGORY_LABELS = {
    Category.SALES: "Penjualan diterima (setelah bagi hasil)",
    Category.DISCOUNT: "Subsidi diskon Pi-Zone",
    Category.QRIS_DIRECT: "Pembayaran QRIS langsung",
    Category.OTHER_IN: "Penerimaan lain",
    Category.SHARES: "Bagi hasil dipotong dari saldo",
    Category.REFUND: "Pengembalian dana dari saldo",
    Category.PAYOUT: "Pencairan dana",
}
CSV_HEADER = ("Bagian", "Uraian", "Aset", "Jumlah", "Banyaknya", "Keterangan")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_AMOUNT_CLASS = ' class="amount"'


def month_label(month: str) -> str:
    """``2026-03`` as ``Maret 2026``."""
    year, number = month.split("-")
    return f"{MONTHS_ID[int(number) - 1]} {year}"


def _status(s: Statement) -> str:
    if s.final:
        return "Final"
    return f"Sementara, per {format_wib(s.as_of_us)}"


def _identity(s: Statement) -> list[tuple[str, str]]:
    return [
        ("Merchant", s.merchant_id),
        ("Nama usaha", s.merchant_name),
        ("Kelurahan", s.kelurahan + (f", RT {s.rt}" if s.rt else "")),
        ("NMID", s.nmid or "-"),
        (
            "Periode",
            f"{month_label(s.month)} ({format_wib(s.starts_at_us)} s.d. "
            f"{format_wib(s.ends_at_us - 1)})",
        ),
        ("Status", _status(s)),
    ]


def _fee_note(line: FeeLine) -> str:
    return (
        "dipotong dari penjualan" if line.deducted else "ditanggung penyelenggara, tidak dipotong"
    )


def _cell(value: str) -> str:
    """A text cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv_rows(s: Statement) -> Iterator[tuple[str, str, str, str, str, str]]:
    for label, value in _identity(s):
        yield "Identitas", label, "", "", "", _cell(value)
    yield (
        "Penjualan",
        "Checkout selesai (harga)",
        "IDR",
        amount_text(s.price_units, "IDR"),
        str(s.checkouts_released),
        "",
    )
    yield (
        "Penjualan",
        "Diskon Pi-Zone (dibayar kampanye)",
        "IDR",
        amount_text(s.discount_units, "IDR"),
        "",
        "",
    )
    for sale in s.sales:
        yield (
            "Penjualan",
            TENDER_LABELS.get(sale.tender, sale.tender),
            sale.asset,
            amount_text(sale.amount_units, sale.asset),
            str(sale.legs),
            f"senilai {amount_text(sale.idr_units, 'IDR')} IDR",
        )
    for fee in s.fees:
        yield (
            "Potongan dan biaya",
            FEE_LABELS[fee.kind],
            fee.asset,
            amount_text(fee.amount_units, fee.asset),
            str(fee.transfers),
            _fee_note(fee),
        )
    for refund in s.refunds:
        yield (
            "Pengembalian dana",
            REFUND_LABELS.get(refund.reason, refund.reason),
            refund.asset,
            amount_text(refund.amount_units, refund.asset),
            str(refund.refunds),
            "",
        )
    for account in s.assets:
        a = account.asset
        yield "Saldo", "Saldo awal", a, amount_text(account.opening_units, a), "", ""
        for m in account.movements:
            yield (
                "Mutasi",
                CATEGORY_LABELS[m.category],
                a,
                amount_text(m.amount_units, a),
                str(m.transfers),
                "masuk" if m.category.incoming else "keluar",
            )
        yield "Saldo", "Saldo akhir", a, amount_text(account.closing_units, a), "", ""


def statement_csv(s: Statement) -> str:
    """The statement as CSV (RFC 4180, CRLF): Indonesian headers, one row per figure, amounts as
    decimal text at the asset's scale with the asset in its own column."""
    out = io.StringIO()
    # every field quoted: a spreadsheet set to split on ";" (Indonesian Excel) never cuts a
    # merchant's name into a cell of its own that could start a formula
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(CSV_HEADER)
    writer.writerows(_csv_rows(s))
    return out.getvalue()


_STYLE = """
  body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 11pt; color: #111;
         margin: 2em auto; max-width: 48em; }
  h1 { font-size: 16pt; margin-bottom: 0.2em; }
  h2 { font-size: 12pt; margin-top: 1.4em; border-bottom: 1px solid #444; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 0.25em 0.5em; border-bottom: 1px solid #ccc;
           vertical-align: top; }
  td.amount, th.amount { text-align: right; white-space: nowrap; }
  tr.total td { font-weight: bold; border-top: 2px solid #444; }
  .note { color: #555; font-size: 9pt; }
  @page { size: A4; margin: 15mm; }
  @media print {
    body { margin: 0; max-width: none; font-size: 10pt; }
    h2 { break-after: avoid; }
    table, tr { break-inside: avoid; }
    .no-print { display: none; }
  }
"""


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], amounts: frozenset[int]) -> str:
    """An HTML table; every cell is escaped here, columns in ``amounts`` right-aligned."""

    def cells(tag: str, values: Sequence[str]) -> str:
        return "".join(
            f"<{tag}{_AMOUNT_CLASS if i in amounts else ''}>{html.escape(v)}</{tag}>"
            for i, v in enumerate(values)
        )

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<table><thead><tr>{cells('th', header)}</tr></thead><tbody>{body}</tbody></table>"


def statement_html(s: Statement) -> str:
    """The statement as one printable, self-contained HTML page (no script, no outside asset)."""
    e = html.escape
    identity = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _identity(s))
    sales = _table(
        ("Metode pembayaran", "Banyaknya", "Jumlah", "Senilai"),
        [
            (
                "Checkout selesai (harga)",
                str(s.checkouts_released),
                amount_display(s.price_units, "IDR"),
                "",
            ),
            ("Diskon Pi-Zone (dibayar kampanye)", "", amount_display(s.discount_units, "IDR"), ""),
            *(
                (
                    TENDER_LABELS.get(x.tender, x.tender),
                    str(x.legs),
                    amount_display(x.amount_units, x.asset),
                    amount_display(x.idr_units, "IDR"),
                )
                for x in s.sales
            ),
        ],
        frozenset({1, 2, 3}),
    )
    fees = _table(
        ("Uraian", "Banyaknya", "Jumlah", "Keterangan"),
        [
            (
                FEE_LABELS[f.kind],
                str(f.transfers),
                amount_display(f.amount_units, f.asset),
                _fee_note(f),
            )
            for f in s.fees
        ],
        frozenset({1, 2}),
    )
    refunds = _table(
        ("Alasan", "Banyaknya", "Jumlah"),
        [
            (
                REFUND_LABELS.get(r.reason, r.reason),
                str(r.refunds),
                amount_display(r.amount_units, r.asset),
            )
            for r in s.refunds
        ],
        frozenset({1, 2}),
    )
    balances = "".join(_asset_html(account) for account in s.assets)
    title = f"Laporan Transaksi Bulanan {month_label(s.month)} - {s.merchant_name}"
    return (
        '<!DOCTYPE html>\n<html lang="id"><head><meta charset="utf-8">'
        f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>Laporan Transaksi Bulanan</h1><p>{e(month_label(s.month))}</p>"
        f"<table>{identity}</table>"
        f"<h2>Penjualan per metode pembayaran</h2>{sales}"
        f"<h2>Bagi hasil dan biaya</h2>{fees}"
        f"<h2>Pengembalian dana</h2>{refunds}"
        f"<h2>Saldo dan mutasi</h2>{balances}"
        '<p class="note">Penjualan, bagi hasil dan biaya dihitung dari checkout yang selesai'
        " (diserahkan) dalam bulan ini; saldo dan mutasi dari buku besar. Waktu dalam WIB."
        f" Dicetak {e(format_wib(s.as_of_us))}.</p></body></html>\n"
    )


def _asset_html(account: AssetStatement) -> str:
    a = account.asset
    rows = [
        ("Saldo awal", "", amount_display(account.opening_units, a)),
        *(
            (
                f"{CATEGORY_LABELS[m.category]} ({'masuk' if m.category.incoming else 'keluar'})",
                str(m.transfers),
                amount_display(m.amount_units, a),
            )
            for m in account.movements
        ),
    ]
    table = _table(("Uraian", "Banyaknya", "Jumlah"), rows, frozenset({1, 2}))
    closing = (
        f'<tr class="total"><td>Saldo akhir</td><td class="amount"></td>'
        f'<td class="amount">{html.escape(amount_display(account.closing_units, a))}</td></tr>'
    )
    return f"<h3>{html.escape(a)}</h3>" + table.replace("</tbody>", closing + "</tbody>")


def statement_view(s: Statement) -> dict[str, object]:
    """The statement as JSON-ready data (the API's JSON answer): amounts with their asset, times
    ISO 8601 (UTC), every label in Bahasa Indonesia beside its stable code."""
    return {
        "merchant": {
            "id": s.merchant_id,
            "name": s.merchant_name,
            "kelurahan": s.kelurahan,
            "rt": s.rt,
            "nmid": s.nmid,
        },
        "month": s.month,
        "starts_at": from_us(s.starts_at_us).isoformat(),
        "ends_at": from_us(s.ends_at_us).isoformat(),
        "as_of": from_us(s.as_of_us).isoformat(),
        "final": s.final,
        "checkouts_released": s.checkouts_released,
        "price": amount_view(s.price_units, "IDR"),
        "discount": amount_view(s.discount_units, "IDR"),
        "sales": [
            {
                "tender": x.tender,
                "label": TENDER_LABELS.get(x.tender, x.tender),
                "legs": x.legs,
                "amount": amount_view(x.amount_units, x.asset),
                "idr_value": amount_view(x.idr_units, "IDR"),
            }
            for x in s.sales
        ],
        "fees": [
            {
                "kind": f.kind,
                "label": FEE_LABELS[f.kind],
                "transfers": f.transfers,
                "amount": amount_view(f.amount_units, f.asset),
                "deducted": f.deducted,
            }
            for f in s.fees
        ],
        "refunds": [
            {
                "reason": r.reason,
                "label": REFUND_LABELS.get(r.reason, r.reason),
                "refunds": r.refunds,
                "amount": amount_view(r.amount_units, r.asset),
            }
            for r in s.refunds
        ],
        "balances": [_asset_view(a) for a in s.assets],
    }


def _asset_view(a: AssetStatement) -> dict[str, object]:
    return {
        "asset": a.asset,
        "opening": amount_view(a.opening_units, a.asset),
        "credits": amount_view(a.credits_units, a.asset),
        "debits": amount_view(a.debits_units, a.asset),
        "closing": amount_view(a.closing_units, a.asset),
        "movements": [
            {
                "category": str(m.category),
                "label": CATEGORY_LABELS[m.category],
                "direction": "in" if m.category.incoming else "out",
                "transfers": m.transfers,
                "amount": amount_view(m.amount_units, m.asset),
            }
            for m in a.movements
        ],
    }
