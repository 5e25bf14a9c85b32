"""CLI: `msc ledger ...` and `msc period ...`: the treasury's view of the books."""

from __future__ import annotations

import typer

from escrow.errors import PeriodNotClosable
from escrow.ledger import Ledger
from settlement.cli.database import run_in_database
from settlement.cli.output import ByOption, Output, OutputOption, emit, record_operator

app = typer.Typer(help="The escrow ledger: balances and trial balance.", no_args_is_help=True)
period_app = typer.Typer(help="Accounting periods (months in WIB).", no_args_is_help=True)


@app.command("trial-balance")
def trial_balance(output: OutputOption = Output.TEXT) -> None:
    """Print per-asset debit and credit totals; exit 1 if any asset does not balance."""
    lines = run_in_database(lambda conn: Ledger(conn).trial_balance())
    emit(
        [
            {
                "asset": line.asset,
                "debits_posted": line.debits_posted,
                "credits_posted": line.credits_posted,
                "debits_pending": line.debits_pending,
                "credits_pending": line.credits_pending,
                "balanced": line.balanced,
            }
            for line in lines
        ],
        output,
    )
    if not all(line.balanced for line in lines):
        raise typer.Exit(1)


@app.command()
def balance(
    code: str = typer.Argument(..., help="Account code, e.g. merchant:UM001:IDR"),
    output: OutputOption = Output.TEXT,
) -> None:
    """Print one account's balance in its normal direction, in the asset's smallest unit."""
    try:
        result = run_in_database(lambda conn: Ledger(conn).balance(code))
    except LookupError:
        typer.echo(f"no account {code!r}", err=True)
        raise typer.Exit(1) from None
    emit(
        {
            "account": code,
            "posted": result.posted,
            "pending_in": result.pending_in,
            "pending_out": result.pending_out,
            "available": result.available,
        },
        output,
    )


@period_app.command("close")
def close(
    month: str = typer.Argument(..., help="The month to close, YYYY-MM (Asia/Jakarta)."),
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Close a month that has ended: nothing can be dated inside it any more."""
    record_operator("period close", by)
    try:
        closed = run_in_database(lambda conn: Ledger(conn).close_period(month, by))
    except PeriodNotClosable as refused:
        typer.echo(f"cannot close: {refused}", err=True)
        raise typer.Exit(1) from None
    emit({"period": month, "transfers": closed.transfer_count, "closed_by": by}, output)
