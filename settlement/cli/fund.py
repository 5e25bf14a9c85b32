"""CLI: `msc fund contribute|claim|decide|show`, the merchant guarantee fund (decision 0028).

The treasury books contributions (once per reference), files claims with their evidence and
decides them (approve pays within the fund's caps and balance; reject records why); ``show``
prints the fund's figures, its newest movements and the open claims. Amounts are decimal text
(``250000.00``). ``--by`` is recorded as ``cli:<by>``.

Exit codes: 0 done, 1 refused (the refusal's code is printed), 2 bad usage.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy import Connection

from escrow.clock import SystemClock
from escrow.refusals import Refusal
from settlement.bootstrap import build_rates
from settlement.cli.database import run_in_database, run_refusing
from settlement.cli.output import (
    ByOption,
    Output,
    OutputOption,
    cli_actor,
    emit,
    record_operator,
    sen_option,
)
from settlement.config import Settings
from settlement.fund import claims, coverage, fund
from settlement.fund.claims import ClaimKind, ClaimRequest
from settlement.fund.fund import Contribution, ContributionSource

app = typer.Typer(
    help="The merchant guarantee fund: contributions and claims.", no_args_is_help=True
)


@app.command("contribute")
def contribute_command(
    reference: Annotated[str, typer.Option(help="The bank line or budget document's reference.")],
    source: Annotated[ContributionSource, typer.Option(help="csr, pilot_budget or apbd.")],
    contributor: Annotated[str, typer.Option(help="Who contributes, e.g. 'Bank Jatim'.")],
    amount: Annotated[str, typer.Option(help="Rupiah contributed, e.g. 25000000.00.")],
    memo: Annotated[str | None, typer.Option(help="The line's text.")] = None,
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Book a contribution into the fund, once per reference."""
    record_operator("fund contribute", by)
    try:
        wanted = Contribution(reference, source, contributor, sen_option(amount, "--amount"), memo)
    except Refusal as refused:
        raise typer.BadParameter(f"{refused.detail} ({refused.code})") from None
    emit(run_refusing(lambda uow: fund.contribute(uow, wanted, cli_actor(by))), output)


@app.command("claim")
def claim_command(
    kind: Annotated[ClaimKind, typer.Option(help="failed_conversion, failed_payout, ...")],
    merchant: Annotated[str, typer.Option(help="The merchant's id.")],
    amount: Annotated[str, typer.Option(help="Rupiah claimed, e.g. 150000.00.")],
    evidence: Annotated[str, typer.Option(help="What shows the loss (references, texts).")],
    request_id: Annotated[str, typer.Option(help="Idempotency key: the same id files once.")],
    checkout: Annotated[str | None, typer.Option(help="The checkout it concerns.")] = None,
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """File a claim on the fund, open until the treasury decides it."""
    record_operator("fund claim", by)
    try:
        wanted = ClaimRequest(
            f"cli:{request_id}", kind, merchant, sen_option(amount, "--amount"), evidence, checkout
        )
    except Refusal as refused:
        raise typer.BadParameter(f"{refused.detail} ({refused.code})") from None
    emit(run_refusing(lambda uow: claims.file_claim(uow, wanted, cli_actor(by))), output)


@app.command("show")
def show_command(
    limit: Annotated[int, typer.Option(min=1, max=fund.history_page_max)] = 20,
    output: OutputOption = Output.TEXT,
) -> None:
    """The fund's figures (balance, open Pi exposure, coverage), movements and open claims."""
    panel = build_rates(Settings(), SystemClock()).panel
    clock = SystemClock()

    def read(conn: Connection) -> dict[str, Any]:
        return {
            "figures": coverage.compute(conn, panel, clock.now_us()).view(),
            "history": fund.history(conn, limit),
            "open_claims": claims.open_claims(conn),
        }

    emit(run_in_database(read), output)
