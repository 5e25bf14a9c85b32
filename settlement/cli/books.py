"""CLI: `msc books neraca|laba-rugi YYYY-MM`: the treasury's books of a closed month.

``--format csv|html`` prints the CSV or the printable page (redirect it to a file); without
it the figures are printed (``--output json``: the API's JSON; text: one line per figure).

Exit codes: 0 done, 1 refused (the month is not closed, or not a month).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

import typer
from sqlalchemy import Connection

from escrow.clock import SystemClock
from settlement.books.month import MonthBooks, month_books
from settlement.books.render import books_csv, books_html, laba_rugi_view, neraca_view, rows
from settlement.cli.database import run_in_database
from settlement.cli.output import Output, OutputOption, emit

app = typer.Typer(help="The treasury's books: neraca and laba rugi.", no_args_is_help=True)


class Document(StrEnum):
    """A document to print instead of the figures."""

    CSV = "csv"
    HTML = "html"


DocumentOption = Annotated[
    Document | None, typer.Option("--format", help="Print the csv or the html page.")
]


def _read(month: str) -> MonthBooks:
    def work(conn: Connection) -> MonthBooks:
        return month_books(conn, month, SystemClock().now_us())

    return run_in_database(work)


def _print(
    report: str,
    month: str,
    document: Document | None,
    output: Output,
    as_json: Callable[[MonthBooks], dict[str, object]],
) -> None:
    books = _read(month)
    if document is Document.CSV:
        typer.echo(books_csv(books, report), nl=False)
    elif document is Document.HTML:
        typer.echo(books_html(books, report), nl=False)
    else:
        emit(
            as_json(books),
            output,
            text=lambda _: "\n".join("\t".join(r) for r in rows(books, report)),
        )


@app.command("neraca")
def neraca_command(
    month: str = typer.Argument(..., help="A closed month, YYYY-MM (WIB)."),
    document: DocumentOption = None,
    output: OutputOption = Output.TEXT,
) -> None:
    """The balance sheet of a closed month, per asset."""
    _print("neraca", month, document, output, neraca_view)


@app.command("laba-rugi")
def laba_rugi_command(
    month: str = typer.Argument(..., help="A closed month, YYYY-MM (WIB)."),
    document: DocumentOption = None,
    output: OutputOption = Output.TEXT,
) -> None:
    """The income statement of a closed month, per asset."""
    _print("laba-rugi", month, document, output, laba_rugi_view)
