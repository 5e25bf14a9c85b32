"""What every printed report shares: CSV a spreadsheet cannot run, one self-contained printable
HTML page (A4, no script, no outside asset), its tables escaped and amounts right-aligned.
The merchant's statement and the treasury's books are written with these."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Sequence

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_AMOUNT_CLASS = ' class="amount"'

PAGE_STYLE = """
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


def cell(value: str) -> str:
    """A text cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """CSV (RFC 4180, CRLF), every field quoted: a spreadsheet set to split on ";" (Indonesian
    Excel) never cuts a name into a cell of its own that could start a formula."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def table(header: Sequence[str], rows: Iterable[Sequence[str]], amounts: frozenset[int]) -> str:
    """An HTML table; every cell is escaped here, columns in ``amounts`` right-aligned."""

    def cells(tag: str, values: Sequence[str]) -> str:
        return "".join(
            f"<{tag}{_AMOUNT_CLASS if i in amounts else ''}>{html.escape(v)}</{tag}>"
            for i, v in enumerate(values)
        )

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    return f"<table><thead><tr>{cells('th', header)}</tr></thead><tbody>{body}</tbody></table>"


def total_row(label: str, amount: str, width: int) -> str:
    """A bold closing row: ``label`` first, ``amount`` in the last of ``width`` columns."""
    blanks = '<td class="amount"></td>' * (width - 2)
    return (
        f'<tr class="total"><td>{html.escape(label)}</td>{blanks}'
        f'<td class="amount">{html.escape(amount)}</td></tr>'
    )


def with_rows(table_html: str, rows_html: str) -> str:
    """``table_html`` with ``rows_html`` appended to its body (totals under the lines)."""
    return table_html.replace("</tbody>", rows_html + "</tbody>")


def page(title: str, body: str) -> str:
    """One printable, self-contained HTML page in Bahasa Indonesia."""
    return (
        '<!DOCTYPE html>\n<html lang="id"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{PAGE_STYLE}</style></head><body>"
        f"{body}</body></html>\n"
    )
