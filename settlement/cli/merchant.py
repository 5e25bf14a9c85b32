"""CLI: `msc merchant add|list|show|suspend|reactivate|key` and `msc key create|revoke`.

The treasury's path to onboarding and to keys, and the bootstrap path: the first treasury key
comes from ``msc key create --role treasury`` (later ones may come from the API). A key's token is
printed once, here, and never again (only its SHA-256 is stored). ``--by`` is recorded as
``cli:<by>``.

Exit codes: 0 done, 1 refused (the refusal's code is printed), 2 bad usage.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import typer

from settlement.access.keys import issue_key, revoke_key
from settlement.access.principal import Role
from settlement.cli.database import run_in_database, run_refusing
from settlement.cli.output import (
    EXIT_REFUSED,
    ByOption,
    Output,
    OutputOption,
    cli_actor,
    emit,
    record_operator,
)
from settlement.merchants import service
from settlement.merchants.model import CRITERIA, MerchantRequest
from settlement.tenders import Tender

app = typer.Typer(help="Merchants: onboarding, suspension, API keys.", no_args_is_help=True)
key_app = typer.Typer(help="API keys of the treasury and gateways.", no_args_is_help=True)


def _settlement(choices: list[str]) -> dict[Tender, str]:
    parsed: dict[Tender, str] = {}
    for choice in choices:
        tender, sep, asset = choice.partition("=")
        if not sep or tender.upper() not in Tender.__members__:
            raise typer.BadParameter(
                f"{choice!r}: TENDER=ASSET, e.g. PI=MSC", param_hint="--settle"
            )
        parsed[Tender(tender.upper())] = asset.upper()
    return parsed


@app.command("add")
def add_command(
    merchant_id: Annotated[str, typer.Option("--id", help="Merchant id, e.g. UM001.")],
    name: Annotated[str, typer.Option(help="Name shown to Pioneers.")],
    kelurahan: Annotated[str, typer.Option(help="Kelurahan (labels the SKCC figures).")],
    tenders: Annotated[list[Tender], typer.Option("--tender", help="Accepted tender (repeat).")],
    rt: Annotated[str | None, typer.Option(help="RT within the kelurahan.")] = None,
    criteria: Annotated[str, typer.Option(help=f"One of {', '.join(CRITERIA)}.")] = "UMI",
    nmid: Annotated[str | None, typer.Option(help="NMID (else the static payload's).")] = None,
    static_qris: Annotated[
        str | None, typer.Option("--static-qris", help="Static QRIS payload (QRIS tender).")
    ] = None,
    settle: Annotated[
        list[str] | None, typer.Option(help="Payout asset per tender, e.g. PI=MSC (repeat).")
    ] = None,
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Onboard a merchant; the same fields again answer the same merchant (exit 1 if refused)."""
    record_operator("merchant add", by)
    request = MerchantRequest(
        id=merchant_id,
        name=name,
        kelurahan=kelurahan,
        tenders=frozenset(tenders),
        rt=rt,
        criteria=criteria.upper(),
        nmid=nmid,
        static_qris=static_qris,
        settlement=_settlement(settle or []),
    )
    actor = cli_actor(by)
    emit(run_refusing(lambda uow: service.onboard(uow, request, actor)).view(), output)


@app.command("list")
def list_command(
    after: Annotated[str, typer.Option(help="The last id of the previous page.")] = "",
    limit: Annotated[
        int, typer.Option(min=1, max=service.merchants_page_max, help="At most this many.")
    ] = service.merchants_page_max,
    output: OutputOption = Output.TEXT,
) -> None:
    """Print a page of merchants by id."""
    found = run_in_database(lambda conn: service.list_merchants(conn, after=after, limit=limit))
    emit([merchant.view() for merchant in found], output)


@app.command("show")
def show_command(
    merchant_id: Annotated[str, typer.Argument(help="Merchant id.")],
    output: OutputOption = Output.TEXT,
) -> None:
    """Print one merchant (exit 1 if there is none)."""
    found = run_in_database(lambda conn: service.find(conn, merchant_id))
    if found is None:
        typer.echo(f"refused: no merchant {merchant_id} (merchant_unknown)", err=True)
        raise typer.Exit(EXIT_REFUSED)
    emit(found.view(), output)


@app.command("suspend")
def suspend_command(
    merchant_id: Annotated[str, typer.Argument(help="Merchant id.")],
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Suspend a merchant: no new checkouts (recorded with who and when)."""
    record_operator("merchant suspend", by)
    actor = cli_actor(by)
    emit(run_refusing(lambda uow: service.suspend(uow, merchant_id, actor)).view(), output)


@app.command("reactivate")
def reactivate_command(
    merchant_id: Annotated[str, typer.Argument(help="Merchant id.")],
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Reactivate a suspended merchant (recorded with who and when)."""
    record_operator("merchant reactivate", by)
    actor = cli_actor(by)
    emit(run_refusing(lambda uow: service.reactivate(uow, merchant_id, actor)).view(), output)


def _issued_text(view: dict[str, object]) -> str:
    return (
        f"API key {view['id']} for {view['role']} {view['owner']}:\n{view['token']}\n"
        "Shown once: store it now; only its SHA-256 is kept."
    )


@app.command("key")
def key_command(
    merchant_id: Annotated[str, typer.Argument(help="Merchant id.")],
    label: Annotated[str, typer.Option(help="Where the key is used, e.g. till 1.")] = "cli",
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Issue a merchant key and print its token, once (exit 1 for an unknown merchant)."""
    record_operator("merchant key", by)
    actor = cli_actor(by)
    issued = run_refusing(
        lambda uow: issue_key(uow, role=Role.MERCHANT, owner=merchant_id, label=label, by=actor)
    )
    emit(issued.view(), output, text=_issued_text)


@key_app.command("create")
def key_create_command(
    role: Annotated[Role, typer.Option(help="merchant, treasury or gateway.")],
    owner: Annotated[str, typer.Option(help="Who holds it: an officer, a gateway, a merchant id.")],
    label: Annotated[str, typer.Option(help="Where the key is used.")] = "cli",
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Issue a key for any role (the first treasury key comes from here) and print its token,
    once."""
    record_operator("key create", by)
    actor = cli_actor(by)
    issued = run_refusing(lambda uow: issue_key(uow, role=role, owner=owner, label=label, by=actor))
    emit(issued.view(), output, text=_issued_text)


@key_app.command("revoke")
def key_revoke_command(
    key_id: Annotated[uuid.UUID, typer.Argument(help="The key's id.")],
    *,
    by: ByOption,
    output: OutputOption = Output.TEXT,
) -> None:
    """Revoke a key: it authenticates nobody from now on (exit 1 for an unknown key)."""
    record_operator("key revoke", by)
    actor = cli_actor(by)
    emit(run_refusing(lambda uow: revoke_key(uow, key_id, actor)).view(), output)
