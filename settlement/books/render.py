"""The books as the treasury reads them: CSV, a printable page and the API's JSON, in Bahasa
Indonesia, one section per asset, every line with the chart pattern and accounts it sums."""

from __future__ import annotations

import html
from collections.abc import Iterator

from escrow.calendar import format_wib
from settlement.books.figures import KIND_LABELS, LabaRugi, Line, Neraca, TrialBalance
from settlement.books.month import MonthBooks
from settlement.reports import amount_display, amount_text, amount_view
from settlement.reports.printable import cell, csv_text, page, table, total_row, with_rows
from settlement.reports.statement import month_label

CSV_HEADER = ("Bagian", "Uraian", "Aset", "Jumlah", "Akun", "Keterangan")
RETAINED = "Saldo laba s.d. bulan lalu"
RESULT = "Laba (rugi) bulan ini"
NET_RESULT = "Laba (rugi) bersih"
RESULT_ACCOUNTS = "pendapatan - beban"
"""What the saldo laba and the month's result sum: the income and expense accounts."""
Row = tuple[str, str, str, str, str, str]
TITLES = {"neraca": "Neraca", "laba-rugi": "Laporan Laba Rugi"}


def _identity(books: MonthBooks, report: str) -> list[tuple[str, str]]:
    return [
        ("Laporan", f"{TITLES[report]} Treasury"),
        ("Periode", f"{month_label(books.month)} (per {format_wib(books.ends_at_us)})"),
        ("Status", f"Final: bulan ditutup, {books.transfer_count} transfer"),
    ]


def _accounts_note(line: Line) -> str:
    return f"{len(line.accounts)} akun"


def _line_rows(asset: str, lines: tuple[Line, ...]) -> Iterator[Row]:
    for line in lines:
        amount = amount_text(line.amount_units, asset)
        yield KIND_LABELS[line.kind], line.label, asset, amount, line.pattern, _accounts_note(line)


def _detail_rows(asset: str, lines: tuple[Line, ...]) -> Iterator[Row]:
    for line in lines:
        for account in line.accounts:
            yield (
                "Rincian",
                line.label,
                asset,
                amount_text(account.amount_units, asset),
                cell(account.code),
                KIND_LABELS[line.kind],
            )


def _trial_rows(trial: TrialBalance) -> Iterator[Row]:
    a = trial.asset
    yield "Neraca saldo", "Jumlah debit", a, amount_text(trial.debits_units, a), "", ""
    yield "Neraca saldo", "Jumlah kredit", a, amount_text(trial.credits_units, a), "", ""


def _neraca_rows(sheet: Neraca, trial: TrialBalance) -> Iterator[Row]:
    a, books = sheet.books.asset, sheet.books
    for kind in ("asset", "liability", "equity"):
        yield from _line_rows(a, books.of(kind))
    yield "Ekuitas", RETAINED, a, amount_text(sheet.retained_units, a), RESULT_ACCOUNTS, ""
    yield "Ekuitas", RESULT, a, amount_text(sheet.result_units, a), RESULT_ACCOUNTS, ""
    yield "Jumlah", "Jumlah aset", a, amount_text(books.total("asset"), a), "", ""
    yield (
        "Jumlah",
        "Jumlah liabilitas dan ekuitas",
        a,
        amount_text(sheet.liabilities_and_equity_units, a),
        "",
        "seimbang" if sheet.balanced else "TIDAK SEIMBANG",
    )
    yield from _trial_rows(trial)
    yield from _detail_rows(a, books.lines)


def _laba_rugi_rows(statement: LabaRugi) -> Iterator[Row]:
    a, books = statement.books.asset, statement.books
    for kind in ("income", "expense"):
        yield from _line_rows(a, books.of(kind))
    yield "Jumlah", "Jumlah pendapatan", a, amount_text(books.total("income"), a), "", ""
    yield "Jumlah", "Jumlah beban", a, amount_text(books.total("expense"), a), "", ""
    yield "Jumlah", NET_RESULT, a, amount_text(statement.result_units, a), RESULT_ACCOUNTS, ""
    yield from _detail_rows(a, books.lines)


def rows(books: MonthBooks, report: str) -> Iterator[Row]:
    """``report``'s figures, one row per figure (the CSV's rows, and the CLI's text lines)."""
    for label, value in _identity(books, report):
        yield "Identitas", label, "", "", "", value
    if report == "neraca":
        for sheet, trial in zip(books.neraca, books.trial_balance, strict=True):
            yield from _neraca_rows(sheet, trial)
    else:
        for statement in books.laba_rugi:
            yield from _laba_rugi_rows(statement)


def books_csv(books: MonthBooks, report: str) -> str:
    """``report`` (``neraca`` or ``laba-rugi``) as CSV: one row per figure, the asset in its
    own column, the chart pattern (or, in the ``Rincian`` rows, the account) beside it."""
    return csv_text(CSV_HEADER, rows(books, report))


def _lines_table(asset: str, lines: tuple[Line, ...], totals: list[tuple[str, int]]) -> str:
    rows = [
        (line.label, f"{line.pattern} ({_accounts_note(line)})",
         amount_display(line.amount_units, asset))
        for line in lines
    ]  # fmt: skip
    closing = "".join(total_row(label, amount_display(units, asset), 3) for label, units in totals)
    return with_rows(table(("Uraian", "Akun", "Jumlah"), rows, frozenset({2})), closing)


