"""``msc conversion show|list|tier``: Pi to MSC conversions and Pioneers' verification tiers,
for operators (decision 0027)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import typer

from settlement.cli.database import run_work
from settlement.cli.output import ByOption, Output, OutputOption, emit, record_operator
from settlement.conversions import conversion as conversions
from settlement.conversions.tiers import set_tier, tier_of
from settlement.parameters import TIERS
from settlement.unit_of_work import UnitOfWork

app = typer.Typer(help="Pi to MSC conversions and Pioneers' tiers.", no_args_is_help=True)


@app.command("show")
def show(
    conversion_id: Annotated[uuid.UUID, typer.Argument(help="The conversion's id (a UUID).")],
    output: OutputOption = Output.TEXT,
) -> None:
    """A conversion with its state and times."""

    def work(uow: UnitOfWork) -> dict[str, Any]:
        return conversions.require(uow.conn, conversion_id, None).view()

    emit(run_work(work), output)


@app.command("list")
def list_(
    uid: Annotated[str | None, typer.Option("--uid", help="Only this Pioneer's.")] = None,
    status: Annotated[
        conversions.ConversionStatus | None, typer.Option("--status", help="Only in this state.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=conversions.page_max, help="At most this many.")
    ] = 20,
    output: OutputOption = Output.TEXT,
) -> None:
    """Conversions, newest first."""

    def work(uow: UnitOfWork) -> list[dict[str, Any]]:
        found = conversions.page(uow.conn, uid=uid, status=status, limit=limit)
        return [c.view() for c in found]

    emit(run_work(work), output)


@app.command("tier")
def tier(
    uid: Annotated[str, typer.Argument(help="The Pioneer's uid.")],
    value: Annotated[int, typer.Argument(min=min(TIERS), max=max(TIERS), help="0 or 1.")],
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Set a Pioneer's verification tier (it picks their conversion limits)."""
    record_operator("conversion tier", by)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        set_tier(uow, uid, value, f"cli:{by}"[:64])
        return {"uid": uid, "tier": tier_of(uow, uid)}

    emit(run_work(work), output)
