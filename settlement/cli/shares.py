"""CLI: `msc campaign add|list`, `msc share set|show`, `msc points fund`,
`msc parameter set|show`: the treasury's campaigns, revenue-share rules, points and parameters.

Amounts are typed as Rupiah decimal text (``15000``, ``15000.50``), read exactly; times as ISO
8601, in WIB when no offset is given. A refusal is one line with its code and exit 1.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy import Connection

from escrow.calendar import WIB
from escrow.money import MSCP, parse_amount
from settlement import chart, parameters, points
from settlement.campaigns.model import Campaign, request_of
from settlement.campaigns.service import create_campaign, list_campaigns
from settlement.cli.database import run_in_database, run_work
from settlement.cli.output import ByOption, Output, OutputOption, emit, record_operator
from settlement.shares.rules import (
    DEFAULT_RULE_ID,
    rule_for,
    rule_record,
    rule_view,
)
from settlement.unit_of_work import UnitOfWork

campaign_app = typer.Typer(help="Pi-Zone campaigns: discounts from a budget.", no_args_is_help=True)
share_app = typer.Typer(help="Revenue-share rules, per merchant or default.", no_args_is_help=True)
points_app = typer.Typer(help="The MSC Points budget.", no_args_is_help=True)
parameter_app = typer.Typer(help="Treasury parameters.", no_args_is_help=True)


def _moment(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint=option) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=WIB)


MerchantOption = Annotated[
    list[str] | None, typer.Option(help="A merchant it applies to (repeat); every one if none.")
]


def _campaign_text(campaign: dict[str, Any]) -> str:
    return "\n".join(f"{key:<21}  {_shown(value)}" for key, value in campaign.items())


def _shown(value: object) -> str:
    if isinstance(value, dict) and "amount" in value:
        return f"{value['amount']} {value['asset']}"
    if value is None:
        return "every merchant"
    return ", ".join(value) if isinstance(value, list) else str(value)


@campaign_app.command("add")
def campaign_add(
    campaign_id: str = typer.Argument(..., metavar="ID", help="Campaign id, e.g. pz-juni."),
    name: str = typer.Option(..., help="Name shown to Pioneers."),
    discount_bp: int = typer.Option(..., help="Discount in basis points, 1..5000 (50%)."),
    budget: str = typer.Option(..., help="Budget in rupiah, e.g. 1000000."),
    cap_pioneer_day: str = typer.Option(..., help="Most discount per Pioneer per WIB day, Rp."),
    cap_merchant_day: str = typer.Option(..., help="Most discount per merchant per WIB day, Rp."),
    starts: str = typer.Option(..., help="Start, ISO 8601 (WIB if no offset)."),
    ends: str = typer.Option(..., help="End (excluded), ISO 8601 (WIB if no offset)."),
    merchant: MerchantOption = None,
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Create a campaign and fund its budget (the same fields again: the same campaign)."""
    request = request_of(
        campaign_id=campaign_id, name=name, discount_bp=discount_bp, budget=budget,
        cap_per_pioneer_day=cap_pioneer_day, cap_per_merchant_day=cap_merchant_day,
        merchant_ids=merchant or None, starts_at=_moment(starts, "--starts"),
        ends_at=_moment(ends, "--ends"),
    )  # fmt: skip
    record_operator("campaign add", by)
    campaign: Campaign = run_work(lambda uow: create_campaign(uow, request, by))
    emit(campaign.view(), output, _campaign_text)


@campaign_app.command("list")
def campaign_list(output: OutputOption = Output.TEXT) -> None:
    """List the campaigns, by id."""

    def read(conn: Connection) -> list[dict[str, object]]:
        found: list[dict[str, object]] = []
        after = ""
        while page := list_campaigns(conn, after=after):
            found += [campaign.view() for campaign in page]
            after = page[-1].id
        return found

    emit(run_in_database(read), output, lambda items: _blocks(items, _campaign_text))


def _blocks(items: list[dict[str, Any]], text: Any) -> str:  # noqa: ANN401 - a renderer
    return "\n\n".join(text(item) for item in items) if items else "(none)"


@share_app.command("show")
def share_show(
    rule_id: str = typer.Argument(DEFAULT_RULE_ID, metavar="ID", help="A merchant id, or default."),
    output: OutputOption = Output.TEXT,
) -> None:
    """Show the rule that splits a merchant's checkouts (its own, else the default)."""
    answer = run_in_database(lambda conn: _rule_answer(conn, rule_id, rule_for(conn, rule_id).id))
    emit(answer, output)


def _rule_answer(conn: Connection, asked: str, rule_id: str) -> dict[str, object]:
    """The rule in force for ``asked`` (stored under ``rule_id``) and who set it when."""
    record = rule_record(conn, rule_id) or {}
    updated = record.get("updated_at")
    return {
        "for": asked,
        **rule_view(rule_for(conn, asked)),
        "updated_at": updated.isoformat() if updated else None,
        "updated_by": record.get("updated_by"),
    }


@points_app.command("fund")
def points_fund(
    amount: str = typer.Option(..., help="Whole MSC Points to move into the budget."),
    key: str = typer.Option(..., help="Idempotency key: the same key funds once."),
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Fund the points budget from the authorised points (mscp:authorised -> mscp:budget)."""
    units = parse_amount(amount, MSCP.scale)
    record_operator("points fund", by)

    def fund(uow: UnitOfWork) -> dict[str, object]:
        funded = points.fund_budget(uow, units, by, key)
        budget = uow.ledger.balance(chart.mscp_budget().code)
        return {"transfer_id": str(funded), "funded": units, "key": key,
                "budget_posted": budget.posted, "budget_available": budget.available}  # fmt: skip

    emit(run_work(fund), output)


@parameter_app.command("show")
def parameter_show(
    name: str | None = typer.Argument(None, help="A parameter; every one when left out."),
    output: OutputOption = Output.TEXT,
) -> None:
    """Show a treasury parameter (or all of them) with who set it and when."""
    names = [name] if name is not None else sorted(parameters.PARAMETERS)
    found = run_in_database(lambda conn: [_parameter_answer(conn, n) for n in names])
    emit(found[0] if name is not None else found, output)


def _parameter_answer(conn: Connection, name: str) -> dict[str, object]:
    record = parameters.record(conn, name) or {}
    updated = record.get("updated_at")
    return {
        "name": name,
        "value": record.get("value"),
        "meaning": parameters.PARAMETERS[name].meaning,
        "updated_at": updated.isoformat() if updated else None,
        "updated_by": record.get("updated_by"),
    }