def _detail_table(asset: str, lines: tuple[Line, ...]) -> str:
    rows = [
        (account.code, line.label, amount_display(account.amount_units, asset))
        for line in lines
        for account in line.accounts
    ]
    return table(("Akun", "Uraian", "Jumlah"), rows, frozenset({2}))


def _neraca_html(sheet: Neraca, trial: TrialBalance) -> str:
    a, books = sheet.books.asset, sheet.books
    equity_rows = books.of("equity")
    equity = _lines_table(
        a,
        equity_rows,
        [
            (RETAINED, sheet.retained_units),
            (RESULT, sheet.result_units),
            ("Jumlah ekuitas", sheet.equity_units),
        ],
    )
    balanced = "seimbang" if sheet.balanced else "TIDAK SEIMBANG"
    assets = _lines_table(a, books.of("asset"), [("Jumlah aset", books.total("asset"))])
    liabilities = _lines_table(
        a, books.of("liability"), [("Jumlah liabilitas", books.total("liability"))]
    )
    return (
        f"<h2>{html.escape(a)}</h2><h3>Aset</h3>{assets}<h3>Liabilitas</h3>{liabilities}"
        f"<h3>Ekuitas</h3>{equity}"
        f"<p>Jumlah liabilitas dan ekuitas: "
        f"{html.escape(amount_display(sheet.liabilities_and_equity_units, a))} ({balanced}). "
        f"Neraca saldo: debit {html.escape(amount_display(trial.debits_units, a))}, kredit "
        f"{html.escape(amount_display(trial.credits_units, a))}.</p>"
        f"<h3>Rincian akun</h3>{_detail_table(a, books.lines)}"
    )


def _laba_rugi_html(statement: LabaRugi) -> str:
    a, books = statement.books.asset, statement.books
    income = _lines_table(a, books.of("income"), [("Jumlah pendapatan", books.total("income"))])
    expense = _lines_table(a, books.of("expense"), [("Jumlah beban", books.total("expense"))])
    return (
        f"<h2>{html.escape(a)}</h2><h3>Pendapatan</h3>{income}<h3>Beban</h3>{expense}"
        f"<p><strong>{NET_RESULT}: {html.escape(amount_display(statement.result_units, a))}"
        f"</strong></p><h3>Rincian akun</h3>{_detail_table(a, books.lines)}"
    )


def books_html(books: MonthBooks, report: str) -> str:
    """``report`` as one printable page: a section per asset, never summed across assets."""
    e = html.escape
    identity = "".join(
        f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _identity(books, report)
    )
    if report == "neraca":
        sections = "".join(
            _neraca_html(s, t) for s, t in zip(books.neraca, books.trial_balance, strict=True)
        )
    else:
        sections = "".join(_laba_rugi_html(s) for s in books.laba_rugi)
    title = f"{TITLES[report]} Treasury {month_label(books.month)}"
    return page(
        title,
        f"<h1>{e(TITLES[report])} Treasury</h1><table>{identity}</table>{sections}"
        '<p class="note">Dihitung dari saldo buku besar pada akhir bulan (saldo yang sama'
        " dengan bundel audit bulan ini), per aset: Rupiah, Pi, MSC dan Poin MSC tidak pernah"
        " dijumlahkan. Waktu dalam WIB.</p>",
    )


def _line_view(line: Line, asset: str) -> dict[str, object]:
    return {
        "kind": line.kind,
        "label": line.label,
        "pattern": line.pattern,
        **amount_view(line.amount_units, asset),
        "accounts": [{"code": a.code, **amount_view(a.amount_units, asset)} for a in line.accounts],
    }


def neraca_view(books: MonthBooks) -> dict[str, object]:
    """The neraca as the API's JSON."""
    return {
        "month": books.month,
        "transfer_count": books.transfer_count,
        "assets": [
            {
                "asset": s.books.asset,
                "lines": [_line_view(line, s.books.asset) for line in s.books.lines],
                "retained": amount_view(s.retained_units, s.books.asset),
                "result": amount_view(s.result_units, s.books.asset),
                "total_assets": amount_view(s.books.total("asset"), s.books.asset),
                "total_liabilities_and_equity": amount_view(
                    s.liabilities_and_equity_units, s.books.asset
                ),
                "balanced": s.balanced,
                "trial_balance": {
                    "debits": amount_view(t.debits_units, t.asset),
                    "credits": amount_view(t.credits_units, t.asset),
                    "balanced": t.balanced,
                },
            }
            for s, t in zip(books.neraca, books.trial_balance, strict=True)
        ],
    }


def laba_rugi_view(books: MonthBooks) -> dict[str, object]:
    """The laba rugi as the API's JSON."""
    return {
        "month": books.month,
        "transfer_count": books.transfer_count,
        "assets": [
            {
                "asset": s.books.asset,
                "lines": [_line_view(line, s.books.asset) for line in s.books.lines],
                "total_income": amount_view(s.books.total("income"), s.books.asset),
                "total_expense": amount_view(s.books.total("expense"), s.books.asset),
                "result": amount_view(s.result_units, s.books.asset),
            }
            for s in books.laba_rugi
        ],
    }
