"""``msc checkout create|show|handover``: checkouts for the treasury and for demos."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from escrow.money import asset, parse_amount
from settlement.bootstrap import build_checkout, build_rates
from settlement.checkout import service
from settlement.checkout.errors import CheckoutRefused
from settlement.checkout.pricing import TenderShare
from settlement.checkout.views import describe
from settlement.cli.database import run_work
from settlement.cli.output import ByOption, Output, OutputOption, emit, record_operator
from settlement.config import Settings
from settlement.tenders import Tender
from settlement.unit_of_work import UnitOfWork

app = typer.Typer(help="Checkouts: open one, read it, confirm hand-over.", no_args_is_help=True)


def parse_tender(text: str) -> TenderShare:
    """``PI`` (all of the price) or ``PI:5000`` (basis points of it)."""
    name, _, share = text.partition(":")
    try:
        tender = Tender(name.strip().upper())
    except ValueError:
        raise CheckoutRefused("checkout_split_invalid", f"unknown tender {name!r}") from None
    if share and not share.isdigit():
        raise CheckoutRefused("checkout_split_invalid", f"share {share!r} is not whole bp")
    return TenderShare(tender, int(share) if share else 10_000)


def _shown(uow: UnitOfWork, checkout_id: str) -> dict[str, Any]:
    return describe(uow.conn, service.find_checkout(uow, checkout_id, None))


@app.command("create")
def create_command(
    by: ByOption,
    merchant: Annotated[str, typer.Option(help="The merchant's id, e.g. UM001.")],
    price: Annotated[str, typer.Option(help="The price in Rupiah, e.g. 15000.00.")],
    tender: Annotated[
        list[str], typer.Option(help="PI, QRIS, MSC or MSCP, with :bp for a split (PI:5000).")
    ],
    campaign: Annotated[str | None, typer.Option(help="A Pi-Zone campaign's id.")] = None,
    pioneer: Annotated[str | None, typer.Option(help="The paying Pioneer's uid.")] = None,
    reference: Annotated[str | None, typer.Option(help="The merchant's own reference.")] = None,
    output: OutputOption = Output.TEXT,
) -> None:
    """Open a checkout and print its legs (Pi payment parameters, QRIS payload)."""
    record_operator("checkout create", by)
    settings = Settings()
    request = service.CheckoutRequest(
        merchant_id=merchant,
        price_units=parse_amount(price, asset("IDR").scale),
        shares=tuple(parse_tender(part) for part in tender),
        merchant_reference=reference,
        campaign_id=campaign,
        pioneer_uid=pioneer,
    )
    deps = build_checkout(settings, build_rates(settings, None).panel)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        created = service.create_checkout(uow, deps, request, f"cli:{by}")
        return _shown(uow, created.id)

    emit(run_work(work, settings), output)


@app.command("show")
def show_command(
    checkout_id: Annotated[str, typer.Argument(help="The checkout's id.")],
    output: OutputOption = Output.TEXT,
) -> None:
    """Print a checkout and its legs."""
    emit(run_work(lambda uow: _shown(uow, checkout_id)), output)


@app.command("handover")
def handover_command(
    checkout_id: Annotated[str, typer.Argument(help="The checkout's id.")],
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Confirm hand-over for the merchant: escrow is released to it now, less the shares."""
    record_operator("checkout handover", by)
    settings = Settings()
    deps = build_checkout(settings, build_rates(settings, None).panel)

    def work(uow: UnitOfWork) -> dict[str, Any]:
        service.handover(uow, deps, checkout_id, None, f"cli:{by}")
        return _shown(uow, checkout_id)

    emit(run_work(work, settings), output)
