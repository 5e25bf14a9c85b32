"""``msc rate show|set`` and ``msc quote show``: the Pi rate panel, the treasury's own rate, and
firm quotes, for operators (decision 0022)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer

from settlement.bootstrap import build_rates
from settlement.cli.database import run_work
from settlement.cli.output import Output, OutputOption, emit
from settlement.config import Settings
from settlement.rates import panel as rate_panel
from settlement.rates.firm import QuoteRefused, find_firm_quote, sep38
from settlement.unit_of_work import UnitOfWork

rate_app = typer.Typer(
    help="The Pi rate: its sources and the treasury's rate.", no_args_is_help=True
)
quote_app = typer.Typer(help="Firm quotes (SEP-38 shape).", no_args_is_help=True)
BASE, QUOTE = "PI", "IDR"


@rate_app.command("show")
def rate_show(
    fetch: Annotated[
        bool, typer.Option("--fetch", help="Ask every source now (readings are stored) first.")
    ] = False,
    output: OutputOption = Output.TEXT,
) -> None:
    """Each source's newest reading of PI in IDR and the median they make now, or the refusal."""
    settings = Settings()
    panel = build_rates(settings, None).panel

    def work(uow: UnitOfWork) -> dict[str, Any]:
        if fetch:
            rate_panel.poll(uow, panel)
        found = rate_panel.stored(uow.conn, panel, BASE, QUOTE)
        return rate_panel.state(found, uow.clock.now_us(), panel.policy, BASE, QUOTE)

    emit(run_work(work, settings), output)


@quote_app.command("show")
def quote_show(
    quote_id: Annotated[uuid.UUID, typer.Argument(help="The quote's id (a UUID).")],
    output: OutputOption = Output.TEXT,
) -> None:
    """A firm quote, expired ones too, with whether it still holds."""

    def work(uow: UnitOfWork) -> dict[str, Any]:
        found = find_firm_quote(uow.conn, quote_id)
        if found is None:
            raise QuoteRefused(f"no quote {quote_id}", code="quote_not_found")
        return {**sep38(found), "live": found.is_live(uow.clock.now_us()), "by": found.requested_by}

    emit(run_work(work), output)
