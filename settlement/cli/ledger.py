"""CLI: `msc ledger ...`: the treasury's view of the books. A month is closed by a signed
proposal (`msc treasury propose period.close --param period=YYYY-MM`, decision 0030)."""

from __future__ import annotations

import typer

from escrow.model import Account, AccountFlags, Balance
from settlement.cli.database import run_work
from settlement.cli.output import Output, OutputOption, emit
from settlement.unit_of_work import UnitOfWork

app = typer.Typer(help="The escrow ledger: balances and trial balance.", no_args_is_help=True)


@app.command("trial-balance")
def trial_balance(output: OutputOption = Output.TEXT) -> None:
    """Print per-asset debit and credit totals; exit 1 if any asset does not balance."""
    lines = run_work(lambda uow: uow.ledger.trial_balance())
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
        result = run_work(lambda uow: uow.ledger.balance(code))
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


@app.command()
def accounts(output: OutputOption = Output.TEXT) -> None:
    """List every account: code, asset, kind, flags and balance (normal direction, smallest
    units), in code order."""

    def read(uow: UnitOfWork) -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        after = ""
        while page := uow.ledger.accounts(after_code=after):
            found += [_account_row(account) for account in page]
            after = page[-1].code
        return found

    emit(run_work(read), output, _accounts_table)


_ACCOUNT_COLUMNS = ("code", "asset", "kind", "flags", "posted", "pending_in", "pending_out")


def _accounts_table(rows: list[dict[str, object]]) -> str:
    """One aligned line per account under a header, for a person."""
    widths = [max([len(c), *(len(str(r[c])) for r in rows)]) for c in _ACCOUNT_COLUMNS]
    header: dict[str, object] = {c: c for c in _ACCOUNT_COLUMNS}
    return "\n".join(
        "  ".join(str(line[c]).ljust(w) for c, w in zip(_ACCOUNT_COLUMNS, widths, strict=True))
        for line in (header, *rows)
    )


def _account_row(account: Account) -> dict[str, object]:
    balance = Balance(
        account.kind,
        account.debits_posted,
        account.credits_posted,
        account.debits_pending,
        account.credits_pending,
    )
    flags = [str(flag.name).lower() for flag in AccountFlags if flag and flag in account.flags]
    return {
        "code": account.code,
        "asset": account.asset,
        "kind": str(account.kind),
        "flags": ",".join(flags) or "-",
        "posted": balance.posted,
        "pending_in": balance.pending_in,
        "pending_out": balance.pending_out,
    }
